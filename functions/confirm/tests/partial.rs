//! Partial capture: `POST /payments/{payment_id}/confirm` with `{"amount": n}`, in-process on
//! the in-memory store, payments made through the pay handler as a client makes them.

use paygate_shared::{AccountId, money::Currency};
use paygate_testkit::{Answer, Event, TestApi, answer};
use serde_json::{Value, json};

const ALL: &str = "payments:write payments:read accounts:read";

struct World {
    api: TestApi,
    alice: AccountId,
    bob: AccountId,
}

impl World {
    async fn new() -> Self {
        let api = TestApi::new();
        let alice = api.account("alice", Currency::CNY, 10_000).await;
        let bob = api.account("bob", Currency::CNY, 0).await;
        Self { api, alice, bob }
    }

    /// alice holds `amount` for bob.
    async fn hold(&self, amount: i64) -> String {
        let event = Event::new("POST", "/payments", "/payments")
            .bearer(&self.api.token("alice", ALL))
            .header("Idempotency-Key", format!("hold-{amount}"))
            .json(
                &json!({"source_account": self.alice, "destination_account": self.bob,
                          "amount": amount, "currency": "CNY"}),
            );
        let created = answer(paygate_pay::handle(&self.api.deps, event.request()).await);
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }

    /// A confirm by `client` with `body` as written (`None`: no body at all).
    async fn confirm(&self, client: &str, id: &str, body: Option<&str>) -> Answer {
        let mut event = Event::new(
            "POST",
            "/payments/{payment_id}/confirm",
            format!("/payments/{id}/confirm"),
        )
        .bearer(&self.api.token(client, ALL));
        if let Some(body) = body {
            event = event
                .raw_body(body)
                .header("Content-Type", "application/json");
        }
        answer(paygate_confirm::handle(&self.api.deps, event.request()).await)
    }

    async fn books(&self, id: &str) -> ((i64, i64), (i64, i64), Value) {
        let event = Event::new("GET", "/payments/{payment_id}", format!("/payments/{id}"))
            .bearer(&self.api.token("alice", ALL));
        let shown = answer(paygate_pay::handle(&self.api.deps, event.request()).await);
        (
            self.api.balance(self.alice).await,
            self.api.balance(self.bob).await,
            shown.body,
        )
    }
}

#[tokio::test]
async fn a_partial_capture_posts_the_amount_and_releases_the_rest() {
    let w = World::new().await;
    let id = w.hold(3_000).await;
    assert_eq!(w.api.balance(w.alice).await, (10_000, 7_000));
    let captured = w.confirm("alice", &id, Some(r#"{"amount": 1200}"#)).await;
    assert_eq!(captured.status, 200, "{}", captured.body);
    assert_eq!(
        (
            &captured.body["status"],
            &captured.body["amount"],
            &captured.body["amount_captured"],
            &captured.body["amount_refunded"]
        ),
        (&json!("succeeded"), &json!(3_000), &json!(1_200), &json!(0))
    );
    assert_eq!(
        w.api.balance(w.alice).await,
        (8_800, 8_800),
        "rest released"
    );
    assert_eq!(w.api.balance(w.bob).await, (1_200, 1_200));

    // Retrying with the same amount, or none, answers the captured payment; another amount is
    // a conflict. Nothing moves either way.
    let books = w.books(&id).await;
    for body in [
        Some(r#"{"amount": 1200}"#),
        None,
        Some("{}"),
        Some(r#"{"amount": null}"#),
    ] {
        let again = w.confirm("alice", &id, body).await;
        assert_eq!(again.status, 200, "{body:?}: {}", again.body);
        assert_eq!(again.body, captured.body, "{body:?}");
    }
    for body in [r#"{"amount": 1000}"#, r#"{"amount": 3000}"#] {
        let other = w.confirm("alice", &id, Some(body)).await;
        assert_eq!(
            (other.status, other.code()),
            (409, "payment_not_pending"),
            "{body}"
        );
    }
    assert_eq!(w.books(&id).await, books);
}

#[tokio::test]
async fn no_body_captures_everything_and_the_whole_amount_is_a_full_capture() {
    let w = World::new().await;
    let all = w.hold(3_000).await;
    let captured = w.confirm("alice", &all, None).await;
    assert_eq!(captured.body["amount_captured"], 3_000, "{}", captured.body);
    let exact = w.hold(2_000).await;
    let captured = w
        .confirm("alice", &exact, Some(r#"{"amount": 2000}"#))
        .await;
    assert_eq!(captured.body["amount_captured"], 2_000, "{}", captured.body);
    let retried = w.confirm("alice", &exact, None).await;
    assert_eq!(retried.body, captured.body);
    assert_eq!(w.api.balance(w.alice).await, (5_000, 5_000));
    assert_eq!(w.api.balance(w.bob).await, (5_000, 5_000));
}

#[tokio::test]
async fn more_than_the_hold_is_refused_and_changes_nothing() {
    let w = World::new().await;
    let id = w.hold(3_000).await;
    let books = w.books(&id).await;
    let over = w.confirm("alice", &id, Some(r#"{"amount": 3001}"#)).await;
    assert_eq!(
        (over.status, over.code()),
        (422, "capture_exceeds_hold"),
        "{}",
        over.body
    );
    assert!(
        over.body["detail"]
            .as_str()
            .unwrap()
            .ends_with(": 3000 CNY minor units"),
        "{}",
        over.body
    );
    assert_eq!(w.books(&id).await, books);
    // Still pending: a valid amount afterwards captures.
    let fits = w.confirm("alice", &id, Some(r#"{"amount": 3000}"#)).await;
    assert_eq!(fits.body["amount_captured"], 3_000, "{}", fits.body);
}

#[tokio::test]
async fn bad_amounts_are_a_400_naming_the_field_and_change_nothing() {
    let w = World::new().await;
    let id = w.hold(3_000).await;
    let books = w.books(&id).await;
    let cases = [
        (r#"{"amount": 0}"#, "invalid_amount", "`amount`"),
        (r#"{"amount": -5}"#, "invalid_amount", "`amount`"),
        (r#"{"amount": 12.5}"#, "invalid_field", "`amount`"),
        (r#"{"amount": 1e3}"#, "invalid_field", "`amount`"),
        (r#"{"amount": "1200"}"#, "invalid_field", "`amount`"),
        (
            r#"{"amount": 99999999999999999999}"#,
            "invalid_field",
            "`amount`",
        ),
        (r#"{"amont": 5}"#, "invalid_field", "`amont`"),
        (r#"[1200]"#, "invalid_body", "object"),
        (r#"{"amount": 5"#, "invalid_body", "JSON"),
    ];
    for (body, code, named) in cases {
        let got = w.confirm("alice", &id, Some(body)).await;
        assert_eq!(
            (got.status, got.code()),
            (400, code),
            "{body}: {}",
            got.body
        );
        let detail = got.body["detail"].as_str().unwrap();
        assert!(detail.contains(named), "{body}: {detail}");
    }
    assert_eq!(w.books(&id).await, books);
}

#[tokio::test]
async fn the_payee_may_not_capture_and_nothing_changes() {
    let w = World::new().await;
    let id = w.hold(3_000).await;
    let books = w.books(&id).await;
    let payee = w.confirm("bob", &id, Some(r#"{"amount": 100}"#)).await;
    assert_eq!(
        (payee.status, payee.code()),
        (403, "not_payer"),
        "{}",
        payee.body
    );
    let stranger = w.confirm("carol", &id, Some(r#"{"amount": 100}"#)).await;
    assert_eq!(
        (stranger.status, stranger.code()),
        (404, "payment_not_found")
    );
    assert_eq!(w.books(&id).await, books);
}
