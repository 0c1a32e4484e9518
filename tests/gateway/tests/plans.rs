//! Usage plans and the authorizer cache follow the template: each test serves a copy of the
//! bundled template with other numbers and shows the gateway obeys them.

mod common;

use common::{start, template_with};
use time::Duration;

const STANDARD_PLAN: &str = "      Throttle:\n        RateLimit: 50\n        BurstLimit: 100\n      Quota:\n        Limit: 100000\n        Period: DAY";

#[tokio::test]
async fn the_burst_is_throttled_and_refills_at_the_rate() {
    let plan = STANDARD_PLAN
        .replace("RateLimit: 50", "RateLimit: 1")
        .replace("BurstLimit: 100", "BurstLimit: 3");
    let gw = start(&template_with(&[(STANDARD_PLAN, &plan)])).await;
    let key = [("x-api-key", gw.seeded.api_key.as_str())];
    for _ in 0..3 {
        let ok = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
        assert_eq!(ok.status, 200);
    }
    let throttled = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.message(), "Too Many Requests");
    assert_eq!(
        throttled.header("x-amzn-errortype"),
        Some("ThrottlingException")
    );
    assert_eq!(throttled.header("retry-after"), Some("1"));

    gw.clock.advance(Duration::seconds(1));
    let refilled = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
    assert_eq!(refilled.status, 200);
    let again = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
    assert_eq!(again.status, 429, "one second refilled one token");
}

#[tokio::test]
async fn the_quota_is_counted_per_period() {
    let plan = STANDARD_PLAN.replace("Limit: 100000", "Limit: 2");
    let gw = start(&template_with(&[(STANDARD_PLAN, &plan)])).await;
    let key = [("x-api-key", gw.seeded.api_key.as_str())];
    for _ in 0..2 {
        let ok = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
        assert_eq!(ok.status, 200);
    }
    let spent = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
    assert_eq!(spent.status, 429);
    assert_eq!(spent.message(), "Limit Exceeded");
    assert_eq!(
        spent.header("x-amzn-errortype"),
        Some("LimitExceededException")
    );

    gw.clock.advance(Duration::days(1));
    let next_day = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
    assert_eq!(next_day.status, 200);
}

#[tokio::test]
async fn the_authorizer_runs_once_per_token_per_ttl() {
    let gw = start(&template_with(&[(
        "ReauthorizeEvery: 300",
        "ReauthorizeEvery: 5",
    )]))
    .await;
    let token = gw.token().await;
    // Issued a second later, so a different token (tokens are deterministic per claims).
    gw.clock.advance(Duration::seconds(1));
    let other = gw.token().await;
    assert_ne!(token, other);
    let account = gw.seeded.accounts[0];
    let balance = format!("/v1/accounts/{account}/balance");
    for _ in 0..3 {
        assert_eq!(gw.get(&balance, &token).await.status, 200);
    }
    assert_eq!(gw.gateway.authorizer_invocations(), 1);
    let transactions = format!("/v1/accounts/{account}/transactions");
    assert_eq!(gw.get(&transactions, &token).await.status, 200);
    assert_eq!(
        gw.gateway.authorizer_invocations(),
        1,
        "the cached policy covers every route"
    );
    assert_eq!(gw.get(&balance, &other).await.status, 200);
    assert_eq!(gw.gateway.authorizer_invocations(), 2, "cached per token");

    gw.clock.advance(Duration::seconds(4));
    assert_eq!(gw.get(&balance, &token).await.status, 200);
    assert_eq!(
        gw.gateway.authorizer_invocations(),
        2,
        "still within the TTL"
    );
    gw.clock.advance(Duration::seconds(1));
    assert_eq!(gw.get(&balance, &token).await.status, 200);
    assert_eq!(
        gw.gateway.authorizer_invocations(),
        3,
        "expired after the TTL"
    );
}

#[tokio::test]
async fn no_cache_when_reauthorize_every_is_zero() {
    let gw = start(&template_with(&[(
        "ReauthorizeEvery: 300",
        "ReauthorizeEvery: 0",
    )]))
    .await;
    let token = gw.token().await;
    let path = format!("/v1/accounts/{}/balance", gw.seeded.accounts[0]);
    for _ in 0..3 {
        assert_eq!(gw.get(&path, &token).await.status, 200);
    }
    assert_eq!(gw.gateway.authorizer_invocations(), 3);
}

#[tokio::test]
async fn the_stage_method_throttle_applies_to_every_key() {
    let gw = start(&template_with(&[
        ("ThrottlingRateLimit: 1000", "ThrottlingRateLimit: 1"),
        ("ThrottlingBurstLimit: 2000", "ThrottlingBurstLimit: 2"),
    ]))
    .await;
    let key = [("x-api-key", gw.seeded.api_key.as_str())];
    for _ in 0..2 {
        let ok = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
        assert_eq!(ok.status, 200);
    }
    let throttled = gw.send("GET", "/v1/.well-known/jwks.json", &key, "").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.message(), "Too Many Requests");
}
