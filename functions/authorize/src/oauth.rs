//! The token endpoint's answers in OAuth 2.0's own format (RFC 6749 §5.1, §5.2) rather than
//! as problem documents: OAuth client libraries parse `error`, not `code`. Both kinds of answer
//! are never cached, and no description ever quotes what the client sent.

use lambda_http::{
    Body, Response,
    http::{HeaderValue, StatusCode, header},
};
use paygate_shared::api::{ApiError, response::json};
use serde::Serialize;

/// The challenge sent with a 401 to a client that used (or omitted) HTTP Basic.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"paygate\"";

/// The `error` codes of RFC 6749 §5.2 that the client-credentials grant can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A malformed request: bad body, missing or repeated parameter, two authentication methods.
    InvalidRequest,
    /// Client authentication failed: unknown client, wrong secret, disabled client, none given.
    InvalidClient,
    UnsupportedGrantType,
    /// A scope that is unknown or not granted to the client.
    InvalidScope,
}

/// An RFC 6749 §5.2 error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    pub error: ErrorCode,
    pub error_description: &'static str,
    /// Whether to challenge with `WWW-Authenticate: Basic` (only ever on a 401).
    #[serde(skip)]
    pub challenge: bool,
}

impl OAuthError {
    pub const fn new(error: ErrorCode, error_description: &'static str) -> Self {
        Self {
            error,
            error_description,
            challenge: false,
        }
    }

    /// `invalid_client`, challenging with Basic when `challenge`.
    pub const fn invalid_client(error_description: &'static str, challenge: bool) -> Self {
        Self {
            error: ErrorCode::InvalidClient,
            error_description,
            challenge,
        }
    }

    /// `invalid_client` is 401, every other error 400.
    pub fn status(&self) -> StatusCode {
        match self.error {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn into_response(self) -> Result<Response<Body>, ApiError> {
        let mut response = no_cache(json(self.status(), &self)?);
        if self.challenge && self.error == ErrorCode::InvalidClient {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BASIC_CHALLENGE),
            );
        }
        Ok(response)
    }
}

/// The successful answer of RFC 6749 §5.1.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds from issue.
    pub expires_in: u64,
    /// The scopes granted, space-separated (possibly fewer than the client has: what it asked).
    pub scope: String,
}

impl AccessToken {
    pub fn into_response(self) -> Result<Response<Body>, ApiError> {
        Ok(no_cache(json(StatusCode::OK, &self)?))
    }
}

// A bearer token must never reach a log through `{:?}`.
impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// `Cache-Control: no-store` (already set by `json`) plus `Pragma: no-cache` for HTTP/1.0
/// caches, as RFC 6749 §5.1 asks of every answer carrying tokens or credentials.
fn no_cache(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
