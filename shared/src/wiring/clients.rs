//! The SDK clients, the DynamoDB store and the key caches the functions are built from, each
//! once per sandbox and each behind the feature that links its SDK: the one copy of the endpoint
//! override and of the key-cache builders every function uses.

use aws_config::SdkConfig;

use crate::{
    aws,
    config::{ConfigError, Resources},
};

#[cfg(feature = "secrets")]
use {
    crate::auth::{KeyCache, SecretsManagerPublicKeys, SecretsManagerSigningKeys},
    std::{sync::Arc, time::Duration},
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

/// The DynamoDB store named by `resources`.
#[cfg(feature = "dynamodb")]
pub fn dynamo_store(
    base: &SdkConfig,
    resources: &Resources,
) -> crate::store::dynamodb::DynamoStore {
    use crate::store::dynamodb::{DynamoStore, TableNames};

    DynamoStore::new(
        &with_endpoint(base, resources.dynamodb_endpoint.as_deref()),
        TableNames {
            accounts: resources.accounts_table.clone(),
            transactions: resources.transactions_table.clone(),
        },
    )
}

/// A Secrets Manager client, at `endpoint` when given (`PAYGATE_SECRETS_ENDPOINT`).
#[cfg(feature = "secrets")]
pub fn secrets_client(base: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&with_endpoint(base, endpoint))
}

/// A key cache over the public verification keys (the JWKS secret `secret_id`,
/// `PAYGATE_PUBLIC_KEYS_SECRET`): what every function but the token endpoint verifies with.
#[cfg(feature = "secrets")]
pub fn public_key_cache(
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
) -> Arc<KeyCache> {
    let source = SecretsManagerPublicKeys::new(client, secret_id);
    Arc::new(KeyCache::new(Arc::new(source), ttl))
}

/// A key cache over the private signing key (the secret `secret_id`,
/// `PAYGATE_SIGNING_KEY_SECRET`): current signs, previous still verifies. Only the token and
/// rotation functions may be given this secret.
#[cfg(feature = "secrets")]
pub fn signing_key_cache(
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
) -> Arc<KeyCache> {
    let source = SecretsManagerSigningKeys::new(client, secret_id);
    Arc::new(KeyCache::new(Arc::new(source), ttl))
}
