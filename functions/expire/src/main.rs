//! Lambda entry point: wire once per sandbox, then sweep on every scheduled event.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_expire::{ExpireDeps, sweep};
use paygate_shared::{SystemClock, config, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    paygate_shared::logging::init();
    let resources = config::Resources::from_env(&config::process_env())?;
    let store = wiring::dynamo_store(&wiring::aws_base_config(&resources)?, &resources);
    let deps = ExpireDeps {
        store: Arc::new(store),
        clock: Arc::new(SystemClock),
    };
    run(service_fn(async |_: LambdaEvent<serde_json::Value>| {
        sweep(&deps).await.map_err(Error::from)
    }))
    .await
}
