//! The transactions function, in-process, with REST v1 events against the in-memory store.

use paygate_shared::{AccountId, Money, money::Currency};
use paygate_testkit::{Answer, Event, NowUtc, TestApi, answer};

async fn list(api: &TestApi, token: &str, account: AccountId, query: &[(&str, &str)]) -> Answer {
    let mut event = Event::new(
        "GET",
        "/accounts/{account_id}/transactions",
        format!("/accounts/{account}/transactions"),
    )
    .bearer(token);
    for (name, value) in query {
        event = event.query(name, *value);
    }
    answer(paygate_transactions::handle(&api.deps, event.request()).await)
}

#[tokio::test]
async fn pages_newest_first_with_a_cursor_bound_to_the_account() {
    let api = TestApi::new();
    let alice = api.account("alice", Currency::CNY, 0).await;
    let other = api.account("alice", Currency::CNY, 0).await;
    for amount in 1..=5 {
        api.clock.advance(time::Duration::seconds(1));
        api.store
            .fund(
                alice,
                Money::new(amount * 100, Currency::CNY),
                api.clock.now_utc(),
            )
            .await
            .unwrap();
    }
    let token = api.token("alice", "accounts:read");
    let first = list(&api, &token, alice, &[("limit", "2")]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let amounts: Vec<i64> = first.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [500, 400]);
    assert_eq!(first.body["data"][0]["balance_after"], 1_500);
    assert_eq!(first.body["data"][0]["direction"], "credit");
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = list(&api, &token, alice, &[("limit", "2"), ("cursor", &cursor)]).await;
    assert_eq!(second.body["data"][0]["amount"], 300);
    let last = list(&api, &token, alice, &[("limit", "10"), ("cursor", &cursor)]).await;
    assert_eq!(last.body["data"].as_array().unwrap().len(), 3);
    assert!(last.body["next_cursor"].is_null());

    let replayed = list(&api, &token, other, &[("cursor", &cursor)]).await;
    assert_eq!((replayed.status, replayed.code()), (400, "invalid_cursor"));
    let window = list(
        &api,
        &token,
        alice,
        &[
            ("from", "2026-11-22T10:00:02Z"),
            ("to", "2026-11-22T10:00:04Z"),
        ],
    )
    .await;
    let amounts: Vec<i64> = window.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [300, 200], "from inclusive, to exclusive");
}

#[tokio::test]
async fn bad_queries_and_foreign_accounts_are_refused() {
    let api = TestApi::new();
    let alice = api.account("alice", Currency::CNY, 100).await;
    let token = api.token("alice", "accounts:read");
    for query in [
        vec![("limit", "0")],
        vec![("limit", "101")],
        vec![("limit", "ten")],
        vec![("from", "yesterday")],
        vec![("limt", "5")],
    ] {
        let got = list(&api, &token, alice, &query).await;
        assert_eq!(
            (got.status, got.code()),
            (400, "invalid_query"),
            "{query:?}"
        );
    }
    let tampered = list(&api, &token, alice, &[("cursor", "djE6YWNjX3g6dHhuX3k")]).await;
    assert_eq!(tampered.code(), "invalid_cursor");
    let bob = api.token("bob", "accounts:read");
    let foreign = list(&api, &bob, alice, &[]).await;
    assert_eq!((foreign.status, foreign.code()), (404, "account_not_found"));
}

/// A page with entries proves ownership by the owner on each entry; an empty page falls back to
/// reading the account. Both refuse a foreign, missing or treasury account alike.
#[tokio::test]
async fn ownership_holds_for_full_and_empty_pages() {
    let api = TestApi::new();
    let alice = api.account("alice", Currency::CNY, 100).await;
    let quiet = api.account("alice", Currency::CNY, 0).await;
    let alice_token = api.token("alice", "accounts:read");
    let bob = api.token("bob", "accounts:read");
    let before_any = [("to", "2000-01-01T00:00:00Z")];

    let own_full = list(&api, &alice_token, alice, &[]).await;
    assert_eq!(own_full.status, 200, "{}", own_full.body);
    assert_eq!(own_full.body["data"].as_array().map(Vec::len), Some(1));
    for (account, query) in [(alice, &before_any[..]), (quiet, &[][..])] {
        let own_empty = list(&api, &alice_token, account, query).await;
        assert_eq!(own_empty.status, 200, "{}", own_empty.body);
        assert_eq!(own_empty.body["data"], serde_json::json!([]));
    }

    let treasury = paygate_shared::Account::treasury_id(Currency::CNY);
    let missing = AccountId::generate(time::OffsetDateTime::now_utc());
    let not_found = list(&api, &bob, missing, &[]).await;
    assert_eq!(
        (not_found.status, not_found.code()),
        (404, "account_not_found")
    );
    for (account, query) in [
        (alice, &[][..]),
        (alice, &before_any[..]),
        (quiet, &[][..]),
        (treasury, &[][..]),
        (treasury, &before_any[..]),
    ] {
        // The same answer as for a missing account, but for the id named.
        let got = list(&api, &bob, account, query).await;
        let expected = not_found
            .body
            .to_string()
            .replace(&missing.to_string(), &account.to_string());
        assert_eq!(got.status, 404, "{account} {query:?}");
        assert_eq!(got.body.to_string(), expected, "{account} {query:?}");
    }
}

/// The scope comes before the account id, and the account id before the query string.
#[tokio::test]
async fn checks_run_in_order_scope_then_id_then_query() {
    let api = TestApi::new();
    let list_raw = |token: &str, account: &str, query: Option<(&str, &str)>| {
        let mut event = Event::new(
            "GET",
            "/accounts/{account_id}/transactions",
            format!("/accounts/{account}/transactions"),
        )
        .bearer(token);
        if let Some((name, value)) = query {
            event = event.query(name, value);
        }
        event.request()
    };
    let reader = api.token("alice", "accounts:read");
    let writer = api.token("alice", "payments:write");
    let typo = Some(("limt", "5"));
    let cases = [
        (&writer, "acc_nope", typo, 403, "insufficient_scope"),
        (&reader, "acc_nope", typo, 400, "invalid_id"),
        (
            &reader,
            "acc_01KAAAAAAAAAAAAAAAAAAAAAAA",
            typo,
            400,
            "invalid_query",
        ),
    ];
    for (token, account, query, status, code) in cases {
        let request = list_raw(token, account, query);
        let got = answer(paygate_transactions::handle(&api.deps, request).await);
        assert_eq!((got.status, got.code()), (status, code), "{account}");
    }
    let request = list_raw(&reader, "acc_nope", None);
    let got = answer(paygate_transactions::handle(&api.deps, request).await);
    assert_eq!(
        got.body["detail"],
        format!(
            "`account_id`: {}",
            "acc_nope".parse::<AccountId>().unwrap_err()
        )
    );
}
