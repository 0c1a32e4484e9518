//! Answers: the gateway's own (with API Gateway's messages, error types and the headers the
//! template's `GatewayResponses` add) and the function's, as HTTP.

use lambda_http::{
    Body, Response,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
};
use paygate_template::GatewayResponse;

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
    /// AWS WAF blocked the request: API Gateway answers with its `WAF_FILTERED` response.
    WafFiltered,
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
    /// API Gateway's defaults: status, message, `x-amzn-ErrorType`, response type.
    fn parts(self) -> (u16, &'static str, &'static str, &'static str) {
        match self {
            Self::MissingAuthenticationToken => (
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
                "MISSING_AUTHENTICATION_TOKEN",
            ),
            Self::Forbidden => (403, "Forbidden", "ForbiddenException", "INVALID_API_KEY"),
            // WAF's block is 403 by default and the protected resource sends it: API Gateway's
            // WAF_FILTERED gateway response, which falls back to DEFAULT_4XX like the others.
            Self::WafFiltered => (403, "Forbidden", "ForbiddenException", "WAF_FILTERED"),
            Self::Unauthorized => (401, "Unauthorized", "UnauthorizedException", "UNAUTHORIZED"),
            Self::AccessDenied => (
                403,
                "User is not authorized to access this resource",
                "AccessDeniedException",
                "ACCESS_DENIED",
            ),
            Self::AuthorizerFailure => (
                500,
                "Internal server error",
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
            // A function that failed or answered something that is not a proxy result: no
            // type of its own, so DEFAULT_5XX customises it.
            Self::IntegrationFailure => (
                502,
                "Internal server error",
                "InternalServerErrorException",
                "DEFAULT_5XX",
            ),
            Self::IntegrationTimeout => (
                504,
                "Endpoint request timed out",
                "IntegrationTimeoutException",
                "INTEGRATION_TIMEOUT",
            ),
        }
    }
}

/// The template's `GatewayResponses`, applied as API Gateway applies them: a response type's
/// own entry, else `DEFAULT_4XX`/`DEFAULT_5XX` by its default status, else the default.
#[derive(Debug, Clone, Default)]
pub struct GatewayResponses(Vec<GatewayResponse>);

impl GatewayResponses {
    pub fn new(responses: Vec<GatewayResponse>) -> Self {
        Self(responses)
    }

    /// The gateway's answer for `error` to request `request_id`.
    pub fn reply(&self, error: GatewayError, request_id: &str) -> Reply {
        let (status, message, error_type, kind) = error.parts();
        let class = if status >= 500 {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let custom = self
            .0
            .iter()
            .find(|r| r.kind == kind)
            .or_else(|| self.0.iter().find(|r| r.kind == class));
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        let mut status = status;
        let mut body = serde_json::json!({ "message": message }).to_string();
        if let Some(custom) = custom {
            status = custom.status.unwrap_or(status);
            for (name, value) in &custom.headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    headers.insert(name, value);
                }
            }
            if let Some((_, template)) = custom
                .templates
                .iter()
                .find(|(content_type, _)| content_type == "application/json")
            {
                body = render(template, message, kind, request_id);
            }
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: body.into_bytes(),
            kind,
        }
    }
}

/// A gateway response's mapping template, with the `$context` variables API Gateway offers
/// there substituted (`messageString` is the message as a quoted JSON string).
fn render(template: &str, message: &str, kind: &str, request_id: &str) -> String {
    template
        .replace(
            "$context.error.messageString",
            &serde_json::Value::from(message).to_string(),
        )
        .replace("$context.error.message", message)
        .replace("$context.error.responseType", kind)
        .replace("$context.requestId", request_id)
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
