//! Reading a list route's query string: every parameter must be one the route knows and appear
//! at most once, so a typo such as `limt=5` is an error rather than a silently ignored wish; each
//! value is parsed with a `400 invalid_query` that names its parameter. A cursor that does not
//! fit the query it is presented with is the store's `invalid_cursor`, not this module's.

use lambda_http::{Request, RequestExt, aws_lambda_events::query_map::QueryMap};
use time::OffsetDateTime;

use super::ApiError;
use crate::timefmt::parse_rfc3339;

/// A request's query parameters, checked against the names its route knows.
#[derive(Debug, Clone, Copy)]
pub struct QueryParams<'r> {
    params: Option<&'r QueryMap>,
}

impl<'r> QueryParams<'r> {
    /// The query string of `req`, whose parameters must all be among `known`, each at most once.
    ///
    /// # Errors
    /// `invalid_query` naming the unknown or repeated parameter.
    pub fn read(req: &'r Request, known: &[&str]) -> Result<Self, ApiError> {
        let params = req.query_string_parameters_ref();
        for (name, _) in params.iter().flat_map(|p| p.iter()) {
            if !known.contains(&name) {
                return Err(invalid_query(format!(
                    "unknown query parameter `{}`; expected {}",
                    name.chars().take(40).collect::<String>(),
                    one_of(known)
                )));
            }
            if params
                .and_then(|p| p.all(name))
                .is_some_and(|values| values.len() > 1)
            {
                return Err(invalid_query(format!("`{name}` may be given once")));
            }
        }
        Ok(Self { params })
    }

    /// The raw value of `name`, when given.
    pub fn get(&self, name: &str) -> Option<&'r str> {
        self.params.and_then(|p| p.first(name))
    }

    /// `limit`: an integer from 1 to `max`, `default` when absent.
    ///
    /// # Errors
    /// `invalid_query` naming `limit`.
    pub fn limit(&self, default: u16, max: u16) -> Result<u16, ApiError> {
        let Some(limit) = self.get("limit") else {
            return Ok(default);
        };
        limit
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid_query(format!("`limit` must be an integer from 1 to {max}")))
    }

    /// An RFC 3339 timestamp parameter, when given.
    ///
    /// # Errors
    /// `invalid_query` naming `name`.
    pub fn timestamp(&self, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
        self.get(name)
            .map(|value| {
                parse_rfc3339(value).map_err(|_| {
                    invalid_query(format!(
                        "`{name}` must be an RFC 3339 timestamp, such as 2026-11-22T10:00:00Z"
                    ))
                })
            })
            .transpose()
    }

    /// A parameter parsed by `parse`, whose error (any `Display`) is named after the parameter.
    ///
    /// # Errors
    /// `invalid_query`: "`name`: why".
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|value| parse(value).map_err(|e| invalid_query(format!("`{name}`: {e}"))))
            .transpose()
    }
}

/// A `400 invalid_query` with `detail`.
pub fn invalid_query(detail: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_query", detail)
}

/// `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "none".to_owned(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lambda_http::RequestExt;

    use super::*;

    fn request(pairs: &[(&str, &str)]) -> Request {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in pairs {
            map.entry((*name).to_owned())
                .or_default()
                .push((*value).to_owned());
        }
        Request::default().with_query_string_parameters(map)
    }

    fn refused<T: std::fmt::Debug>(outcome: Result<T, ApiError>) -> String {
        match outcome {
            Err(ApiError::Invalid {
                code: "invalid_query",
                detail,
            }) => detail,
            other => panic!("expected invalid_query, got {other:?}"),
        }
    }

    const KNOWN: &[&str] = &["limit", "cursor", "from", "to"];

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        assert_eq!(
            refused(QueryParams::read(&request(&[("limt", "5")]), KNOWN)),
            "unknown query parameter `limt`; expected limit, cursor, from or to"
        );
        assert_eq!(
            refused(QueryParams::read(
                &request(&[("limit", "5"), ("limit", "6")]),
                KNOWN
            )),
            "`limit` may be given once"
        );
        let empty = Request::default();
        let none = QueryParams::read(&empty, KNOWN).unwrap();
        assert_eq!(
            (none.get("limit"), none.limit(20, 100).unwrap()),
            (None, 20)
        );
    }

    #[test]
    fn values_are_parsed_with_their_name() {
        let req = request(&[
            ("limit", "7"),
            ("from", "2026-11-22T10:00:00+01:00"),
            ("to", "yesterday"),
        ]);
        let params = QueryParams::read(&req, KNOWN).unwrap();
        assert_eq!(params.limit(20, 100).unwrap(), 7);
        assert_eq!(
            params.timestamp("from").unwrap(),
            Some(time::macros::datetime!(2026-11-22 09:00 UTC))
        );
        assert!(refused(params.timestamp("to")).starts_with("`to` must be an RFC 3339"));
        assert_eq!(params.timestamp("cursor").unwrap(), None);
        for bad in ["0", "101", "ten", "-1", "1.5"] {
            let req = request(&[("limit", bad)]);
            let params = QueryParams::read(&req, KNOWN).unwrap();
            assert_eq!(
                refused(params.limit(20, 100)),
                "`limit` must be an integer from 1 to 100",
                "{bad}"
            );
        }
        let req = request(&[("cursor", "x")]);
        let params = QueryParams::read(&req, KNOWN).unwrap();
        assert_eq!(
            refused(params.parsed("cursor", |_| Err::<(), _>("not one of ours"))),
            "`cursor`: not one of ours"
        );
        assert_eq!(
            params.parsed("from", |v| Ok::<_, String>(v.len())).unwrap(),
            None
        );
    }
}
