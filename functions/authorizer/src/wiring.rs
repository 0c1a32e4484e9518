//! Production wiring for the authorizer, done once per sandbox: the token settings and the
//! public-keys secret (`PAYGATE_PUBLIC_KEYS_SECRET`). Kept here rather than in
//! `paygate_shared::wiring`, which needs the `lambda` feature and so DynamoDB and the HTTP layer.

use std::sync::Arc;

use paygate_shared::{
    SystemClock,
    auth::{Expectations, KeyCache, SecretsManagerPublicKeys},
    aws,
    config::{ConfigError, TokenSettings, process_env},
};

use crate::AuthorizerDeps;

/// The authorizer's dependencies, from the environment: `PAYGATE_PUBLIC_KEYS_SECRET`
/// (required), `PAYGATE_SECRETS_ENDPOINT` (optional) and the token settings.
///
/// # Errors
/// A [`ConfigError`] naming the missing or malformed variable.
pub async fn deps_from_env() -> Result<AuthorizerDeps, ConfigError> {
    let env = process_env();
    let tokens = TokenSettings::from_env(&env)?;
    let secret = env.required("PAYGATE_PUBLIC_KEYS_SECRET")?;
    let endpoint = env.optional("PAYGATE_SECRETS_ENDPOINT");
    let base = aws::lambda_config(aws::Trust::for_endpoints([endpoint.as_deref()]))?;
    let config = match endpoint {
        Some(endpoint) => base.to_builder().endpoint_url(endpoint).build(),
        None => base,
    };
    let source =
        SecretsManagerPublicKeys::new(aws_sdk_secretsmanager::Client::new(&config), secret);
    Ok(AuthorizerDeps {
        keys: Arc::new(KeyCache::new(Arc::new(source), tokens.key_cache_ttl)),
        expected: Expectations::new(tokens.issuer, tokens.audience),
        clock: Arc::new(SystemClock),
    })
}
