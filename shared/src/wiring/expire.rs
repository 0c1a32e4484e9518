//! The scheduled expire function: the store and the clock, nothing else (no HTTP layer, no
//! token verification, no Secrets Manager).

use std::sync::Arc;

use crate::{Clock, store::Store};

/// What a sweep of overdue holds is built from.
#[derive(Clone)]
pub struct ExpireDeps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

/// The expire function's dependencies, from the environment: the tables and the optional
/// DynamoDB endpoint.
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

    let resources = Resources::from_env(&process_env())?;
    let store = dynamo_store(&aws_base_config(&resources)?, &resources);
    Ok(ExpireDeps {
        store: Arc::new(store),
        clock: Arc::new(SystemClock),
    })
}
