//! The API Gateway REQUEST authorizer: verifies tokens with the public keys only, and never
//! touches a table.

use std::sync::Arc;

use crate::{
    Clock,
    auth::{Expectations, KeyCache},
};

/// What the authorizer is built from: injected, so tests run it on static keys and a manual
/// clock.
#[derive(Debug, Clone)]
pub struct AuthorizerDeps {
    /// The public verification keys (current and previous).
    pub keys: Arc<KeyCache>,
    /// The issuer and audience a token must name.
    pub expected: Expectations,
    pub clock: Arc<dyn Clock>,
}

/// The authorizer's dependencies, from the environment: `PAYGATE_PUBLIC_KEYS_SECRET`
/// (required), `PAYGATE_SECRETS_ENDPOINT` (optional) and the token settings.
///
/// # Errors
/// A [`super::StartupError`] naming the missing or malformed variable.
#[cfg(feature = "secrets")]
pub fn authorizer_deps_from_env() -> Result<AuthorizerDeps, super::StartupError> {
    use super::clients::{public_key_cache, secrets_client};
    use crate::{
        SystemClock, aws,
        config::{TokenSettings, process_env},
    };

    let env = process_env();
    let tokens = TokenSettings::from_env(&env)?;
    let public_keys = env.required("PAYGATE_PUBLIC_KEYS_SECRET")?;
    let endpoint = env.optional("PAYGATE_SECRETS_ENDPOINT");
    let base = aws::lambda_config(aws::Trust::for_endpoints([endpoint.as_deref()]))?;
    let secrets = secrets_client(&base, endpoint.as_deref());
    Ok(AuthorizerDeps {
        keys: public_key_cache(secrets, public_keys, tokens.key_cache_ttl),
        expected: Expectations::new(tokens.issuer, tokens.audience),
        clock: Arc::new(SystemClock),
    })
}
