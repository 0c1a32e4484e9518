//! `GET /payments` and `GET /payments/{payment_id}` for both parties, in-process on the
//! in-memory store.

use paygate_shared::{AccountId, ReleaseReason, money::Currency};
use paygate_testkit::{Answer, Event, NowUtc, TestApi, answer};
use serde_json::json;

const ALL: &str = "payments:write payments:read accounts:read";

/// alice has two accounts (`a1`, `a2`), bob and carol one each.
struct World {
    api: TestApi,
    a1: AccountId,
    a2: AccountId,
    bob: AccountId,
    carol: AccountId,
}

impl World {
    async fn new() -> Self {
        let api = TestApi::new();
        let a1 = api.account("alice", Currency::CNY, 10_000).await;
        let a2 = api.account("alice", Currency::CNY, 10_000).await;
        let bob = api.account("bob", Currency::CNY, 10_000).await;
        let carol = api.account("carol", Currency::CNY, 10_000).await;
        Self {
            api,
            a1,
            a2,
            bob,
            carol,
        }
    }

    /// A payment a second after the previous one (so that newest-first is unambiguous).
    async fn pay(
        &self,
        payer: &str,
        from: AccountId,
        to: AccountId,
        amount: i64,
        confirm: bool,
    ) -> String {
        self.api.clock.advance(time::Duration::seconds(1));
        let event = Event::new("POST", "/payments", "/payments")
            .bearer(&self.api.token(payer, ALL))
            .header("Idempotency-Key", format!("{payer}-{amount}"))
            .json(&json!({"source_account": from, "destination_account": to,
                          "amount": amount, "currency": "CNY", "confirm": confirm}));
        let created = answer(paygate_pay::handle(&self.api.deps, event.request()).await);
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }

    async fn list(&self, client: &str, query: &[(&str, &str)]) -> Answer {
        let mut event =
            Event::new("GET", "/payments", "/payments").bearer(&self.api.token(client, ALL));
        for (name, value) in query {
            event = event.query(name, *value);
        }
        answer(paygate_pay::handle(&self.api.deps, event.request()).await)
    }

    /// The ids of a page, and its cursor.
    async fn ids(&self, client: &str, query: &[(&str, &str)]) -> (Vec<String>, Option<String>) {
        let page = self.list(client, query).await;
        assert_eq!(page.status, 200, "{query:?}: {}", page.body);
        assert_eq!(page.body["object"], "list");
        let cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        assert_eq!(page.body["has_more"], json!(cursor.is_some()));
        let ids = page.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, cursor)
    }
}

/// Five payments: alice pays bob (pending, then succeeded), alice pays carol from `a2`
/// (canceled), bob pays alice, carol pays bob. Oldest first.
async fn history(w: &World) -> [String; 5] {
    let p1 = w.pay("alice", w.a1, w.bob, 100, false).await;
    let p2 = w.pay("alice", w.a1, w.bob, 200, true).await;
    let p3 = w.pay("alice", w.a2, w.carol, 300, false).await;
    // Canceled through the store: the cancel route is the confirm function's.
    let payment = w
        .api
        .store
        .payment(p3.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = w.api.clock.now_utc();
    w.api
        .store
        .release(&payment, ReleaseReason::Canceled, now)
        .await
        .unwrap();
    let p4 = w.pay("bob", w.bob, w.a2, 400, true).await;
    let p5 = w.pay("carol", w.carol, w.bob, 500, true).await;
    [p1, p2, p3, p4, p5]
}

#[tokio::test]
async fn each_party_lists_its_side_newest_first() {
    let w = World::new().await;
    let [p1, p2, p3, p4, p5] = history(&w).await;
    assert_eq!(
        w.ids("alice", &[]).await,
        (vec![p3.clone(), p2.clone(), p1.clone()], None)
    );
    assert_eq!(
        w.ids("alice", &[("role", "payer")]).await.0,
        [p3.as_str(), &p2, &p1]
    );
    assert_eq!(w.ids("alice", &[("role", "payee")]).await.0, [p4.as_str()]);
    assert_eq!(
        w.ids("bob", &[("role", "payee")]).await.0,
        [p5.as_str(), &p2, &p1]
    );
    assert_eq!(w.ids("bob", &[]).await.0, [p4.as_str()]);
    assert_eq!(w.ids("carol", &[("role", "payee")]).await.0, [p3.as_str()]);
    assert_eq!(w.ids("dave", &[]).await, (vec![], None));

    // The view is the payment's, whichever party lists it.
    let page = w.list("bob", &[("role", "payee"), ("limit", "1")]).await;
    let shown = &page.body["data"][0];
    assert_eq!(
        (
            &shown["amount"],
            &shown["amount_captured"],
            &shown["amount_refunded"],
            &shown["status"]
        ),
        (&json!(500), &json!(500), &json!(0), &json!("succeeded"))
    );
}

#[tokio::test]
async fn filters_by_status_account_and_time() {
    let w = World::new().await;
    let [p1, p2, p3, _, _] = history(&w).await;
    let alice = |query: &'static [(&'static str, &'static str)]| w.ids("alice", query);
    assert_eq!(alice(&[("status", "pending")]).await.0, [p1.as_str()]);
    assert_eq!(
        alice(&[("status", "succeeded,canceled")]).await.0,
        [p3.as_str(), &p2]
    );
    assert_eq!(
        alice(&[("status", "expired")]).await.0,
        Vec::<String>::new()
    );
    let a1 = w.a1.to_string();
    let a2 = w.a2.to_string();
    assert_eq!(
        w.ids("alice", &[("account_id", &a1)]).await.0,
        [p2.as_str(), &p1]
    );
    assert_eq!(
        w.ids("alice", &[("account_id", &a2)]).await.0,
        [p3.as_str()]
    );
    assert_eq!(
        w.ids("alice", &[("account_id", &a1), ("status", "succeeded")])
            .await
            .0,
        [p2.as_str()]
    );
    // Payments are made a second apart from 10:00:00: p1 at :01, p2 at :02, p3 at :03.
    let window = [
        ("from", "2026-11-22T10:00:02Z"),
        ("to", "2026-11-22T10:00:03Z"),
    ];
    assert_eq!(
        w.ids("alice", &window).await.0,
        [p2.as_str()],
        "from inclusive, to exclusive"
    );
}

#[tokio::test]
async fn cursors_page_through_and_belong_to_their_query() {
    let w = World::new().await;
    let [p1, p2, p3, _, _] = history(&w).await;
    let (first, cursor) = w.ids("alice", &[("limit", "2")]).await;
    assert_eq!(first, [p3.as_str(), &p2]);
    let cursor = cursor.expect("a second page");
    let (second, last) = w.ids("alice", &[("limit", "2"), ("cursor", &cursor)]).await;
    assert_eq!((second, last), (vec![p1.clone()], None));

    // The same cursor with another role, filter or client is refused.
    let a1 = w.a1.to_string();
    for (client, query) in [
        (
            "alice",
            vec![("cursor", cursor.as_str()), ("role", "payee")],
        ),
        (
            "alice",
            vec![("cursor", cursor.as_str()), ("status", "pending")],
        ),
        (
            "alice",
            vec![("cursor", cursor.as_str()), ("account_id", a1.as_str())],
        ),
        ("bob", vec![("cursor", cursor.as_str())]),
        ("alice", vec![("cursor", "bm90IGEgY3Vyc29y")]),
    ] {
        let got = w.list(client, &query).await;
        assert_eq!(
            (got.status, got.code()),
            (400, "invalid_cursor"),
            "{client} {query:?}"
        );
    }
}

#[tokio::test]
async fn bad_parameters_are_a_400_naming_them() {
    let w = World::new().await;
    for (query, named) in [
        (vec![("role", "owner")], "`role`"),
        (vec![("status", "refunded")], "`status`"),
        (vec![("status", "pending,")], "`status`"),
        (vec![("account_id", "acc_x")], "`account_id`"),
        (vec![("limit", "0")], "`limit`"),
        (vec![("limit", "101")], "`limit`"),
        (vec![("from", "yesterday")], "`from`"),
        (vec![("to", "2026-13-01")], "`to`"),
        (vec![("sort", "asc")], "`sort`"),
    ] {
        let got = w.list("alice", &query).await;
        assert_eq!(
            (got.status, got.code()),
            (400, "invalid_query"),
            "{query:?}"
        );
        let detail = got.body["detail"].as_str().unwrap();
        assert!(detail.contains(named), "{query:?}: {detail}");
    }
    let read_only = w.api.token("alice", "accounts:read");
    let event = Event::new("GET", "/payments", "/payments").bearer(&read_only);
    let got = answer(paygate_pay::handle(&w.api.deps, event.request()).await);
    assert_eq!((got.status, got.code()), (403, "insufficient_scope"));
}

#[tokio::test]
async fn an_account_filter_names_one_of_the_callers_accounts() {
    let w = World::new().await;
    history(&w).await;
    // alice's own account with nothing on that side: an empty page.
    let a1 = w.a1.to_string();
    assert_eq!(
        w.ids("alice", &[("account_id", &a1), ("role", "payee")])
            .await,
        (vec![], None)
    );
    // Another client's account, with or without payments on it, answers as a missing one.
    let missing = AccountId::generate(time::OffsetDateTime::now_utc()).to_string();
    let none = w.list("alice", &[("account_id", &missing)]).await;
    assert_eq!((none.status, none.code()), (404, "account_not_found"));
    let bob = w.bob.to_string();
    for role in ["payer", "payee"] {
        let got = w
            .list("alice", &[("account_id", &bob), ("role", role)])
            .await;
        assert_eq!(got.status, 404, "{role}");
        assert_eq!(
            got.body.to_string(),
            none.body.to_string().replace(&missing, &bob),
            "{role}"
        );
    }
}

#[tokio::test]
async fn either_party_reads_a_payment_a_third_party_gets_404() {
    let w = World::new().await;
    let id = w.pay("alice", w.a1, w.bob, 100, false).await;
    let w = &w;
    let get = async |client: &str, id: &str| {
        let event = Event::new("GET", "/payments/{payment_id}", format!("/payments/{id}"))
            .bearer(&w.api.token(client, ALL));
        answer(paygate_pay::handle(&w.api.deps, event.request()).await)
    };
    let payer = get("alice", &id).await;
    let payee = get("bob", &id).await;
    assert_eq!((payer.status, payee.status), (200, 200));
    assert_eq!(payer.body, payee.body);
    let missing = "pay_01KAAAAAAAAAAAAAAAAAAAAAAA";
    let none = get("carol", missing).await;
    let foreign = get("carol", &id).await;
    assert_eq!((foreign.status, foreign.code()), (404, "payment_not_found"));
    assert_eq!(
        foreign.body.to_string(),
        none.body.to_string().replace(missing, &id)
    );
}
