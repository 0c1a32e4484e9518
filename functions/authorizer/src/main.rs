//! Lambda entry point: wire once per sandbox, then answer API Gateway's authorization requests.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_authorizer::{Request, authorize};
use paygate_shared::{logging, wiring};

// One event at a time per sandbox: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = wiring::authorizer_deps_from_env()?;
    run(service_fn(async |event: LambdaEvent<Request>| {
        authorize(&deps, event.payload).await
    }))
    .await
}
