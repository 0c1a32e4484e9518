//! `GET /accounts`: the caller's accounts with their balances, a page at a time, in-process on
//! the in-memory store.

use paygate_shared::{AccountId, Money, money::Currency};
use paygate_testkit::{Answer, Event, NowUtc, TestApi, answer};
use serde_json::json;

async fn list(api: &TestApi, token: &str, query: &[(&str, &str)]) -> Answer {
    let mut event = Event::new("GET", "/accounts", "/accounts").bearer(token);
    for (name, value) in query {
        event = event.query(name, *value);
    }
    answer(paygate_balance::handle(&api.deps, event.request()).await)
}

fn ids(page: &Answer) -> Vec<String> {
    page.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", page.body))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_callers_accounts_with_exact_balances_a_page_at_a_time() {
    let api = TestApi::new();
    let mut mine: Vec<AccountId> = Vec::new();
    for balance in [1_000, 2_000, 3_000] {
        api.clock.advance(time::Duration::seconds(1));
        mine.push(api.account("alice", Currency::CNY, balance).await);
    }
    let bobs = api.account("bob", Currency::CNY, 500).await;
    // A hold makes `available` differ from `balance`.
    let hold = paygate_shared::Payment::pending(
        paygate_shared::NewPayment {
            client_id: "alice".parse().unwrap(),
            payee: "bob".parse().unwrap(),
            source: mine[0],
            destination: bobs,
            amount: Money::new(400, Currency::CNY),
            description: None,
        },
        api.clock.now_utc(),
        time::Duration::minutes(15),
    )
    .unwrap();
    let record = paygate_shared::IdempotencyRecord {
        key: paygate_shared::IdempotencyKey::new("alice".parse().unwrap(), "k").unwrap(),
        fingerprint: paygate_shared::Fingerprint::of(&[b"test"]),
        payment_id: hold.id,
        response_status: 201,
        response_body: "{}".into(),
        created_at: api.clock.now_utc(),
        expires_at: api.clock.now_utc() + time::Duration::days(1),
    };
    api.store
        .create_payment(&hold, &record, api.clock.now_utc())
        .await
        .unwrap();

    let token = api.token("alice", "accounts:read");
    let all = list(&api, &token, &[]).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let mut expected: Vec<String> = mine.iter().map(ToString::to_string).collect();
    expected.sort();
    let mut listed = ids(&all);
    listed.sort();
    assert_eq!(
        listed, expected,
        "alice's accounts, no one else's, no treasury"
    );
    assert_eq!(
        (&all.body["has_more"], &all.body["next_cursor"]),
        (&json!(false), &json!(null))
    );
    let first = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == mine[0].to_string())
        .unwrap();
    assert_eq!(
        first,
        &json!({"id": mine[0], "object": "account", "currency": "CNY", "status": "active",
                "balance": 1_000, "available": 600, "created_at": "2026-11-22T10:00:01.000Z"})
    );

    // Two pages of two: every account once, in the order of the whole list.
    let page = list(&api, &token, &[("limit", "2")]).await;
    assert_eq!(page.body["has_more"], true, "{}", page.body);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = list(&api, &token, &[("limit", "2"), ("cursor", &cursor)]).await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(
        (&rest.body["has_more"], &rest.body["next_cursor"]),
        (&json!(false), &json!(null))
    );
    assert_eq!([ids(&page), ids(&rest)].concat(), ids(&all));

    // bob sees his one account, and alice's cursor is not his.
    let bob = api.token("bob", "accounts:read");
    assert_eq!(ids(&list(&api, &bob, &[]).await), [bobs.to_string()]);
    let stolen = list(&api, &bob, &[("cursor", &cursor)]).await;
    assert_eq!((stolen.status, stolen.code()), (400, "invalid_cursor"));
    assert_eq!(
        ids(&list(&api, &api.token("dave", "accounts:read"), &[]).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn bad_parameters_and_scopes_are_refused() {
    let api = TestApi::new();
    api.account("alice", Currency::CNY, 0).await;
    let token = api.token("alice", "accounts:read");
    for (query, code, named) in [
        (vec![("limit", "0")], "invalid_query", "`limit`"),
        (vec![("limit", "101")], "invalid_query", "`limit`"),
        // (A repeated parameter is refused too: `api::query`'s tests; these events cannot
        // carry one.)
        (vec![("owner", "bob")], "invalid_query", "`owner`"),
        (vec![("cursor", "bm90IGEgY3Vyc29y")], "invalid_cursor", ""),
    ] {
        let got = list(&api, &token, &query).await;
        assert_eq!((got.status, got.code()), (400, code), "{query:?}");
        assert!(
            got.body["detail"].as_str().unwrap().contains(named),
            "{query:?}: {}",
            got.body
        );
    }
    let payments_only = api.token("alice", "payments:read payments:write");
    let got = list(&api, &payments_only, &[]).await;
    assert_eq!((got.status, got.code()), (403, "insufficient_scope"));
}
