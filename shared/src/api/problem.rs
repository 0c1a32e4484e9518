//! The one mapping from errors to HTTP answers: RFC 9457 `application/problem+json` with a
//! stable machine `code`. This is the only place that picks a status. Client errors say
//! precisely what was wrong; internal errors are answered generically, with nothing of their
//! internals (the request's log line records them, cause and all: see [`super::RequestLog`]).

use lambda_http::{
    Body, Response,
    http::{StatusCode, header},
};
use serde::Serialize;

use crate::{
    AccountError, IdempotencyError, MoneyError, PaymentError, RiskError, StoreError, StoreFailure,
    webhook::WebhookError,
};

/// The cause of an [`ApiError::Unavailable`] or [`ApiError::Internal`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input: 400 with a specific code and a detail naming the field.
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("the request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// No usable bearer token: 401.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The token lacks the scope the route needs: 403.
    #[error("this request needs the `{0}` scope")]
    MissingScope(&'static str),
    /// A review by a client that is not a payments operator (whatever its token says): 403.
    #[error("only payments operators review payments")]
    NotOperator,
    /// An operator reviewing a payment it is a party to: 403.
    #[error("payment {0} is the reviewer's own: another operator must decide it")]
    OwnPayment(crate::PaymentId),
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Risk control declined the payment (kept with status `declined`): 422 with its id and
    /// the reasons.
    #[error("payment {payment_id} was declined by risk control ({})", reasons.join(", "))]
    Declined {
        payment_id: crate::PaymentId,
        reasons: Vec<&'static str>,
    },
    /// A dependency (the signing keys) cannot be reached: 503, safe to retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug: answered with a generic 500, its cause logged with the request.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// A dependency cannot be reached; `cause` (an error, or a message) says which and how.
    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Self::Unavailable(cause.into())
    }

    /// A bug; `cause` (an error, or a message) says what.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }
}

/// A rule of the domain broken by a request is answered as the store would answer it.
macro_rules! answered_as_store_error {
    ($($error:ty),+) => {
        $(impl From<$error> for ApiError {
            fn from(error: $error) -> Self {
                Self::Store(error.into())
            }
        })+
    };
}

answered_as_store_error!(
    AccountError,
    PaymentError,
    IdempotencyError,
    crate::InvalidCursor,
    WebhookError
);

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub code: &'static str,
    pub request_id: String,
    /// `payment_declined`: the declined payment, kept for audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// `payment_declined`: the payment's risk reasons, the rules that declined it first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<&'static str>>,
    #[serde(skip)]
    retry_after: Option<u32>,
    #[serde(skip)]
    www_authenticate: Option<&'static str>,
}

/// Where the problem types are documented (`docs/openapi.yaml` lists every code).
pub const PROBLEM_BASE: &str = "https://paygate.dev/problems/";

struct Shape {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
}

const fn shape(status: StatusCode, code: &'static str, title: &'static str) -> Shape {
    Shape {
        status,
        code,
        title,
    }
}

fn store_shape(error: &StoreError) -> Shape {
    use StatusCode as S;
    use StoreError as E;
    match error {
        E::Account(error) => account_shape(error),
        E::Payment(error) => payment_shape(error),
        E::Idempotency(IdempotencyError::KeyReused) => shape(
            S::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Idempotency key reused with a different request",
        ),
        E::Idempotency(IdempotencyError::KeyInFlight) => shape(
            S::CONFLICT,
            "idempotency_key_in_use",
            "A request with this idempotency key is in progress",
        ),
        E::InvalidCursor(_) => shape(S::BAD_REQUEST, "invalid_cursor", "Invalid cursor"),
        E::Money(MoneyError::CurrencyMismatch { .. }) => currency_mismatch_shape(),
        E::Money(MoneyError::UnsupportedCurrency(_)) => {
            shape(S::BAD_REQUEST, "invalid_currency", "Invalid request")
        }
        // The same codes arise from request validation (`ApiError::invalid`): one title each.
        E::Money(_) => shape(S::BAD_REQUEST, "invalid_amount", "Invalid request"),
        E::Id(_) => shape(S::BAD_REQUEST, "invalid_id", "Invalid request"),
        E::Conflict => shape(S::CONFLICT, "concurrent_update", "Concurrent update, retry"),
        E::Webhook(WebhookError::NotFound(_)) => shape(
            S::NOT_FOUND,
            "webhook_endpoint_not_found",
            "Webhook endpoint not found",
        ),
        E::Webhook(WebhookError::EventNotFound(_)) => {
            shape(S::NOT_FOUND, "event_not_found", "Event not found")
        }
        E::Webhook(WebhookError::TooManyEndpoints) => shape(
            S::UNPROCESSABLE_ENTITY,
            "too_many_webhook_endpoints",
            "Too many webhook endpoints",
        ),
        E::Webhook(WebhookError::UrlNotAllowed(_)) => shape(
            S::UNPROCESSABLE_ENTITY,
            "webhook_url_not_allowed",
            "Webhook URL not allowed",
        ),
        E::Webhook(WebhookError::TooManyRotations) => shape(
            S::CONFLICT,
            "too_many_secret_rotations",
            "Too many secret rotations",
        ),
        E::Webhook(WebhookError::Sealing(_)) => internal_shape(),
        E::Risk(RiskError::VelocityLimitExceeded(_)) => shape(
            S::UNPROCESSABLE_ENTITY,
            "velocity_limit_exceeded",
            "Velocity limit exceeded",
        ),
        // Assessed on a payee that changed under it (the handler assesses again): if it
        // escapes, the request is safe to retry.
        E::Risk(RiskError::PayeeAssumption { .. }) => {
            shape(S::CONFLICT, "concurrent_update", "Concurrent update, retry")
        }
        E::Failure(StoreFailure::Unavailable(_)) => unavailable_shape(),
        E::DuplicateId(_) | E::Failure(StoreFailure::Internal(_)) => internal_shape(),
    }
}

fn account_shape(error: &AccountError) -> Shape {
    use AccountError as E;
    use StatusCode as S;
    match error {
        E::NotFound(_) => shape(S::NOT_FOUND, "account_not_found", "Account not found"),
        E::Inactive { .. } => shape(
            S::UNPROCESSABLE_ENTITY,
            "account_inactive",
            "Account is not active",
        ),
        E::CurrencyMismatch { .. } => currency_mismatch_shape(),
        E::InsufficientFunds { .. } => shape(
            S::UNPROCESSABLE_ENTITY,
            "insufficient_funds",
            "Insufficient funds",
        ),
        E::PerPaymentLimitExceeded { .. } => shape(
            S::UNPROCESSABLE_ENTITY,
            "per_payment_limit_exceeded",
            "Per-payment limit exceeded",
        ),
        E::DailyLimitExceeded { .. } => shape(
            S::UNPROCESSABLE_ENTITY,
            "daily_limit_exceeded",
            "Daily outflow limit exceeded",
        ),
    }
}

fn payment_shape(error: &PaymentError) -> Shape {
    use PaymentError as E;
    use StatusCode as S;
    match error {
        E::NotFound(_) => shape(S::NOT_FOUND, "payment_not_found", "Payment not found"),
        E::SameAccount(_) => shape(
            S::UNPROCESSABLE_ENTITY,
            "same_account",
            "Source and destination are the same",
        ),
        E::NotPending(_) => shape(
            S::CONFLICT,
            "payment_not_pending",
            "Payment is no longer pending",
        ),
        E::NotInReview(_) => shape(
            S::CONFLICT,
            "payment_not_in_review",
            "Payment is not in review",
        ),
        E::Expired(_) => shape(S::CONFLICT, "payment_expired", "Payment expired"),
        E::NotPayer(_) => shape(S::FORBIDDEN, "not_payer", "Only the payer can do this"),
        E::NotPayee(_) => shape(S::FORBIDDEN, "not_payee", "Only the payee can do this"),
        E::NotCaptured(_) => shape(
            S::CONFLICT,
            "payment_not_captured",
            "Payment has not been captured",
        ),
        E::RefundExceedsPayment { .. } => shape(
            S::UNPROCESSABLE_ENTITY,
            "refund_exceeds_payment",
            "Refund exceeds what is left of the payment",
        ),
        E::CaptureExceedsHold { .. } => shape(
            S::UNPROCESSABLE_ENTITY,
            "capture_exceeds_hold",
            "Capture exceeds the held amount",
        ),
        // The same code as request validation's (`ApiError::invalid`): one title.
        E::InvalidAmount(_) => shape(S::BAD_REQUEST, "invalid_amount", "Invalid request"),
    }
}

const fn currency_mismatch_shape() -> Shape {
    shape(
        StatusCode::UNPROCESSABLE_ENTITY,
        "currency_mismatch",
        "Currency mismatch",
    )
}

const fn unavailable_shape() -> Shape {
    shape(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "Service unavailable",
    )
}

const fn internal_shape() -> Shape {
    shape(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal error",
    )
}

/// The detail shown to the client. Store errors about another client's account never reveal
/// its state: the caller learns only that it cannot be used.
fn store_detail(error: &StoreError) -> String {
    match error {
        StoreError::Account(AccountError::Inactive { account, .. }) => {
            format!("account {account} is not active and cannot be used")
        }
        StoreError::Account(AccountError::CurrencyMismatch {
            account,
            payment_currency,
            ..
        }) => {
            format!(
                "account {account} does not hold {}",
                payment_currency.code()
            )
        }
        StoreError::Failure(StoreFailure::Unavailable(_)) => unavailable_detail(),
        StoreError::DuplicateId(_)
        | StoreError::Webhook(WebhookError::Sealing(_))
        | StoreError::Failure(StoreFailure::Internal(_)) => internal_detail(),
        other => other.to_string(),
    }
}

fn unavailable_detail() -> String {
    "the service is temporarily unavailable; retry".to_owned()
}

fn internal_detail() -> String {
    "an internal error occurred; it has been logged".to_owned()
}

impl ApiError {
    /// Renders the problem document for the request `request_id`. Logs nothing: the request's
    /// log line records the error (see [`super::RequestLog::finish`]).
    pub fn to_problem(&self, request_id: &str) -> Problem {
        let (shape, detail) = match self {
            Self::Invalid { code, detail } => (
                shape(StatusCode::BAD_REQUEST, code, "Invalid request"),
                detail.clone(),
            ),
            Self::PayloadTooLarge { .. } => (
                shape(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "Payload too large",
                ),
                self.to_string(),
            ),
            Self::Unauthenticated(_) => (
                shape(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Authentication required",
                ),
                self.to_string(),
            ),
            Self::MissingScope(_) => (
                shape(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "Insufficient scope",
                ),
                self.to_string(),
            ),
            Self::NotOperator => (
                shape(
                    StatusCode::FORBIDDEN,
                    "not_operator",
                    "Not a payments operator",
                ),
                self.to_string(),
            ),
            Self::OwnPayment(_) => (
                shape(
                    StatusCode::FORBIDDEN,
                    "own_payment",
                    "An operator cannot review its own payment",
                ),
                self.to_string(),
            ),
            Self::NoRoute { .. } => (
                shape(StatusCode::NOT_FOUND, "route_not_found", "Not found"),
                self.to_string(),
            ),
            Self::Store(error) => (store_shape(error), store_detail(error)),
            Self::Declined { .. } => (
                shape(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "payment_declined",
                    "Payment declined",
                ),
                self.to_string(),
            ),
            Self::Unavailable(_) => (unavailable_shape(), unavailable_detail()),
            Self::Internal(_) => (internal_shape(), internal_detail()),
        };
        let retryable = shape.status == StatusCode::SERVICE_UNAVAILABLE
            || matches!(self, Self::Store(error) if error.is_retryable());
        let www_authenticate = match self {
            Self::Unauthenticated(_) => Some("Bearer realm=\"paygate\", error=\"invalid_token\""),
            Self::MissingScope(_) => Some("Bearer realm=\"paygate\", error=\"insufficient_scope\""),
            _ => None,
        };
        Problem {
            type_uri: format!("{PROBLEM_BASE}{}", shape.code),
            title: shape.title,
            status: shape.status.as_u16(),
            detail,
            code: shape.code,
            request_id: request_id.to_owned(),
            payment_id: match self {
                Self::Declined { payment_id, .. } => Some(payment_id.to_string()),
                _ => None,
            },
            reasons: match self {
                Self::Declined { reasons, .. } => Some(reasons.clone()),
                _ => None,
            },
            retry_after: retryable.then_some(1),
            www_authenticate,
        }
    }

    pub fn into_response(self, request_id: &str) -> Response<Body> {
        self.to_problem(request_id).into_response()
    }
}

impl Problem {
    pub fn into_response(self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/problem+json")
            .header(header::CACHE_CONTROL, "no-store");
        if let Some(seconds) = self.retry_after {
            builder = builder.header(header::RETRY_AFTER, seconds);
        }
        if let Some(challenge) = self.www_authenticate {
            builder = builder.header(header::WWW_AUTHENTICATE, challenge);
        }
        let body = serde_json::to_string(&self).unwrap_or_default();
        builder
            .body(Body::Text(body))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

#[cfg(test)]
#[path = "problem_tests.rs"]
mod tests;
