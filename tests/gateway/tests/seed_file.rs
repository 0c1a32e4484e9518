//! `--seed FILE`: a seed in the documented shape, loaded and then used over HTTP.

mod common;

use std::sync::Arc;

use paygate_local::{Backend, Background, Gateway, seed};
use paygate_shared::ManualClock;
use paygate_template::Template;
use time::macros::datetime;

const SEED: &str = r#"{
  "clients": [{"client_id": "shop-1", "client_secret": "shop-1-secret", "scopes": ["payments:write", "payments:read", "accounts:read"], "api_key": "shop-1-api-key-000000000", "usage_plan": "standard"}],
  "accounts": [{"account_id": "acc_01KAS0SEED000000000000000A", "owner": "shop-1", "currency": "CNY", "balance": 100000}]
}"#;

#[tokio::test]
async fn a_seed_file_loads_clients_keys_and_funded_accounts() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
    let template = Template::bundled().unwrap();
    let mut gateway = Gateway::new(&template, Backend::in_memory(clock).unwrap()).unwrap();
    let file: seed::SeedFile = serde_json::from_str(SEED).unwrap();
    seed::load(&mut gateway, &file).await.unwrap();
    let server = Background::start(Arc::new(gateway)).await.unwrap();
    let addr = server.addr();

    let form = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-api-key", "shop-1-api-key-000000000"),
    ];
    let body = "grant_type=client_credentials&client_id=shop-1&client_secret=shop-1-secret";
    let token = common::send(addr, "POST", "/v1/oauth/token", &form, body).await;
    assert_eq!(token.status, 200, "{:?}", token.body);
    let bearer = format!("Bearer {}", token.body["access_token"].as_str().unwrap());
    let headers = [
        ("x-api-key", "shop-1-api-key-000000000"),
        ("authorization", bearer.as_str()),
    ];
    let balance = common::send(
        addr,
        "GET",
        "/v1/accounts/acc_01KAS0SEED000000000000000A/balance",
        &headers,
        "",
    )
    .await;
    assert_eq!(balance.status, 200, "{:?}", balance.body);
    assert_eq!(
        (
            balance.body["balance"].as_i64(),
            balance.body["available"].as_i64()
        ),
        (Some(100_000), Some(100_000))
    );

    let demo_key = [
        ("x-api-key", seed::DEMO_API_KEY),
        ("authorization", bearer.as_str()),
    ];
    let refused = common::send(
        addr,
        "GET",
        "/v1/accounts/acc_01KAS0SEED000000000000000A/balance",
        &demo_key,
        "",
    )
    .await;
    assert_eq!(
        refused.status, 403,
        "the demo seed is not loaded alongside a seed file"
    );
}

#[tokio::test]
async fn a_seed_naming_an_unknown_plan_is_refused() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
    let mut gateway = Gateway::new(
        &Template::bundled().unwrap(),
        Backend::in_memory(clock).unwrap(),
    )
    .unwrap();
    let file: seed::SeedFile =
        serde_json::from_str(&SEED.replace("\"standard\"", "\"gold\"")).unwrap();
    let error = seed::load(&mut gateway, &file).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the seed file is invalid: unknown usage plan `gold`"
    );
}
