//! The token endpoint (authorize: `POST /oauth/token`, `GET /.well-known/jwks.json`), the only
//! function, with rotation, that reads the private signing key.

use std::sync::Arc;

use crate::{
    Clock, api::serve::RoundTrips, auth::KeyCache, config::TokenSettings, metrics::Metrics,
    store::ClientStore,
};

/// What the token endpoint is built from: injected, so the same handler serves Lambda, the local
/// gateway and the tests.
#[derive(Clone)]
pub struct TokenDeps {
    /// Where client registrations are read (one consistent read per token request).
    pub clients: Arc<dyn ClientStore>,
    /// The signing key (current) and the verifying keys (current and previous) for the JWKS.
    pub keys: Arc<KeyCache>,
    pub clock: Arc<dyn Clock>,
    /// The issuer, audience and lifetime of the tokens issued.
    pub tokens: TokenSettings,
    pub round_trips: Option<RoundTrips>,
    /// Each request's round trips.
    pub metrics: Metrics,
}

/// Everything the token endpoint needs, from the environment: the DynamoDB store as the client
/// registry and the signing-key secret (`PAYGATE_SIGNING_KEY_SECRET`).
///
/// # Errors
/// A [`super::StartupError`] naming the missing or malformed variable.
#[cfg(all(feature = "dynamodb", feature = "secrets"))]
pub fn token_deps_from_env() -> Result<TokenDeps, super::StartupError> {
    use super::clients::{aws_base_config, dynamo_store, secrets_client, signing_key_cache};
    use crate::{
        SystemClock,
        config::{Resources, process_env},
    };

    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let tokens = TokenSettings::from_env(&env)?;
    let signing_key = env.required("PAYGATE_SIGNING_KEY_SECRET")?;
    let metrics = Metrics::from_env(&env)?;
    let base = aws_base_config(&resources)?;
    let store = dynamo_store(&base, &resources);
    let secrets = secrets_client(&base, resources.secrets_endpoint.as_deref());
    let keys = signing_key_cache(secrets, signing_key, tokens.key_cache_ttl);
    let counter = store.clone();
    Ok(TokenDeps {
        clients: Arc::new(store),
        keys,
        clock: Arc::new(SystemClock),
        tokens,
        round_trips: Some(Arc::new(move || counter.round_trips())),
        metrics,
    })
}
