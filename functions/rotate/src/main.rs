//! Lambda entry point: wire once per sandbox, then run each rotation step Secrets Manager asks for.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_rotate::{RotationEvent, rotate, wiring::deps_from_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    paygate_shared::logging::init();
    let deps = deps_from_env().await?;
    run(service_fn(async |event: LambdaEvent<RotationEvent>| {
        rotate(&deps, event.payload).await
    }))
    .await
}
