//! Lambda entry point: wire once per sandbox (the sealing key is read here, once), then serve.

use lambda_http::{Error, run, service_fn};
use paygate_shared::{logging, wiring};

// One event at a time per sandbox: one thread, no worker pool to start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let deps = wiring::webhook_deps_from_env().await?;
    run(service_fn(async |req| {
        Ok::<_, Error>(paygate_webhooks::handle(&deps, req).await)
    }))
    .await
}
