//! The webhooks function (`/webhook_endpoints`, `/events`): the API's dependencies plus the
//! notification store, the sealer of webhook secrets and the rules webhook URLs must follow.

use std::sync::Arc;

use super::ApiDeps;
use crate::{notify::ssrf::UrlPolicy, store::NotificationStore, webhook::SecretSealer};

/// What the webhooks function is built from: injected, so Lambda, the local gateway and the
/// tests build the same thing.
#[derive(Clone)]
pub struct WebhookDeps {
    /// The token verification, clock and round-trip counter every route uses.
    pub api: ApiDeps,
    /// Seals secrets before they are stored, opens them for a replayed creation.
    pub sealer: Arc<dyn SecretSealer>,
    /// Checked at registration (and again by the notifier at each delivery).
    pub policy: UrlPolicy,
    /// Endpoints and events (the same DynamoDB table as `api.store` in production).
    pub notifications: Arc<dyn NotificationStore>,
}

/// Everything the webhooks function needs, from the environment: what [`super::api_deps_from_env`]
/// reads, and `PAYGATE_WEBHOOK_KEY_SECRET`, the Secrets Manager secret whose value is the
/// sealing key's material, read once here. URLs must be `https` to public addresses (as
/// [`UrlPolicy::from_env`] reads them).
///
/// # Errors
/// A [`super::StartupError`] naming the missing variable or the unreadable key secret.
#[cfg(all(feature = "dynamodb", feature = "secrets"))]
pub async fn webhook_deps_from_env() -> Result<WebhookDeps, super::StartupError> {
    use super::clients::{aws_base_config, dynamo_store, public_key_cache, secrets_client};
    use crate::{
        SystemClock,
        api::Authenticator,
        auth::Expectations,
        config::{ConfigError, PaymentSettings, Resources, TokenSettings, process_env},
    };

    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let tokens = TokenSettings::from_env(&env)?;
    let payments = PaymentSettings::from_env(&env)?;
    let public_keys = env.required("PAYGATE_PUBLIC_KEYS_SECRET")?;
    let key_secret = env.required("PAYGATE_WEBHOOK_KEY_SECRET")?;
    let policy = UrlPolicy::from_env(&env)?;
    let metrics = crate::metrics::Metrics::from_env(&env)?;
    let base = aws_base_config(&resources)?;
    // One store for the API's reads and the endpoints' and events' operations, so the request
    // log counts every round trip.
    let store = dynamo_store(&base, &resources);
    let secrets = secrets_client(&base, resources.secrets_endpoint.as_deref());
    let sealer = crate::webhook::sealer_from_secret(&secrets, &key_secret)
        .await
        .map_err(|e| ConfigError::Invalid {
            name: "PAYGATE_WEBHOOK_KEY_SECRET",
            why: e.to_string(),
        })?;
    let keys = public_key_cache(secrets, public_keys, tokens.key_cache_ttl);
    let counter = store.clone();
    let store = Arc::new(store);
    Ok(WebhookDeps {
        api: ApiDeps {
            store: store.clone(),
            auth: Authenticator::new(keys, Expectations::new(tokens.issuer, tokens.audience)),
            clock: Arc::new(SystemClock),
            payments,
            round_trips: Some(Arc::new(move || counter.round_trips())),
            risk: crate::risk::RiskControl::default(),
            metrics,
        },
        sealer: Arc::new(sealer),
        policy,
        notifications: store,
    })
}
