//! Lambda entry point: wire once per sandbox, then sweep on every scheduled event.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_expire::sweep;
use paygate_shared::{logging, wiring};

// One event at a time per sandbox: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = wiring::expire_deps_from_env()?;
    run(service_fn(async |_: LambdaEvent<serde_json::Value>| {
        sweep(&deps).await.map_err(Error::from)
    }))
    .await
}
