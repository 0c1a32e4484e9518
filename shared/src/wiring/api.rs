//! The account and payment endpoints (pay, confirm, balance, transactions): what their handlers
//! take, and how production builds it.

use std::sync::Arc;

use crate::{
    Clock,
    api::{Authenticator, serve::RoundTrips},
    config::PaymentSettings,
    metrics::Metrics,
    risk::RiskControl,
    store::Store,
};

/// What the account and payment endpoints are built from: injected, so the same handler code
/// serves Lambda, `cargo lambda watch`, the local gateway and the tests.
#[derive(Clone)]
pub struct ApiDeps {
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    pub clock: Arc<dyn Clock>,
    pub payments: PaymentSettings,
    pub round_trips: Option<RoundTrips>,
    /// Risk control: default rules, the per-sandbox rules and payee caches.
    pub risk: RiskControl,
    /// Business metrics (payment events, risk decisions, each request's round trips).
    pub metrics: Metrics,
}

/// Everything the account and payment endpoints need, from the environment: the tables, the
/// public-keys secret (`PAYGATE_PUBLIC_KEYS_SECRET`), the token and payment settings, the
/// metrics' namespace (`PAYGATE_METRICS_NAMESPACE`).
///
/// # Errors
/// A [`super::StartupError`] naming the missing or malformed variable.
#[cfg(all(feature = "dynamodb", feature = "secrets"))]
pub fn api_deps_from_env() -> Result<ApiDeps, super::StartupError> {
    use super::clients::{aws_base_config, dynamo_store, public_key_cache, secrets_client};
    use crate::{
        SystemClock,
        auth::Expectations,
        config::{Resources, TokenSettings, process_env},
    };

    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let tokens = TokenSettings::from_env(&env)?;
    let payments = PaymentSettings::from_env(&env)?;
    let risk = crate::risk::RiskSettings::from_env(&env)?;
    let metrics = Metrics::from_env(&env)?;
    let public_keys = env.required("PAYGATE_PUBLIC_KEYS_SECRET")?;
    let base = aws_base_config(&resources)?;
    let store = dynamo_store(&base, &resources);
    let secrets = secrets_client(&base, resources.secrets_endpoint.as_deref());
    let keys = public_key_cache(secrets, public_keys, tokens.key_cache_ttl);
    let counter = store.clone();
    Ok(ApiDeps {
        store: Arc::new(store),
        auth: Authenticator::new(keys, Expectations::new(tokens.issuer, tokens.audience)),
        clock: Arc::new(SystemClock),
        payments,
        round_trips: Some(Arc::new(move || counter.round_trips())),
        risk: RiskControl::new(risk),
        metrics,
    })
}
