//! Production wiring, done once per sandbox before the first request: typed configuration from
//! the environment, AWS SDK clients, the DynamoDB store and the key cache. Mains call one
//! function from here and hand the result to their handler.

use std::sync::Arc;

use aws_config::SdkConfig;

use crate::{
    SystemClock,
    api::{ApiDeps, Authenticator},
    auth::{Expectations, KeyCache, SecretsManagerPublicKeys},
    aws,
    config::{ConfigError, PaymentSettings, Resources, TokenSettings, process_env},
    store::dynamodb::{DynamoStore, TableNames},
};

/// The shared SDK configuration, with `endpoint` overriding the service endpoint when given
/// (moto, a local emulator).
pub fn with_endpoint(base: &SdkConfig, endpoint: Option<&str>) -> SdkConfig {
    match endpoint {
        Some(endpoint) => base.to_builder().endpoint_url(endpoint).build(),
        None => base.clone(),
    }
}

/// The region and credentials from the Lambda environment, with paygate's HTTPS client trusting
/// what `resources`' endpoints need (see [`crate::aws`]).
///
/// # Errors
/// [`ConfigError::Missing`] without a region.
pub fn aws_base_config(resources: &Resources) -> Result<SdkConfig, ConfigError> {
    let endpoints = [
        resources.dynamodb_endpoint.as_deref(),
        resources.secrets_endpoint.as_deref(),
    ];
    aws::lambda_config(aws::Trust::for_endpoints(endpoints))
}

/// The DynamoDB store named by the environment.
pub fn dynamo_store(base: &SdkConfig, resources: &Resources) -> DynamoStore {
    DynamoStore::new(
        &with_endpoint(base, resources.dynamodb_endpoint.as_deref()),
        TableNames {
            accounts: resources.accounts_table.clone(),
            transactions: resources.transactions_table.clone(),
        },
    )
}

/// A key cache over the public verification keys (`PAYGATE_PUBLIC_KEYS_SECRET`): what every
/// function but the token endpoint verifies with.
///
/// # Errors
/// When the variable is missing.
pub fn public_key_cache(
    base: &SdkConfig,
    resources: &Resources,
    tokens: &TokenSettings,
) -> Result<Arc<KeyCache>, ConfigError> {
    let secret = process_env().required("PAYGATE_PUBLIC_KEYS_SECRET")?;
    let client = aws_sdk_secretsmanager::Client::new(&with_endpoint(
        base,
        resources.secrets_endpoint.as_deref(),
    ));
    let source = SecretsManagerPublicKeys::new(client, secret);
    Ok(Arc::new(KeyCache::new(
        Arc::new(source),
        tokens.key_cache_ttl,
    )))
}

/// Everything the account and payment endpoints need, from the environment.
///
/// # Errors
/// A [`ConfigError`] naming the missing or malformed variable.
pub async fn api_deps_from_env() -> Result<ApiDeps, ConfigError> {
    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let tokens = TokenSettings::from_env(&env)?;
    let payments = PaymentSettings::from_env(&env)?;
    let base = aws_base_config(&resources)?;
    let store = dynamo_store(&base, &resources);
    let keys = public_key_cache(&base, &resources, &tokens)?;
    let counter = store.clone();
    Ok(ApiDeps {
        store: Arc::new(store),
        auth: Authenticator::new(keys, Expectations::new(tokens.issuer, tokens.audience)),
        clock: Arc::new(SystemClock),
        payments,
        round_trips: Some(Arc::new(move || counter.round_trips())),
    })
}

// The token endpoint: the only function, with rotation, that reads the private signing key.

use crate::{Clock, api::serve::RoundTrips, auth::SecretsManagerSigningKeys, store::ClientStore};

/// What the token endpoint (`POST /oauth/token`, `GET /.well-known/jwks.json`) is built from:
/// injected, so the same handler serves Lambda, the local gateway and the tests.
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
}

/// A key cache over the private signing key (`PAYGATE_SIGNING_KEY_SECRET`): current signs,
/// previous still verifies. Only the token and rotation functions may be given this secret.
///
/// # Errors
/// When the variable is missing.
pub fn signing_key_cache(
    base: &SdkConfig,
    resources: &Resources,
    tokens: &TokenSettings,
) -> Result<Arc<KeyCache>, ConfigError> {
    let secret = process_env().required("PAYGATE_SIGNING_KEY_SECRET")?;
    let client = aws_sdk_secretsmanager::Client::new(&with_endpoint(
        base,
        resources.secrets_endpoint.as_deref(),
    ));
    let source = SecretsManagerSigningKeys::new(client, secret);
    Ok(Arc::new(KeyCache::new(
        Arc::new(source),
        tokens.key_cache_ttl,
    )))
}

/// Everything the token endpoint needs, from the environment: the DynamoDB store as the client
/// registry and the signing-key secret.
///
/// # Errors
/// A [`ConfigError`] naming the missing or malformed variable.
pub async fn token_deps_from_env() -> Result<TokenDeps, ConfigError> {
    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let tokens = TokenSettings::from_env(&env)?;
    let base = aws_base_config(&resources)?;
    let store = dynamo_store(&base, &resources);
    let keys = signing_key_cache(&base, &resources, &tokens)?;
    let counter = store.clone();
    Ok(TokenDeps {
        clients: Arc::new(store),
        keys,
        clock: Arc::new(SystemClock),
        tokens,
        round_trips: Some(Arc::new(move || counter.round_trips())),
    })
}
