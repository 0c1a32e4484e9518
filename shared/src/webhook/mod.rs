//! Webhook endpoints: where a client wants its events delivered, and the secrets that sign them.
//! A secret is shown to its client once (when created or rotated) and is otherwise kept only
//! sealed ([`SecretSealer`]): never in an item, a log line, an error or a list answer in clear.

mod rotation;
mod seal;
#[cfg(test)]
mod tests;

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use time::OffsetDateTime;

use crate::{ClientId, EventId, WebhookEndpointId, event::EventType, spelling::spelled};

pub use rotation::{MAX_SECRETS, ROTATION_OVERLAP};
#[cfg(feature = "secrets")]
pub use seal::sealer_from_secret;
pub use seal::{AesGcmSealer, SEALED_PREFIX};

/// The most live endpoints one client may have.
pub const MAX_ENDPOINTS_PER_CLIENT: usize = 16;

/// What every signing secret starts with (Standard Webhooks' convention).
pub const SECRET_PREFIX: &str = "whsec_";

spelled! {
    /// Whether an endpoint receives deliveries.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum EndpointStatus {
        Enabled => "enabled",
        /// Stopped by a `410 Gone` answer.
        Disabled => "disabled",
    }
}

/// A signing secret in clear: `whsec_` + base64 of 32 random bytes. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret's text (already generated or unsealed).
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// The secret's text, for the one answer that shows it and for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A fresh secret: `whsec_` + base64 of 32 random bytes.
    pub fn generate() -> Self {
        Self(format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(rand::random::<[u8; 32]>())
        ))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// A secret as stored: sealed, with its lifetime.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// What [`SecretSealer::seal`] made of it.
    pub sealed: String,
    pub created_at: OffsetDateTime,
    /// After a rotation the old secret keeps signing until then; `None` while current.
    pub expires_at: Option<OffsetDateTime>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A client's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub owner: ClientId,
    /// Checked by `notify::ssrf::UrlPolicy` at registration and again at each delivery.
    pub url: String,
    /// The event types it receives; empty: every type.
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub status: EndpointStatus,
    /// Newest first: the current secret, then any rotated-out one still within its 24 hours.
    pub secrets: Vec<SealedSecret>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl WebhookEndpoint {
    /// Whether it receives events of `event_type`.
    pub fn subscribed(&self, event_type: EventType) -> bool {
        self.events.is_empty() || self.events.contains(&event_type)
    }
}

/// Seals and opens signing secrets (AES-256-GCM under a key kept in Secrets Manager in
/// production). The endpoint id binds a sealed secret to its endpoint.
pub trait SecretSealer: Send + Sync {
    /// # Errors
    /// [`WebhookError::Sealing`] when sealing fails.
    fn seal(
        &self,
        secret: &WebhookSecret,
        endpoint: WebhookEndpointId,
    ) -> Result<String, WebhookError>;

    /// # Errors
    /// [`WebhookError::Sealing`] for a tampered, foreign or malformed sealed secret.
    fn open(
        &self,
        sealed: &str,
        endpoint: WebhookEndpointId,
    ) -> Result<WebhookSecret, WebhookError>;
}

/// Refusals about webhook endpoints and the events they receive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no webhook endpoint `{0}`")]
    NotFound(WebhookEndpointId),
    /// A missing event, or another client's (the same answer).
    #[error("no event `{0}`")]
    EventNotFound(EventId),
    #[error("a client may have at most {MAX_ENDPOINTS_PER_CLIENT} webhook endpoints")]
    TooManyEndpoints,
    /// The URL breaks a rule of `notify::ssrf::UrlPolicy`: the rule, never an address list.
    #[error("the webhook URL is not allowed: {0}")]
    UrlNotAllowed(String),
    #[error(
        "an endpoint holds at most {MAX_SECRETS} signing secrets; rotated-out secrets expire \
         24 hours after their rotation"
    )]
    TooManyRotations,
    /// Sealing or opening a secret failed; the text never contains the secret.
    #[error("a webhook secret could not be sealed or opened: {0}")]
    Sealing(String),
}
