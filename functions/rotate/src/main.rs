//! Lambda entry point: wire once per sandbox, then run each rotation step Secrets Manager asks for.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_rotate::{RotationEvent, rotate};
use paygate_shared::{logging, wiring};

// One event at a time per sandbox: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = wiring::rotate_deps_from_env()?;
    run(service_fn(async |event: LambdaEvent<RotationEvent>| {
        rotate(&deps, event.payload).await
    }))
    .await
}
