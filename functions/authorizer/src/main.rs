//! Lambda entry point: wire once per sandbox, then answer API Gateway's authorization requests.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use paygate_authorizer::{Request, authorize, wiring::deps_from_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    paygate_shared::logging::init();
    let deps = deps_from_env().await?;
    run(service_fn(async |event: LambdaEvent<Request>| {
        authorize(&deps, event.payload).await
    }))
    .await
}
