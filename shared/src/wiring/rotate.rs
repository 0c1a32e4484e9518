//! The Secrets Manager rotation function of the token signing key: Secrets Manager only, no
//! table and no HTTP layer. The signing-key secret comes with each event.

use std::sync::Arc;

use aws_sdk_secretsmanager::Client;

use crate::Clock;

/// What a rotation needs, built once per sandbox.
#[derive(Debug, Clone)]
pub struct RotateDeps {
    pub client: Client,
    /// The public JWKS secret (`PAYGATE_PUBLIC_KEYS_SECRET`) that `setSecret` publishes to.
    pub public_secret_id: String,
    /// The time new keys are created at (and their `kid`s ordered by).
    pub clock: Arc<dyn Clock>,
}

/// The rotation function's dependencies, from the environment: the public-keys secret
/// (`PAYGATE_PUBLIC_KEYS_SECRET`, required), an optional Secrets Manager endpoint
/// (`PAYGATE_SECRETS_ENDPOINT`) and the system clock.
///
/// # Errors
/// A [`super::StartupError`] naming the missing variable.
pub fn rotate_deps_from_env() -> Result<RotateDeps, super::StartupError> {
    use super::clients::secrets_client;
    use crate::{SystemClock, aws, config::process_env};

    let env = process_env();
    let public_secret_id = env.required("PAYGATE_PUBLIC_KEYS_SECRET")?;
    let endpoint = env.optional("PAYGATE_SECRETS_ENDPOINT");
    let base = aws::lambda_config(aws::Trust::for_endpoints([endpoint.as_deref()]))?;
    Ok(RotateDeps {
        client: secrets_client(&base, endpoint.as_deref()),
        public_secret_id,
        clock: Arc::new(SystemClock),
    })
}
