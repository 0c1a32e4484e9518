//! Production wiring, done once per sandbox: the public-keys secret
//! (`PAYGATE_PUBLIC_KEYS_SECRET`, required), an optional Secrets Manager endpoint
//! (`PAYGATE_SECRETS_ENDPOINT`) and the system clock. The signing-key secret comes with each
//! event.

use std::sync::Arc;

use paygate_shared::{
    SystemClock, aws,
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
    let endpoint = env.optional("PAYGATE_SECRETS_ENDPOINT");
    let base = aws::lambda_config(aws::Trust::for_endpoints([endpoint.as_deref()]))?;
    let config = match endpoint {
        Some(endpoint) => base.to_builder().endpoint_url(endpoint).build(),
        None => base,
    };
    Ok(RotateDeps {
        client: aws_sdk_secretsmanager::Client::new(&config),
        public_secret_id,
        clock: Arc::new(SystemClock),
    })
}
