//! Who is calling. Behind API Gateway the Lambda authorizer has already verified the token and
//! its context arrives in the event; without that context (`cargo lambda watch`, a direct
//! invoke) the function verifies the bearer token itself. Absence of a context is never trust.

use std::sync::Arc;

use lambda_http::{Request, RequestExt, http::header, request::RequestContext};
use serde_json::Value;
use time::OffsetDateTime;

use super::{ApiError, request::header as header_value};
use crate::{
    ClientId,
    auth::{AuthError, Expectations, KeyCache, KeyError, Scope, Scopes},
};

/// The authenticated client and what its token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub client_id: ClientId,
    pub scopes: Scopes,
}

impl Caller {
    /// # Errors
    /// [`ApiError::MissingScope`] unless the token carries `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(ApiError::MissingScope(scope.as_str()))
        }
    }
}

/// The authorizer context keys: what the Lambda authorizer puts in, and functions read back.
pub use crate::auth::{CONTEXT_CLIENT_ID, CONTEXT_SCOPES};

/// Finds the caller of a request.
#[derive(Debug, Clone)]
pub struct Authenticator {
    keys: Arc<KeyCache>,
    expected: Expectations,
}

impl Authenticator {
    pub fn new(keys: Arc<KeyCache>, expected: Expectations) -> Self {
        Self { keys, expected }
    }

    /// # Errors
    /// 401 without a valid bearer token, 503 when the verification keys cannot be loaded.
    pub async fn caller(&self, req: &Request, now: OffsetDateTime) -> Result<Caller, ApiError> {
        if let Some(caller) = from_authorizer_context(req)? {
            return Ok(caller);
        }
        let token = bearer_token(req)?;
        let claims = self
            .keys
            .verify(token, &self.expected, now)
            .await
            .map_err(|e| match e {
                AuthError::Token(_) => {
                    ApiError::Unauthenticated("the bearer token is invalid or expired")
                }
                AuthError::Keys(err @ KeyError::Unavailable(_)) => ApiError::unavailable(err),
                AuthError::Keys(other) => ApiError::internal(other),
            })?;
        let client_id = claims
            .sub
            .parse()
            .map_err(|_| ApiError::Unauthenticated("the bearer token is invalid or expired"))?;
        let scopes = claims
            .scopes()
            .map_err(|_| ApiError::Unauthenticated("the bearer token is invalid or expired"))?;
        Ok(Caller { client_id, scopes })
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(req: &Request) -> Result<&str, ApiError> {
    let value = header_value(req.headers(), header::AUTHORIZATION.as_str()).ok_or(
        ApiError::Unauthenticated("an Authorization: Bearer token is required"),
    )?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
        Ok(token)
    } else {
        Err(ApiError::Unauthenticated(
            "an Authorization: Bearer token is required",
        ))
    }
}

/// The caller as API Gateway's authorizer described it, if it did.
fn from_authorizer_context(req: &Request) -> Result<Option<Caller>, ApiError> {
    let Some(RequestContext::ApiGatewayV1(ctx)) = req.request_context_ref() else {
        return Ok(None);
    };
    let Some(client_id) = ctx.authorizer.fields.get(CONTEXT_CLIENT_ID) else {
        return Ok(None);
    };
    // The context came from our own authorizer: anything malformed in it is our bug.
    let corrupt = || ApiError::internal("malformed authorizer context");
    let client_id = client_id
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(corrupt)?;
    let scopes = match ctx.authorizer.fields.get(CONTEXT_SCOPES) {
        Some(Value::String(scopes)) => scopes.parse().map_err(|_| corrupt())?,
        _ => return Err(corrupt()),
    };
    Ok(Some(Caller { client_id, scopes }))
}
