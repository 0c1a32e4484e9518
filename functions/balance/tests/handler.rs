//! The balance function, in-process, with REST v1 events against the in-memory store.

use paygate_shared::money::Currency;
use paygate_testkit::{Event, TestApi, answer};

#[tokio::test]
async fn the_owner_reads_exact_balances_others_get_404() {
    let api = TestApi::new();
    let alice = api.account("alice", Currency::CNY, 12_345).await;
    let get = |token: &str, id: &str| {
        Event::new(
            "GET",
            "/accounts/{account_id}/balance",
            format!("/accounts/{id}/balance"),
        )
        .bearer(token)
    };
    let mine = answer(
        paygate_balance::handle(
            &api.deps,
            get(&api.token("alice", "accounts:read"), &alice.to_string()).request(),
        )
        .await,
    );
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["account_id"], alice.to_string());
    assert_eq!(
        (
            mine.body["balance"].as_i64(),
            mine.body["available"].as_i64()
        ),
        (Some(12_345), Some(12_345))
    );
    assert_eq!(mine.body["currency"], "CNY");
    assert_eq!(mine.body["as_of"], "2026-11-22T10:00:00.000Z");

    let bob = api.token("bob", "accounts:read");
    let foreign =
        answer(paygate_balance::handle(&api.deps, get(&bob, &alice.to_string()).request()).await);
    assert_eq!((foreign.status, foreign.code()), (404, "account_not_found"));
    let treasury = paygate_shared::Account::treasury_id(Currency::CNY).to_string();
    let system = answer(paygate_balance::handle(&api.deps, get(&bob, &treasury).request()).await);
    assert_eq!(system.status, 404, "nobody reads the treasury");
    let scopeless = api.token("alice", "payments:read");
    let denied = answer(
        paygate_balance::handle(&api.deps, get(&scopeless, &alice.to_string()).request()).await,
    );
    assert_eq!((denied.status, denied.code()), (403, "insufficient_scope"));
}

#[tokio::test]
async fn a_failing_store_is_a_clean_503_or_a_generic_500() {
    use paygate_shared::StoreError;
    use paygate_testkit::failing::FailingStore;
    use std::sync::Arc;
    let cases = [
        (
            StoreError::Unavailable("dynamodb: connection refused".into()),
            503,
            "service_unavailable",
        ),
        (
            StoreError::Internal("ValidationException: secret internals".into()),
            500,
            "internal_error",
        ),
    ];
    for (error, status, code) in cases {
        let api = TestApi::with_store(Arc::new(FailingStore(error)));
        let id = paygate_shared::AccountId::generate(paygate_testkit::T0);
        let event = Event::new(
            "GET",
            "/accounts/{account_id}/balance",
            format!("/accounts/{id}/balance"),
        )
        .bearer(&api.token("alice", "accounts:read"));
        let got = answer(paygate_balance::handle(&api.deps, event.request()).await);
        assert_eq!((got.status, got.code()), (status, code));
        assert_eq!(got.header("retry-after"), (status == 503).then_some("1"));
        let body = got.body.to_string();
        assert!(
            !body.contains("internals") && !body.contains("connection refused"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_readme_event_fixture_is_a_valid_rest_v1_event() {
    let api = TestApi::new();
    let event = include_str!("../events/get-balance.json");
    let request = lambda_http::request::from_str(event).expect("a REST v1 event");
    let got = answer(paygate_balance::handle(&api.deps, request).await);
    // The fixture carries the authorizer context of client `demo-client`, whose account is
    // unknown to a fresh store.
    assert_eq!((got.status, got.code()), (404, "account_not_found"));
}
