//! The `Idempotency-Key` side of the routes that create something (a payment, a refund): the
//! header is required and scoped to the caller; the request's fingerprint is its method, path and
//! canonical body; the record written with what it creates remembers the answer, and a retry is
//! answered with that answer verbatim, marked `Idempotent-Replayed: true`. The store decides
//! between creating and replaying in the same atomic write.

use lambda_http::{
    Body, Request, Response,
    http::{HeaderValue, StatusCode},
};
use serde::Serialize;
use time::OffsetDateTime;

use super::{
    ApiError,
    request::header,
    response::{json_text, raw_json},
};
use crate::{
    ClientId, Fingerprint, IdempotencyKey, IdempotencyRecord, PaymentId, idempotency::RETENTION,
};

/// The request header naming the key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header marking an answer as the replay of an earlier one.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// A create request as its key and fingerprint identify it.
#[derive(Debug, Clone)]
pub struct Idempotent {
    key: IdempotencyKey,
    fingerprint: Fingerprint,
}

/// The caller's `Idempotency-Key`, read before the body so that a request without one is refused
/// for that whatever its body.
///
/// # Errors
/// `idempotency_key_missing`, or `invalid_idempotency_key` for a malformed one.
pub fn idempotency_key(req: &Request, client: &ClientId) -> Result<IdempotencyKey, ApiError> {
    let key = header(req.headers(), IDEMPOTENCY_KEY).ok_or_else(|| {
        ApiError::invalid(
            "idempotency_key_missing",
            "the Idempotency-Key header is required",
        )
    })?;
    IdempotencyKey::new(client.clone(), key)
        .map_err(|e| ApiError::invalid("invalid_idempotency_key", e.to_string()))
}

impl Idempotent {
    /// `POST path` with `body` under `key`. The body is re-serialised canonically, so the same
    /// request in other whitespace or field order fingerprints the same.
    ///
    /// # Errors
    /// Internal, if the body cannot be serialised.
    pub fn post<B: Serialize>(key: IdempotencyKey, path: &str, body: &B) -> Result<Self, ApiError> {
        let canonical = serde_json::to_vec(body).map_err(ApiError::internal)?;
        Ok(Self {
            key,
            fingerprint: Fingerprint::of(&[b"POST", path.as_bytes(), &canonical]),
        })
    }

    /// The record to write with what the request creates: it answered `201` with `view`.
    ///
    /// # Errors
    /// Internal, if `view` cannot be serialised.
    pub fn created<V: Serialize>(
        &self,
        payment_id: PaymentId,
        view: &V,
        now: OffsetDateTime,
    ) -> Result<IdempotencyRecord, ApiError> {
        Ok(IdempotencyRecord {
            key: self.key.clone(),
            fingerprint: self.fingerprint.clone(),
            payment_id,
            response_status: StatusCode::CREATED.as_u16(),
            response_body: json_text(view)?,
            created_at: now,
            expires_at: now + RETENTION,
        })
    }

    /// The record of a request answered with something else than its creation (a declined
    /// payment's `422` problem, kept with the payment it declined).
    pub fn answered(
        &self,
        payment_id: PaymentId,
        status: StatusCode,
        body: String,
        now: OffsetDateTime,
    ) -> IdempotencyRecord {
        IdempotencyRecord {
            key: self.key.clone(),
            fingerprint: self.fingerprint.clone(),
            payment_id,
            response_status: status.as_u16(),
            response_body: body,
            created_at: now,
            expires_at: now + RETENTION,
        }
    }
}

/// The answer of a request whose record was just written.
pub fn answer_created(record: &IdempotencyRecord) -> Response<Body> {
    recorded(StatusCode::CREATED, record.response_body.clone())
}

/// A recorded answer: a problem document for an error status, JSON otherwise.
fn recorded(status: StatusCode, body: String) -> Response<Body> {
    let mut response = raw_json(status, body);
    if status.is_client_error() {
        response.headers_mut().insert(
            lambda_http::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
    }
    response
}

/// The answer a request's record remembers, as first given (not marked as a replay).
///
/// # Errors
/// Internal, if the stored status is not an HTTP status.
pub fn answer_recorded(record: &IdempotencyRecord) -> Result<Response<Body>, ApiError> {
    let status = StatusCode::from_u16(record.response_status).map_err(ApiError::internal)?;
    Ok(recorded(status, record.response_body.clone()))
}

/// The answer remembered by `first`, marked as a replay.
///
/// # Errors
/// Internal, if the stored status is not an HTTP status.
pub fn answer_replayed(first: IdempotencyRecord) -> Result<Response<Body>, ApiError> {
    let status = StatusCode::from_u16(first.response_status).map_err(ApiError::internal)?;
    let mut response = recorded(status, first.response_body);
    response
        .headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header::HeaderName;

    use super::*;

    fn key(value: &str) -> IdempotencyKey {
        IdempotencyKey::new("alice".parse().unwrap(), value).unwrap()
    }

    #[test]
    fn the_fingerprint_is_method_path_and_canonical_body() {
        #[derive(Serialize)]
        struct Body {
            amount: i64,
        }
        let fingerprint = |path: &str, amount| {
            Idempotent::post(key("k"), path, &Body { amount })
                .unwrap()
                .fingerprint
        };
        // What `POST /payments` has fingerprinted since before this module: stored records
        // must keep matching their retries across a deployment.
        assert_eq!(
            fingerprint("/payments", 5),
            Fingerprint::of(&[b"POST", b"/payments", br#"{"amount":5}"#])
        );
        assert_ne!(fingerprint("/payments", 5), fingerprint("/payments", 6));
        assert_ne!(
            fingerprint("/payments/pay_1/refunds", 5),
            fingerprint("/payments/pay_2/refunds", 5)
        );
    }

    #[test]
    fn a_replay_is_the_first_answer_marked() {
        let now = time::macros::datetime!(2026-11-22 10:00 UTC);
        let request = Idempotent::post(key("k"), "/payments", &1).unwrap();
        let id = PaymentId::generate(now);
        let record = request
            .created(id, &serde_json::json!({"id": 1}), now)
            .unwrap();
        assert_eq!(
            (record.response_status, record.response_body.as_str()),
            (201, r#"{"id":1}"#)
        );
        assert_eq!(record.expires_at, now + RETENTION);
        let first = answer_created(&record);
        assert_eq!(first.status(), 201);
        assert!(first.headers().get(IDEMPOTENT_REPLAYED).is_none());
        let again = answer_replayed(record).unwrap();
        assert_eq!(again.status(), 201);
        assert_eq!(
            again
                .headers()
                .get(HeaderName::from_static(IDEMPOTENT_REPLAYED)),
            Some(&HeaderValue::from_static("true"))
        );
        assert_eq!(again.body(), first.body());
    }
}
