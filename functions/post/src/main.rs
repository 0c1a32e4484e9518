//! Lambda entry point: wire once per sandbox, then post on every stream batch or schedule.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_post::handle;
use paygate_shared::{logging, wiring};

// One batch at a time per sandbox; its accounts' drains interleave on the one thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = wiring::post_deps_from_env()?;
    run(service_fn(async |event: LambdaEvent<serde_json::Value>| {
        handle(&deps, event.payload).await.map_err(Error::from)
    }))
    .await
}
