//! A whole payment over real HTTP through the gateway: token, pay, confirm, balance,
//! transactions; plus what the gateway adds to every answer.

mod common;

use common::start_bundled;
use paygate_local::seed::DEMO_BALANCE;

#[tokio::test]
async fn token_pay_confirm_balance_transactions() {
    let gw = start_bundled().await;
    let token = gw.token().await;

    let created = gw
        .post("/v1/payments", &token, Some(gw.payment(2_500, false)))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["status"], "pending");
    assert!(created.header("x-amzn-requestid").is_some());
    let id = created.body["id"].as_str().expect("payment id").to_owned();

    let shown = gw.get(&format!("/v1/payments/{id}"), &token).await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(shown.body["id"], id.as_str());

    let confirmed = gw
        .post(&format!("/v1/payments/{id}/confirm"), &token, None)
        .await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(confirmed.body["status"], "succeeded");

    let [source, destination] = [gw.seeded.accounts[0], gw.seeded.accounts[1]];
    let balance = gw
        .get(&format!("/v1/accounts/{source}/balance"), &token)
        .await;
    assert_eq!(balance.status, 200, "{:?}", balance.body);
    assert_eq!(balance.body["balance"], DEMO_BALANCE - 2_500);
    let balance = gw
        .get(&format!("/v1/accounts/{destination}/balance"), &token)
        .await;
    assert_eq!(balance.body["balance"], DEMO_BALANCE + 2_500);

    let page = gw
        .get(
            &format!("/v1/accounts/{source}/transactions?limit=1"),
            &token,
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let entries = page.body["data"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "the query string reached the function");
    assert!(
        page.body["next_cursor"].is_string(),
        "the funding entry is on page two"
    );

    // The function's own errors pass through untouched (problem+json, not a gateway message).
    let unknown = gw.get("/v1/payments/pay_nope", &token).await;
    assert!(unknown.status >= 400 && unknown.status < 500);
    assert!(unknown.header("x-amzn-errortype").is_none());
    assert!(unknown.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn the_jwks_needs_only_the_api_key() {
    let gw = start_bundled().await;
    let jwks = gw
        .send(
            "GET",
            "/v1/.well-known/jwks.json",
            &[("x-api-key", &gw.seeded.api_key)],
            "",
        )
        .await;
    assert_eq!(jwks.status, 200, "{:?}", jwks.body);
    assert!(!jwks.body["keys"].as_array().expect("keys").is_empty());
}
