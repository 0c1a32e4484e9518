//! Answers: the gateway's own (with API Gateway's messages, error types and the headers the
//! template's `GatewayResponses` add) and the function's, as HTTP.

use lambda_http::{
    Body, Response,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
};

/// An HTTP answer, before it is written out.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The gateway response type, for the access log (`-` for the function's answers).
    pub kind: &'static str,
}

/// The answers API Gateway gives by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    MissingAuthenticationToken,
    Forbidden,
    Unauthorized,
    AccessDenied,
    AuthorizerFailure,
    Throttled,
    QuotaExceeded,
    RequestTooLarge,
    IntegrationFailure,
    IntegrationTimeout,
}

impl GatewayError {
    /// Status, message, `x-amzn-ErrorType`, response type.
    fn parts(self) -> (u16, &'static str, &'static str, &'static str) {
        match self {
            Self::MissingAuthenticationToken => (
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
                "MISSING_AUTHENTICATION_TOKEN",
            ),
            Self::Forbidden => (403, "Forbidden", "ForbiddenException", "INVALID_API_KEY"),
            Self::Unauthorized => (401, "Unauthorized", "UnauthorizedException", "UNAUTHORIZED"),
            Self::AccessDenied => (
                403,
                "User is not authorized to access this resource",
                "AccessDeniedException",
                "ACCESS_DENIED",
            ),
            Self::AuthorizerFailure => (
                503,
                "Service Unavailable",
                "AuthorizerFailureException",
                "AUTHORIZER_FAILURE",
            ),
            Self::Throttled => (429, "Too Many Requests", "ThrottlingException", "THROTTLED"),
            Self::QuotaExceeded => (
                429,
                "Limit Exceeded",
                "LimitExceededException",
                "QUOTA_EXCEEDED",
            ),
            Self::RequestTooLarge => (
                413,
                "Request Too Long",
                "RequestTooLongException",
                "REQUEST_TOO_LARGE",
            ),
            Self::IntegrationFailure => (
                502,
                "Internal server error",
                "InternalServerErrorException",
                "INTEGRATION_FAILURE",
            ),
            Self::IntegrationTimeout => (
                504,
                "Endpoint request timed out",
                "IntegrationTimeoutException",
                "INTEGRATION_TIMEOUT",
            ),
        }
    }

    pub fn reply(self) -> Reply {
        let (status, message, error_type, kind) = self.parts();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        match self {
            Self::Unauthorized => {
                headers.insert("www-authenticate", HeaderValue::from_static("Bearer"));
            }
            Self::AuthorizerFailure | Self::Throttled => {
                headers.insert("retry-after", HeaderValue::from_static("1"));
            }
            _ => {}
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: serde_json::json!({ "message": message })
                .to_string()
                .into_bytes(),
            kind,
        }
    }
}

impl Reply {
    /// A function's answer.
    pub fn from_function(response: Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.into_bytes(),
            Body::Binary(bytes) => bytes,
            _ => Vec::new(),
        };
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
            kind: "-",
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(HeaderName::from_static(name), value);
        }
        self
    }
}
