//! The gateway on DynamoDB and Secrets Manager (moto), started from the command line as a user
//! starts it: tables created from the template, a first signing key generated, the demo seed
//! loaded; the whole payment flow and the gateway's own answers over real HTTP; and a restart
//! on the same tables keeps every balance.

mod common;

use common::{on_moto, payment_flow, start_cli, unique};
use hyper::body::Bytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_flow_through_the_gateway_on_dynamodb() {
    let names = unique("gw");
    let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
    args.extend(on_moto(&names));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let (running, api) = start_cli(&args).await;
    let after = payment_flow(&api).await;
    assert_eq!(after["balance"].as_i64(), Some(100_000 - 1500));

    // The gateway's own answers do not depend on the store, but are checked here too.
    let token = api.token().await;
    let no_key = api
        .send(
            "GET",
            "/v1/accounts/acc_01KAS0DEM0000000000000000A/balance",
            &[("authorization", &format!("Bearer {token}"))],
            Bytes::new(),
        )
        .await;
    assert_eq!((no_key.status, no_key.message()), (403, "Forbidden"));
    let forged = api
        .get(
            "/v1/accounts/acc_01KAS0DEM0000000000000000A/balance",
            "e30.e30.e30",
        )
        .await;
    assert_eq!((forged.status, forged.message()), (401, "Unauthorized"));
    running.stop().await.expect("stops");

    // A second gateway on the same tables and secrets: the seed is already there (not funded
    // twice), the signing key is reused, the balances are as the first one left them.
    let (running, api) = start_cli(&args).await;
    let token = api.token().await;
    let balance = api
        .get(
            "/v1/accounts/acc_01KAS0DEM0000000000000000A/balance",
            &token,
        )
        .await;
    assert_eq!(balance.status, 200, "{:?}", balance.body);
    assert_eq!(balance.body["balance"].as_i64(), Some(100_000 - 1500));
    running.stop().await.expect("stops");
}

#[tokio::test]
async fn upstream_needs_the_shared_store() {
    use clap::Parser;
    let args = paygate_local::cli::Args::try_parse_from([
        "paygate-local",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        "cargo-lambda=http://127.0.0.1:9",
    ])
    .expect("parses");
    let refused = paygate_local::cli::start(&args).await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("--dynamodb-endpoint"), "{message}");
}
