//! Secret rotation: the new secret signs first, a rotated-out one keeps signing beside it for 24
//! hours (so receivers can switch over without dropping a delivery), and only unexpired secrets
//! sign.

use time::{Duration, OffsetDateTime};

use super::{SealedSecret, WebhookEndpoint, WebhookError};

/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// The most secrets an endpoint holds: the current one and up to three rotated out within the
/// last 24 hours. Bounds the item (and each delivery's signature header); rotations beyond are
/// refused, never by dropping a secret before its 24 hours are up.
pub const MAX_SECRETS: usize = 4;

impl WebhookEndpoint {
    /// The secrets that sign at `now`, newest first: the current one and every rotated-out one
    /// whose 24 hours are not over.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> impl Iterator<Item = &SealedSecret> {
        self.secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|end| now < end))
    }

    /// The endpoint with `sealed` as its current secret: the old current one expires
    /// [`ROTATION_OVERLAP`] from `now`, secrets already expired are dropped.
    ///
    /// # Errors
    /// [`WebhookError::TooManyRotations`] when [`MAX_SECRETS`] would still sign.
    pub fn rotated(&self, sealed: String, now: OffsetDateTime) -> Result<Self, WebhookError> {
        let mut secrets = vec![SealedSecret {
            sealed,
            created_at: now,
            expires_at: None,
        }];
        for old in self.signing_secrets(now) {
            let mut old = old.clone();
            let end = now + ROTATION_OVERLAP;
            old.expires_at = Some(old.expires_at.map_or(end, |e| e.min(end)));
            secrets.push(old);
        }
        if secrets.len() > MAX_SECRETS {
            return Err(WebhookError::TooManyRotations);
        }
        Ok(Self {
            secrets,
            updated_at: now,
            ..self.clone()
        })
    }

    /// The secret it was created with, while it is kept: what a replay of its creation answers.
    pub fn initial_secret(&self) -> Option<&SealedSecret> {
        // The oldest of that time: a rotation in the creation's own millisecond is newer.
        self.secrets
            .iter()
            .rev()
            .find(|s| s.created_at == self.created_at)
    }
}
