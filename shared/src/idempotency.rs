//! Idempotency records (IETF httpapi `Idempotency-Key`): a key, scoped to its client, remembers
//! a fingerprint of the request that first used it and the response that request got, so a retry
//! is answered with that same response and a different request under the same key is refused.
//! Records are written in the same atomic write as the payment they create.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::{ClientId, PaymentId};

/// How long a key is remembered. The draft suggests at least 24 hours.
pub const RETENTION: Duration = Duration::hours(24);

/// Why an `Idempotency-Key` header value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key is 1 to 255 visible ASCII characters")]
pub struct MalformedIdempotencyKey;

/// Why a request's idempotency key stops it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    #[error("the idempotency key was already used with a different request")]
    KeyReused,
    #[error("a request with this idempotency key is still being processed")]
    KeyInFlight,
}

/// An `Idempotency-Key`, scoped to the client that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdempotencyKey {
    pub client_id: ClientId,
    pub key: String,
}

impl IdempotencyKey {
    /// # Errors
    /// [`MalformedIdempotencyKey`] unless 1 to 255 visible ASCII characters.
    pub fn new(client_id: ClientId, key: &str) -> Result<Self, MalformedIdempotencyKey> {
        let visible = key.bytes().all(|b| b.is_ascii_graphic());
        if (1..=255).contains(&key.len()) && visible {
            Ok(Self {
                client_id,
                key: key.to_owned(),
            })
        } else {
            Err(MalformedIdempotencyKey)
        }
    }
}

/// SHA-256 of the request as the client meant it (method, path and canonical body), hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    pub fn of(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            // Length-prefixed, so that ("ab","c") and ("a","bc") differ.
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        let digest = hasher.finalize();
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// The remembered outcome of the first request made with a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub key: IdempotencyKey,
    pub fingerprint: Fingerprint,
    pub payment_id: PaymentId,
    /// The HTTP status and body first returned, replayed verbatim.
    pub response_status: u16,
    pub response_body: String,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub expires_at: OffsetDateTime,
}

impl IdempotencyRecord {
    /// Whether `fingerprint` is the request this record remembers.
    pub fn matches(&self, fingerprint: &Fingerprint) -> bool {
        self.fingerprint == *fingerprint
    }

    /// Expired records are treated as absent, even before the store's TTL sweep removes them.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_visible_ascii() {
        let client: ClientId = "alice".parse().unwrap();
        assert!(IdempotencyKey::new(client.clone(), "4f1c-retry_1").is_ok());
        for bad in ["", "has space", "tab\t", "ünïcode", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::new(client.clone(), bad),
                Err(MalformedIdempotencyKey)
            );
        }
    }

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_ne!(
            Fingerprint::of(&[b"ab", b"c"]),
            Fingerprint::of(&[b"a", b"bc"])
        );
        assert_eq!(Fingerprint::of(&[b"x"]), Fingerprint::of(&[b"x"]));
        assert_eq!(Fingerprint::of(&[b"x"]).0.len(), 64);
    }
}
