//! Lambda entry point: wire once per sandbox, then serve.

use lambda_http::{Error, run, service_fn};
use paygate_shared::{logging, wiring};

// One event at a time per sandbox: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = wiring::api_deps_from_env()?;
    run(service_fn(async |req| {
        Ok::<_, Error>(paygate_review::handle(&deps, req).await)
    }))
    .await
}
