//! Routes as declarations, in the manner of axum's `Router` + `Path<T>`: each route names its
//! method and path pattern, who may call it, whether it takes a body, and the endpoint it leads
//! to with the path parameters already parsed into typed ids. A function's whole surface is one
//! table of one-line declarations, and the pipeline ([`super::serve`]) checks a route's declared
//! scope before its endpoint runs, so a new route cannot forget its scope, and no handler reads
//! a route index or a raw path segment.

use std::{fmt::Display, str::FromStr};

use lambda_http::{Request, http::Method};

use super::{ApiError, request::no_body};
use crate::{AccountId, EventId, PaymentId, WebhookEndpointId, auth::Scope};

/// Anyone may call a route with this access: it authenticates callers by its own rules (the
/// token endpoint) or serves public data (the key set). Only [`super::dispatch`] serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Public;

/// Turns a matched route's path parameters into its endpoint: `|path| path.parse().map(Show)`.
pub type Endpoint<E> = fn(&PathParams) -> Result<E, ApiError>;

/// A route to an endpoint of type `E` (usually a function's own enum, one variant per route),
/// open to callers with `A`: the [`Scope`] a token must carry, or [`Public`].
#[derive(Debug, Clone)]
pub struct Route<E, A = Scope> {
    pub method: Method,
    /// Literal segments, and `{name}` segments that each capture one whole path segment.
    pub pattern: &'static str,
    pub access: A,
    /// `false` refuses any body but an empty one or `{}`, before the path parameters are read.
    pub takes_body: bool,
    endpoint: Endpoint<E>,
}

impl<E> Route<E, Scope> {
    /// A route for callers whose token carries `scope`.
    pub const fn new(
        method: Method,
        pattern: &'static str,
        scope: Scope,
        endpoint: Endpoint<E>,
    ) -> Self {
        Self {
            method,
            pattern,
            access: scope,
            takes_body: true,
            endpoint,
        }
    }

    /// `GET pattern` for callers whose token carries `scope`.
    pub const fn get(pattern: &'static str, scope: Scope, endpoint: Endpoint<E>) -> Self {
        Self::new(Method::GET, pattern, scope, endpoint)
    }

    /// `POST pattern` for callers whose token carries `scope`.
    pub const fn post(pattern: &'static str, scope: Scope, endpoint: Endpoint<E>) -> Self {
        Self::new(Method::POST, pattern, scope, endpoint)
    }
}

impl<E> Route<E, Public> {
    /// A route anyone may call.
    pub const fn public(method: Method, pattern: &'static str, endpoint: Endpoint<E>) -> Self {
        Self {
            method,
            pattern,
            access: Public,
            takes_body: true,
            endpoint,
        }
    }
}

impl<E, A> Route<E, A> {
    /// The same route, refusing a request body (other than empty or `{}`).
    #[must_use]
    pub const fn without_body(mut self) -> Self {
        self.takes_body = false;
        self
    }

    /// The endpoint a matched request goes to: a body the route does not take is refused first,
    /// then the path parameters are parsed (that order is the API's: `invalid_body` before
    /// `invalid_id`).
    ///
    /// # Errors
    /// `invalid_body`, or whatever the path parameters' parsing answers (`invalid_id`).
    pub fn endpoint(&self, req: &Request, path: &PathParams) -> Result<E, ApiError> {
        if !self.takes_body {
            no_body(req)?;
        }
        (self.endpoint)(path)
    }
}

/// The captured segments of a matched route, percent-decoded, under their pattern names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    /// The parameters as `T`: `path.parse().map(Endpoint::Show)` in a route declaration.
    ///
    /// # Errors
    /// What `T` answers for malformed parameters (`invalid_id` for an id).
    pub fn parse<T: FromPath>(&self) -> Result<T, ApiError> {
        T::from_path(self)
    }

    /// The route's only parameter as an id.
    fn only_id<T>(&self) -> Result<T, ApiError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.0.as_slice() {
            [(name, value)] => value
                .parse()
                .map_err(|e| ApiError::invalid("invalid_id", format!("`{name}`: {e}"))),
            // A route declared with the wrong parameter type: our bug, found by any test of it.
            other => Err(ApiError::internal(format!(
                "a route with {} path parameters was read as one id",
                other.len()
            ))),
        }
    }
}

/// Typed path parameters (axum's `Path<T>`), read once, before the endpoint runs.
pub trait FromPath: Sized {
    /// # Errors
    /// A problem naming the malformed parameter.
    fn from_path(path: &PathParams) -> Result<Self, ApiError>;
}

impl FromPath for PaymentId {
    fn from_path(path: &PathParams) -> Result<Self, ApiError> {
        path.only_id()
    }
}

impl FromPath for AccountId {
    fn from_path(path: &PathParams) -> Result<Self, ApiError> {
        path.only_id()
    }
}

impl FromPath for WebhookEndpointId {
    fn from_path(path: &PathParams) -> Result<Self, ApiError> {
        path.only_id()
    }
}

impl FromPath for EventId {
    fn from_path(path: &PathParams) -> Result<Self, ApiError> {
        path.only_id()
    }
}

/// The first of `routes` matching `method path`, and the path parameters it captured.
pub fn match_route<'r, E, A>(
    routes: &'r [Route<E, A>],
    method: &Method,
    path: &str,
) -> Option<(&'r Route<E, A>, PathParams)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    routes.iter().find_map(|route| {
        let pattern: Vec<&'static str> = route.pattern.split('/').collect();
        if route.method != *method || pattern.len() != segments.len() {
            return None;
        }
        let mut captured = Vec::new();
        for (want, got) in pattern.into_iter().zip(&segments) {
            if let Some(name) = want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                if got.is_empty() {
                    return None;
                }
                captured.push((name, percent_decode(got)));
            } else if want != *got {
                return None;
            }
        }
        Some((route, PathParams(captured)))
    })
}

/// Decodes `%XX` escapes; invalid escapes are kept literally (ids then fail to parse cleanly).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Endpoint {
        Create,
        Show(PaymentId),
        Settle(PaymentId),
        Balance(AccountId),
    }

    const ROUTES: &[Route<Endpoint>] = &[
        Route::post("/payments", Scope::PaymentsWrite, |_| Ok(Endpoint::Create)),
        Route::get("/payments/{payment_id}", Scope::PaymentsRead, |path| {
            path.parse().map(Endpoint::Show)
        }),
        Route::post(
            "/payments/{payment_id}/confirm",
            Scope::PaymentsWrite,
            |path| path.parse().map(Endpoint::Settle),
        )
        .without_body(),
        Route::get(
            "/accounts/{account_id}/balance",
            Scope::AccountsRead,
            |path| path.parse().map(Endpoint::Balance),
        ),
    ];

    fn request(body: &str) -> Request {
        Request::new(lambda_http::Body::Text(body.to_owned()))
    }

    /// The endpoint `method path` leads to, with an empty body.
    fn endpoint(method: Method, path: &str) -> Option<Result<Endpoint, ApiError>> {
        let (route, params) = match_route(ROUTES, &method, path)?;
        Some(route.endpoint(&request(""), &params))
    }

    fn invalid(outcome: Option<Result<Endpoint, ApiError>>) -> (&'static str, String) {
        match outcome {
            Some(Err(ApiError::Invalid { code, detail })) => (code, detail),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn routes_capture_named_percent_decoded_segments() {
        let (route, params) = match_route(ROUTES, &Method::GET, "/payments/pay_1%2F").unwrap();
        assert_eq!(route.pattern, "/payments/{payment_id}");
        assert_eq!(route.access, Scope::PaymentsRead);
        assert_eq!(
            params,
            PathParams(vec![("payment_id", "pay_1/".to_owned())])
        );
        let (route, params) = match_route(ROUTES, &Method::POST, "/payments/").unwrap();
        assert_eq!(
            (route.pattern, params),
            ("/payments", PathParams::default())
        );
        assert!(match_route(ROUTES, &Method::GET, "/payments").is_none());
        assert!(match_route(ROUTES, &Method::GET, "/payments/").is_none());
        assert!(match_route(ROUTES, &Method::DELETE, "/payments/x").is_none());
        assert!(match_route(ROUTES, &Method::GET, "/payments/x/y").is_none());
    }

    #[test]
    fn path_parameters_arrive_as_typed_ids() {
        let payment = PaymentId::generate(time::OffsetDateTime::UNIX_EPOCH);
        let account = AccountId::generate(time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            endpoint(Method::GET, &format!("/payments/{payment}"))
                .unwrap()
                .unwrap(),
            Endpoint::Show(payment)
        );
        assert_eq!(
            endpoint(Method::POST, &format!("/payments/{payment}/confirm"))
                .unwrap()
                .unwrap(),
            Endpoint::Settle(payment)
        );
        assert_eq!(
            endpoint(Method::GET, &format!("/accounts/{account}/balance"))
                .unwrap()
                .unwrap(),
            Endpoint::Balance(account)
        );
        assert_eq!(
            endpoint(Method::POST, "/payments").unwrap().unwrap(),
            Endpoint::Create
        );
    }

    #[test]
    fn a_malformed_id_is_invalid_id_naming_its_segment() {
        let account = AccountId::generate(time::OffsetDateTime::UNIX_EPOCH).to_string();
        let payment_error = |raw: &str| raw.parse::<PaymentId>().unwrap_err().to_string();
        let account_error = |raw: &str| raw.parse::<AccountId>().unwrap_err().to_string();
        let cases = [
            (
                "/payments/pay_x".to_owned(),
                format!("`payment_id`: {}", payment_error("pay_x")),
            ),
            (
                format!("/payments/{account}"),
                format!("`payment_id`: {}", payment_error(&account)),
            ),
            (
                "/accounts/acc_%27%20OR%201=1/balance".to_owned(),
                format!("`account_id`: {}", account_error("acc_' OR 1=1")),
            ),
        ];
        for (path, want) in cases {
            let (code, detail) = invalid(endpoint(Method::GET, &path));
            assert_eq!((code, detail), ("invalid_id", want), "{path}");
        }
    }

    #[test]
    fn a_route_without_body_refuses_one_before_reading_its_id() {
        let (route, params) =
            match_route(ROUTES, &Method::POST, "/payments/pay_x/confirm").unwrap();
        let refused = route.endpoint(&request(r#"{"amount": 1}"#), &params);
        assert!(
            matches!(
                &refused,
                Err(ApiError::Invalid {
                    code: "invalid_body",
                    ..
                })
            ),
            "{refused:?}"
        );
        let refused = route.endpoint(&request(" { } "), &params);
        assert!(
            matches!(
                &refused,
                Err(ApiError::Invalid {
                    code: "invalid_id",
                    ..
                })
            ),
            "{refused:?}"
        );
        // Routes that take a body leave it to their endpoint.
        let (route, params) = match_route(ROUTES, &Method::GET, "/payments/pay_x").unwrap();
        let refused = route.endpoint(&request(r#"{"amount": 1}"#), &params);
        assert!(
            matches!(
                &refused,
                Err(ApiError::Invalid {
                    code: "invalid_id",
                    ..
                })
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn a_route_read_with_the_wrong_parameter_type_is_our_bug_not_a_400() {
        let none = PathParams::default();
        assert!(matches!(
            none.parse::<PaymentId>(),
            Err(ApiError::Internal(_))
        ));
    }
}
