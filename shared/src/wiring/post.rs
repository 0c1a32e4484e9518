//! The post function: the poster over the store and the clock, and the metrics (no HTTP layer,
//! no token verification, no Secrets Manager).

use crate::{metrics::Metrics, poster::Poster};

/// What posting batched accounts' credits is built from.
#[derive(Clone, Debug)]
pub struct PostDeps {
    pub poster: Poster,
    /// Each invocation's round trips.
    pub metrics: Metrics,
}

/// The post function's dependencies, from the environment: the tables, the optional DynamoDB
/// endpoint and the metrics' namespace.
///
/// # Errors
/// A [`super::StartupError`] naming the missing variable.
#[cfg(feature = "dynamodb")]
pub fn post_deps_from_env() -> Result<PostDeps, super::StartupError> {
    use std::sync::Arc;

    use super::clients::{aws_base_config, dynamo_store};
    use crate::{
        SystemClock,
        config::{Resources, process_env},
    };

    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let store = dynamo_store(&aws_base_config(&resources)?, &resources);
    Ok(PostDeps {
        poster: Poster::new(Arc::new(store), Arc::new(SystemClock)),
        metrics: Metrics::from_env(&env)?,
    })
}
