//! The scheduled expire function: the store, the clock and the metrics, nothing else (no HTTP
//! layer, no token verification, no Secrets Manager).

use std::sync::Arc;

use crate::{Clock, metrics::Metrics, store::Store};

/// What a sweep of overdue holds is built from.
#[derive(Clone)]
pub struct ExpireDeps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Payments expired, and each sweep's round trips.
    pub metrics: Metrics,
}

/// The expire function's dependencies, from the environment: the tables, the optional
/// DynamoDB endpoint and the metrics' namespace.
///
/// # Errors
/// A [`super::StartupError`] naming the missing variable.
#[cfg(feature = "dynamodb")]
pub fn expire_deps_from_env() -> Result<ExpireDeps, super::StartupError> {
    use super::clients::{aws_base_config, dynamo_store};
    use crate::{
        SystemClock,
        config::{Resources, process_env},
    };

    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let store = dynamo_store(&aws_base_config(&resources)?, &resources);
    Ok(ExpireDeps {
        store: Arc::new(store),
        clock: Arc::new(SystemClock),
        metrics: Metrics::from_env(&env)?,
    })
}
