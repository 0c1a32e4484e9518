//! Lambda entry point: wire once per sandbox, then handle every stream or queue batch.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_notify::handle;
use paygate_shared::{logging, wiring};

// One batch at a time per sandbox; its records' attempts interleave on the one thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = wiring::notify_deps_from_env().await?;
    run(service_fn(async |event: LambdaEvent<serde_json::Value>| {
        Ok::<_, Error>(handle(&deps, event.payload).await)
    }))
    .await
}
