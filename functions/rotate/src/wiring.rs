//! Production wiring, done once per sandbox: the public-keys secret
//! (`PAYGATE_PUBLIC_KEYS_SECRET`, required), an optional Secrets Manager endpoint
//! (`PAYGATE_SECRETS_ENDPOINT`) and the system clock. The signing-key secret comes with each
//! event.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use paygate_shared::{
    SystemClock,
    config::{ConfigError, process_env},
};

use crate::RotateDeps;

/// The rotation function's dependencies, from the environment.
///
/// # Errors
/// A [`ConfigError`] naming the missing variable.
pub async fn deps_from_env() -> Result<RotateDeps, ConfigError> {
    let env = process_env();
    let public_secret_id = env.required("PAYGATE_PUBLIC_KEYS_SECRET")?;
    let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let config = match env.optional("PAYGATE_SECRETS_ENDPOINT") {
        Some(endpoint) => base.to_builder().endpoint_url(endpoint).build(),
        None => base,
    };
    Ok(RotateDeps {
        client: aws_sdk_secretsmanager::Client::new(&config),
        public_secret_id,
        clock: Arc::new(SystemClock),
    })
}
