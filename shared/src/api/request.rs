//! Reading requests: the request id, headers, the JSON body (a missing body, a malformed body
//! and a wrong field are different errors, each naming what was wrong), query parameters, and
//! the path without the API Gateway stage.

use lambda_http::{
    Body, Request, RequestExt,
    http::{HeaderMap, header},
    request::RequestContext,
};
use serde::de::DeserializeOwned;

use super::ApiError;

/// Bodies are small JSON documents; anything larger is refused before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// API Gateway's request id when there is one (clients see it as `x-amzn-RequestId`), else the
/// Lambda invocation's, else a fresh one.
pub fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV1(ctx)) = req.request_context_ref()
        && let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    req.lambda_context_ref()
        .map(|ctx| ctx.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

/// A header's value, when present and valid visible ASCII.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request path with the stage prefix (`/v1`) removed, whichever event shape carried it.
pub fn route_path(req: &Request) -> String {
    let path = req.raw_http_path();
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    match stage
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "$default")
    {
        Some(stage) => match path.strip_prefix(&format!("/{stage}")) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
            _ => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

/// A single query-string parameter.
pub fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
}

/// The body as bytes, refusing oversized ones.
pub fn body_bytes(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(bytes)
}

/// Parses a JSON body into `T` (which should `deny_unknown_fields`), naming the offending
/// field on failure.
///
/// # Errors
/// `invalid_body` (missing, not JSON, wrong content type) or `invalid_field`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req)?;
    if let Some(content_type) = header(req.headers(), header::CONTENT_TYPE.as_str()) {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::invalid(
                "invalid_body",
                format!(
                    "the body must be application/json, not `{}`",
                    truncate(media_type, 60)
                ),
            ));
        }
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::invalid("invalid_body", "a JSON body is required")),
        // serde would take an array for a struct's fields in order: only objects are accepted.
        Some(b'{') => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_body",
                "the body must be a JSON object",
            ));
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::invalid(
                "invalid_body",
                format!("the body is not valid JSON: {inner}"),
            )
        } else if path == "." {
            // Valid JSON of the wrong shape at the top: a missing or unknown field.
            ApiError::invalid("invalid_body", format!("the body does not fit: {inner}"))
        } else {
            ApiError::invalid("invalid_field", format!("`{path}`: {inner}"))
        }
    })?;
    deserializer.end().map_err(|e| {
        ApiError::invalid("invalid_body", format!("the body is not valid JSON: {e}"))
    })?;
    Ok(value)
}

/// Parses an optional JSON body: none (empty, or only whitespace) is `None`, anything else must
/// be what [`json_body`] accepts.
///
/// # Errors
/// As [`json_body`], for a body that is there.
pub fn optional_json_body<T: DeserializeOwned>(req: &Request) -> Result<Option<T>, ApiError> {
    if body_bytes(req)?.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        json_body(req).map(Some)
    }
}

/// An amount field of a body, which must be a positive number of minor units (its upper bound is
/// the domain's, which knows the payment).
///
/// # Errors
/// `invalid_amount` naming `field`.
pub fn positive_amount(field: &str, minor: i64) -> Result<i64, ApiError> {
    if minor > 0 {
        Ok(minor)
    } else {
        Err(ApiError::invalid(
            "invalid_amount",
            format!("`{field}`: {}", crate::MoneyError::NotPositive),
        ))
    }
}

/// Refuses a non-empty body on routes that take none (a `{}` is tolerated).
///
/// # Errors
/// `invalid_body`.
pub fn no_body(req: &Request) -> Result<(), ApiError> {
    let bytes = body_bytes(req)?;
    let text = std::str::from_utf8(bytes).unwrap_or("x").trim();
    if text.is_empty() || text.replace(char::is_whitespace, "") == "{}" {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid_body",
            "this route takes no request body",
        ))
    }
}

pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
