//! Lambda entry point: wire once per sandbox, then serve.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    paygate_shared::logging::init();
    let deps = paygate_shared::wiring::api_deps_from_env().await?;
    run(service_fn(async |req| {
        Ok::<_, Error>(paygate_transactions::handle(&deps, req).await)
    }))
    .await
}
