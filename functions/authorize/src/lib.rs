//! The authorize function, paygate's OAuth 2.0 authorization server:
//! `POST /oauth/token` issues access tokens by the client-credentials grant (RFC 6749 §4.4), and
//! `GET /.well-known/jwks.json` publishes the keys that verify them (current and previous).
//!
//! This is the only endpoint that reads the private signing key. Token answers and errors use
//! OAuth's own JSON format (RFC 6749 §5); everything else (no route, keys or store unreachable)
//! is a problem document like every other endpoint's. Nothing here logs a secret, a token or a
//! body: each request writes one line with its route, client and status.

mod credentials;
mod form;
pub mod oauth;

use lambda_http::{
    Body, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};
use paygate_shared::{
    ClientId, StoreError,
    api::{
        ApiError, Matched, Meter, Public, Route, dispatch,
        request::{body_bytes, header as header_value},
        response::json,
    },
    auth::{Claims, KeyError, Scope, Scopes, sign},
    client::ClientRecord,
};

pub use paygate_shared::wiring::TokenDeps;

use credentials::Credentials;
use form::{Form, FormError};
use oauth::{AccessToken, ErrorCode, OAuthError};

/// What the authorization server serves, one variant per route.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Token,
    Jwks,
}

/// Public: the token endpoint authenticates clients by their credentials, not by a token.
const ROUTES: &[Route<Endpoint, Public>] = &[
    Route::public(Method::POST, "/oauth/token", |_| Ok(Endpoint::Token)),
    Route::public(Method::GET, "/.well-known/jwks.json", |_| {
        Ok(Endpoint::Jwks)
    }),
];

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "authorize";

/// The only grant type served.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
/// Verifiers may cache the key set for five minutes: a rotated key is published as previous
/// well before tokens signed with the new one appear.
pub const JWKS_CACHE_CONTROL: &str = "public, max-age=300";
const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// Serves one request.
pub async fn handle(deps: &TokenDeps, req: Request) -> Response<Body> {
    let meter = Meter {
        function: FUNCTION,
        metrics: &deps.metrics,
        clock: deps.clock.as_ref(),
        round_trips: deps.round_trips.as_ref(),
    };
    dispatch(
        req,
        ROUTES,
        meter,
        async |matched: Matched<'_>, endpoint| match endpoint {
            Endpoint::Token => token(deps, matched.req, &mut matched.log.client_id).await,
            Endpoint::Jwks => jwks(deps).await,
        },
    )
    .await
}

/// Why no token was issued: an OAuth error for the client, or a failure of ours.
enum Refusal {
    OAuth(OAuthError),
    Api(ApiError),
}

impl From<OAuthError> for Refusal {
    fn from(err: OAuthError) -> Self {
        Self::OAuth(err)
    }
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        Self::Api(err.into())
    }
}

/// `POST /oauth/token`; records the client in `client_id` once it has authenticated.
async fn token(
    deps: &TokenDeps,
    req: &Request,
    client_id: &mut Option<String>,
) -> Result<Response<Body>, ApiError> {
    match issue(deps, req).await {
        Ok((client, token)) => {
            *client_id = Some(client.to_string());
            token.into_response()
        }
        Err(Refusal::OAuth(err)) => err.into_response(),
        Err(Refusal::Api(err)) => Err(err),
    }
}

async fn issue(deps: &TokenDeps, req: &Request) -> Result<(ClientId, AccessToken), Refusal> {
    let form = read_form(req)?;
    // The cheap checks come first: a request that is not this grant costs no hashing.
    match form.get("grant_type") {
        Some(CLIENT_CREDENTIALS) => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "only the client_credentials grant is supported",
            )
            .into());
        }
        None => {
            return Err(
                OAuthError::new(ErrorCode::InvalidRequest, "grant_type is required").into(),
            );
        }
    }
    let authorization = header_value(req.headers(), header::AUTHORIZATION.as_str());
    let credentials = Credentials::from_request(authorization, &form)?;
    let client = credentials.authenticate(deps.clients.as_ref()).await??;
    let scopes = granted(&client, form.get("scope"))?;

    let key = deps.keys.signing_key().await.map_err(key_error)?;
    let lifetime = time::Duration::try_from(deps.tokens.lifetime)
        .map_err(|e| ApiError::internal(format!("token lifetime: {e}")))?;
    let claims = Claims::new(
        deps.tokens.issuer.as_str(),
        client.client_id.as_str(),
        deps.tokens.audience.as_str(),
        scopes,
        deps.clock.now(),
        lifetime,
    );
    let token = AccessToken {
        access_token: sign(&key, &claims),
        token_type: "Bearer",
        expires_in: deps.tokens.lifetime.as_secs(),
        scope: scopes.to_string(),
    };
    Ok((client.client_id, token))
}

/// The request's form body.
fn read_form(req: &Request) -> Result<Form, Refusal> {
    let bytes = body_bytes(req)?;
    let media_type = header_value(req.headers(), header::CONTENT_TYPE.as_str())
        .map(|value| value.split(';').next().unwrap_or("").trim());
    if !media_type.is_some_and(|m| m.eq_ignore_ascii_case(FORM_MEDIA_TYPE)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    Form::parse(bytes).map_err(|err| {
        let description = match err {
            FormError::Malformed => "the body is not valid application/x-www-form-urlencoded",
            FormError::Repeated => "a request parameter is repeated",
        };
        OAuthError::new(ErrorCode::InvalidRequest, description).into()
    })
}

/// The scopes to grant: those asked for, which must all be the client's, or without a `scope`
/// parameter all of the client's.
fn granted(client: &ClientRecord, requested: Option<&str>) -> Result<Scopes, OAuthError> {
    let allowed: Scopes = client
        .scopes
        .iter()
        .filter_map(|name| {
            let scope = Scope::parse(name);
            if scope.is_none() {
                // Granting less than the record says is safe; the record still needs fixing.
                tracing::warn!(client_id = %client.client_id, scope = %name, "unknown scope in a client record is not granted");
            }
            scope
        })
        .filter(|scope| {
            // Only an operator reviews payments, whatever its record lists.
            let refused = *scope == Scope::RiskReview && !client.operator;
            if refused {
                tracing::warn!(client_id = %client.client_id, "risk:review in the record of a client that is not an operator is not granted");
            }
            !refused
        })
        .collect();
    let Some(requested) = requested else {
        return Ok(allowed);
    };
    let invalid = |description| OAuthError::new(ErrorCode::InvalidScope, description);
    let requested: Scopes = requested
        .parse()
        .map_err(|_| invalid("a requested scope does not exist"))?;
    if requested.is_empty() {
        return Err(invalid("the scope parameter names no scope"));
    }
    if requested.contains(Scope::RiskReview) && !client.operator {
        return Err(invalid(
            "the risk:review scope is granted only to operator clients",
        ));
    }
    if !allowed.contains_all(requested) {
        return Err(invalid("the requested scope exceeds the client's scopes"));
    }
    Ok(requested)
}

/// `GET /.well-known/jwks.json`: the public keys, current first.
async fn jwks(deps: &TokenDeps) -> Result<Response<Body>, ApiError> {
    let jwks = deps.keys.jwks().await.map_err(key_error)?;
    let mut response = json(StatusCode::OK, &jwks)?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(JWKS_CACHE_CONTROL),
    );
    Ok(response)
}

/// An unreachable key source is a 503 the client may retry; bad key material is our bug.
fn key_error(err: KeyError) -> ApiError {
    match err {
        err @ KeyError::Unavailable(_) => ApiError::unavailable(err),
        other => ApiError::internal(other),
    }
}
