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
    assert_eq!(mine.body["as_of"], "2026-11-22T10:00:00Z");

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
