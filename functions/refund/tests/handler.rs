//! The refund function, in-process, with REST v1 events against the in-memory store. Payments
//! are made and confirmed through the pay and confirm handlers, as a client makes them.

use paygate_shared::{AccountId, PaymentId, money::Currency};
use paygate_testkit::{Answer, Event, NowUtc, TestApi, answer, payment_event, payment_events};
use serde_json::{Value, json};

const ALL: &str = "payments:write payments:read accounts:read";

/// alice pays bob; carol is a third party.
struct World {
    api: TestApi,
    alice: AccountId,
    bob: AccountId,
    carol: AccountId,
}

impl World {
    async fn new() -> Self {
        let api = TestApi::new();
        let alice = api.account("alice", Currency::CNY, 10_000).await;
        let bob = api.account("bob", Currency::CNY, 0).await;
        let carol = api.account("carol", Currency::CNY, 0).await;
        Self {
            api,
            alice,
            bob,
            carol,
        }
    }

    fn token(&self, client: &str) -> String {
        self.api.token(client, ALL)
    }

    /// A payment of `amount` from `source` (of `payer`) to `destination`, captured at once
    /// when `confirm`.
    async fn pay(
        &self,
        payer: &str,
        source: AccountId,
        destination: AccountId,
        amount: i64,
        confirm: bool,
    ) -> String {
        let event = Event::new("POST", "/payments", "/payments")
            .bearer(&self.token(payer))
            .header("Idempotency-Key", format!("pay-{}", ulid_now()))
            .json(
                &json!({"source_account": source, "destination_account": destination,
                          "amount": amount, "currency": "CNY", "confirm": confirm}),
            );
        let created = answer(paygate_pay::handle(&self.api.deps, event.request()).await);
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }

    async fn settle(&self, id: &str, action: &'static str, body: Option<Value>) -> Answer {
        let resource = if action == "confirm" {
            "/payments/{payment_id}/confirm"
        } else {
            "/payments/{payment_id}/cancel"
        };
        let mut event = Event::new("POST", resource, format!("/payments/{id}/{action}"))
            .bearer(&self.token("alice"));
        if let Some(body) = body {
            event = event.json(&body);
        }
        answer(paygate_confirm::handle(&self.api.deps, event.request()).await)
    }

    async fn refund(&self, client: &str, id: &str, key: &str, body: Option<Value>) -> Answer {
        let mut event = Event::new(
            "POST",
            "/payments/{payment_id}/refunds",
            format!("/payments/{id}/refunds"),
        )
        .bearer(&self.token(client))
        .header("Idempotency-Key", key);
        if let Some(body) = body {
            event = event.json(&body);
        }
        answer(paygate_refund::handle(&self.api.deps, event.request()).await)
    }

    async fn refunds(&self, client: &str, id: &str) -> Answer {
        let event = Event::new(
            "GET",
            "/payments/{payment_id}/refunds",
            format!("/payments/{id}/refunds"),
        )
        .bearer(&self.token(client));
        answer(paygate_refund::handle(&self.api.deps, event.request()).await)
    }

    async fn payment(&self, id: &str) -> Value {
        let event = Event::new("GET", "/payments/{payment_id}", format!("/payments/{id}"))
            .bearer(&self.token("alice"));
        answer(paygate_pay::handle(&self.api.deps, event.request()).await).body
    }

    /// Everything a refused request must leave as it was: the two parties' balances, the
    /// payment and its refunds.
    async fn books(&self, id: &str) -> (Vec<(i64, i64)>, Value, Value) {
        let mut balances = Vec::new();
        for account in [self.alice, self.bob, self.carol] {
            balances.push(self.api.balance(account).await);
        }
        (
            balances,
            self.payment(id).await,
            self.refunds("alice", id).await.body,
        )
    }
}

fn ulid_now() -> String {
    PaymentId::generate(time::OffsetDateTime::now_utc()).to_string()
}

#[tokio::test]
async fn the_payee_refunds_in_parts_then_what_is_left() {
    let w = World::new().await;
    let id = w.pay("alice", w.alice, w.bob, 3_000, true).await;
    let first = w
        .refund(
            "bob",
            &id,
            "r-1",
            Some(json!({"amount": 1_000, "reason": "requested_by_customer"})),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let refund_id = first.body["id"].as_str().unwrap();
    assert!(refund_id.starts_with("re_"), "{refund_id}");
    assert_eq!(
        first.body,
        json!({"id": refund_id, "object": "refund", "payment_id": id, "amount": 1_000,
               "currency": "CNY", "status": "succeeded", "reason": "requested_by_customer",
               "created_at": "2026-11-22T10:00:00.000Z"})
    );
    assert_eq!(w.api.balance(w.alice).await, (8_000, 8_000));
    assert_eq!(w.api.balance(w.bob).await, (2_000, 2_000));
    let shown = w.payment(&id).await;
    assert_eq!(
        (
            &shown["status"],
            &shown["amount_captured"],
            &shown["amount_refunded"]
        ),
        (&json!("succeeded"), &json!(3_000), &json!(1_000))
    );

    // No amount: all that is left. A millisecond later, so "oldest first" below is an order of
    // time: refunds in the same millisecond are ordered by the random part of their ids.
    w.api.clock.advance(time::Duration::milliseconds(1));
    let rest = w.refund("bob", &id, "r-2", None).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(
        (&rest.body["amount"], &rest.body["reason"]),
        (&json!(2_000), &Value::Null)
    );
    assert_eq!(w.api.balance(w.alice).await, (10_000, 10_000));
    assert_eq!(w.api.balance(w.bob).await, (0, 0));
    assert_eq!(w.payment(&id).await["amount_refunded"], 3_000);

    // Nothing is left: any further refund exceeds the payment, naming what is left.
    let books = w.books(&id).await;
    for body in [None, Some(json!({"amount": 1}))] {
        let over = w.refund("bob", &id, "r-3", body.clone()).await;
        assert_eq!(
            (over.status, over.code()),
            (422, "refund_exceeds_payment"),
            "{body:?}"
        );
        assert!(
            over.body["detail"]
                .as_str()
                .unwrap()
                .ends_with(": 0 CNY minor units"),
            "{}",
            over.body
        );
    }
    assert_eq!(w.books(&id).await, books, "nothing written");

    // Both parties list the refunds, oldest first.
    for client in ["alice", "bob"] {
        let listed = w.refunds(client, &id).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(
            listed.body,
            json!({"object": "list", "data": [first.body, rest.body], "has_more": false,
                   "next_cursor": null})
        );
    }
}

#[tokio::test]
async fn a_partial_capture_is_refundable_up_to_what_was_captured() {
    let w = World::new().await;
    let id = w.pay("alice", w.alice, w.bob, 3_000, false).await;
    let captured = w
        .settle(&id, "confirm", Some(json!({"amount": 1_200})))
        .await;
    assert_eq!(captured.body["amount_captured"], 1_200, "{}", captured.body);
    let over = w
        .refund("bob", &id, "r-1", Some(json!({"amount": 1_201})))
        .await;
    assert_eq!((over.status, over.code()), (422, "refund_exceeds_payment"));
    assert!(
        over.body["detail"]
            .as_str()
            .unwrap()
            .ends_with(": 1200 CNY minor units"),
        "{}",
        over.body
    );
    let all = w.refund("bob", &id, "r-2", Some(json!({}))).await;
    assert_eq!(
        (all.status, &all.body["amount"]),
        (201, &json!(1_200)),
        "{}",
        all.body
    );
    assert_eq!(w.api.balance(w.alice).await, (10_000, 10_000));
    assert_eq!(w.api.balance(w.bob).await, (0, 0));
}

#[tokio::test]
async fn each_refund_is_counted_once_and_a_replay_not_at_all() {
    let mut w = World::new().await;
    let id = w.pay("alice", w.alice, w.bob, 3_000, false).await;
    let metrics = w.api.capture_metrics();
    let captured = w
        .settle(&id, "confirm", Some(json!({"amount": 1_200})))
        .await;
    assert_eq!(captured.status, 200, "{}", captured.body);
    let first = w
        .refund("bob", &id, "r-1", Some(json!({"amount": 500})))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let replay = w
        .refund("bob", &id, "r-1", Some(json!({"amount": 500})))
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let rest = w.refund("bob", &id, "r-2", None).await;
    assert_eq!(rest.body["amount"], 700, "{}", rest.body);
    let over = w
        .refund("bob", &id, "r-3", Some(json!({"amount": 1})))
        .await;
    assert_eq!(over.status, 422);
    assert_eq!(
        payment_events(&metrics),
        [
            payment_event("captured", "CNY", 1_200),
            payment_event("refunded", "CNY", 500),
            payment_event("refunded", "CNY", 700),
        ]
    );
    let functions: Vec<String> = metrics
        .with_metric(paygate_shared::metrics::DYNAMODB_ROUND_TRIPS)
        .iter()
        .map(|r| r["Function"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        functions,
        ["confirm", "refund", "refund", "refund", "refund"]
    );
}

#[tokio::test]
async fn only_the_payee_refunds_and_third_parties_see_nothing() {
    let w = World::new().await;
    let id = w.pay("alice", w.alice, w.bob, 3_000, true).await;
    let books = w.books(&id).await;
    let payer = w
        .refund("alice", &id, "r-1", Some(json!({"amount": 100})))
        .await;
    assert_eq!(
        (payer.status, payer.code()),
        (403, "not_payee"),
        "{}",
        payer.body
    );
    assert_eq!(
        payer.header("content-type"),
        Some("application/problem+json")
    );

    let missing = "pay_01KAAAAAAAAAAAAAAAAAAAAAAA";
    let none = w.refund("carol", missing, "r-1", None).await;
    assert_eq!((none.status, none.code()), (404, "payment_not_found"));
    let foreign = w.refund("carol", &id, "r-1", None).await;
    let listed = w.refunds("carol", &id).await;
    for got in [&foreign, &listed] {
        // Exactly the answer for a missing payment, but for the id named.
        assert_eq!(got.status, 404);
        assert_eq!(
            got.body.to_string(),
            none.body.to_string().replace(missing, &id)
        );
    }
    let reader = w.api.token("bob", "payments:read");
    let event = Event::new(
        "POST",
        "/payments/{payment_id}/refunds",
        format!("/payments/{id}/refunds"),
    )
    .bearer(&reader)
    .header("Idempotency-Key", "r-9");
    let scoped = answer(paygate_refund::handle(&w.api.deps, event.request()).await);
    assert_eq!((scoped.status, scoped.code()), (403, "insufficient_scope"));
    assert_eq!(w.books(&id).await, books, "nothing written");
}

#[tokio::test]
async fn only_a_succeeded_payment_is_refunded() {
    let w = World::new().await;
    let pending = w.pay("alice", w.alice, w.bob, 3_000, false).await;
    let canceled = w.pay("alice", w.alice, w.bob, 500, false).await;
    assert_eq!(w.settle(&canceled, "cancel", None).await.status, 200);
    for id in [&pending, &canceled] {
        let books = w.books(id).await;
        let got = w
            .refund("bob", id, "r-1", Some(json!({"amount": 100})))
            .await;
        assert_eq!(
            (got.status, got.code()),
            (409, "payment_not_captured"),
            "{}",
            got.body
        );
        assert_eq!(w.books(id).await, books, "nothing written");
    }
}

#[tokio::test]
async fn a_payee_without_the_funds_cannot_refund() {
    let w = World::new().await;
    let id = w.pay("alice", w.alice, w.bob, 3_000, true).await;
    // bob spends most of what he received.
    w.pay("bob", w.bob, w.carol, 2_500, true).await;
    let books = w.books(&id).await;
    let got = w
        .refund("bob", &id, "r-1", Some(json!({"amount": 600})))
        .await;
    assert_eq!(
        (got.status, got.code()),
        (422, "insufficient_funds"),
        "{}",
        got.body
    );
    assert_eq!(w.books(&id).await, books, "nothing written");
    let fits = w
        .refund("bob", &id, "r-2", Some(json!({"amount": 500})))
        .await;
    assert_eq!(fits.status, 201, "{}", fits.body);
    assert_eq!(w.api.balance(w.bob).await, (0, 0));
}

#[tokio::test]
async fn bad_bodies_are_a_400_naming_the_field_and_write_nothing() {
    let w = World::new().await;
    let id = w.pay("alice", w.alice, w.bob, 3_000, true).await;
    let books = w.books(&id).await;
    let cases = [
        (json!({"amount": 0}), "invalid_amount", "`amount`"),
        (json!({"amount": -5}), "invalid_amount", "`amount`"),
        (json!({"amount": 1.5}), "invalid_field", "`amount`"),
        (json!({"amount": "100"}), "invalid_field", "`amount`"),
        (json!({"reason": "because"}), "invalid_field", "`reason`"),
        (json!({"reason": 3}), "invalid_field", "`reason`"),
        (json!({"amount": 5, "note": "x"}), "invalid_field", "`note`"),
    ];
    for (body, code, named) in cases {
        let got = w.refund("bob", &id, "r-1", Some(body.clone())).await;
        assert_eq!(
            (got.status, got.code()),
            (400, code),
            "{body}: {}",
            got.body
        );
        assert!(
            got.body["detail"].as_str().unwrap().contains(named),
            "{body}: {}",
            got.body
        );
    }
    for raw in ["[1]", "{\"amount\": 5", "null"] {
        let event = Event::new(
            "POST",
            "/payments/{payment_id}/refunds",
            format!("/payments/{id}/refunds"),
        )
        .bearer(&w.token("bob"))
        .header("Idempotency-Key", "r-1")
        .header("Content-Type", "application/json")
        .raw_body(raw);
        let got = answer(paygate_refund::handle(&w.api.deps, event.request()).await);
        assert_eq!((got.status, got.code()), (400, "invalid_body"), "{raw}");
    }
    let keyless = Event::new(
        "POST",
        "/payments/{payment_id}/refunds",
        format!("/payments/{id}/refunds"),
    )
    .bearer(&w.token("bob"))
    .json(&json!({"amount": 5}));
    let got = answer(paygate_refund::handle(&w.api.deps, keyless.request()).await);
    assert_eq!((got.status, got.code()), (400, "idempotency_key_missing"));
    let bad_key = w.refund("bob", &id, "has space", None).await;
    assert_eq!(
        (bad_key.status, bad_key.code()),
        (400, "invalid_idempotency_key")
    );
    assert_eq!(w.books(&id).await, books, "nothing written");
}

#[tokio::test]
async fn a_retry_replays_the_first_answer_even_after_everything_is_refunded() {
    let w = World::new().await;
    let id = w.pay("alice", w.alice, w.bob, 3_000, true).await;
    let first = w.refund("bob", &id, "r-all", None).await;
    assert_eq!((first.status, &first.body["amount"]), (201, &json!(3_000)));
    assert_eq!(first.header("idempotent-replayed"), None);
    // `{}` and `{"amount": null}` are the same request as no body at all.
    for body in [None, Some(json!({})), Some(json!({"amount": null}))] {
        let again = w.refund("bob", &id, "r-all", body.clone()).await;
        assert_eq!(again.status, 201, "{body:?}: {}", again.body);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body, first.body);
    }
    assert_eq!(w.api.balance(w.bob).await, (0, 0), "refunded once");
    assert_eq!(w.api.balance(w.alice).await, (10_000, 10_000));

    // The same key for another request is refused, whatever it is: another amount, or the
    // same body for another payment.
    let other = w.pay("alice", w.alice, w.bob, 1_000, true).await;
    let reused = w
        .refund("bob", &id, "r-all", Some(json!({"amount": 5})))
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "idempotency_key_reused")
    );
    let elsewhere = w.refund("bob", &other, "r-all", None).await;
    assert_eq!(
        (elsewhere.status, elsewhere.code()),
        (422, "idempotency_key_reused")
    );
    assert_eq!(
        w.api.balance(w.bob).await,
        (1_000, 1_000),
        "nothing refunded"
    );
    assert_eq!(
        w.refunds("bob", &id).await.body["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn keys_are_scoped_to_the_client() {
    let w = World::new().await;
    // carol pays bob too; bob refunds both under one key, which no other client's key touches.
    let from_alice = w.pay("alice", w.alice, w.bob, 1_000, true).await;
    w.api
        .store
        .fund(
            w.carol,
            paygate_shared::Money::new(1_000, Currency::CNY),
            w.api.clock.now_utc(),
        )
        .await
        .unwrap();
    let from_carol = w.pay("carol", w.carol, w.bob, 1_000, true).await;
    let alices = w.pay("alice", w.alice, w.carol, 100, true).await;
    let by_carol = w.refund("carol", &alices, "shared-key", None).await;
    assert_eq!(by_carol.status, 201, "{}", by_carol.body);
    let by_bob = w.refund("bob", &from_alice, "shared-key", None).await;
    assert_eq!(by_bob.status, 201, "{}", by_bob.body);
    assert_eq!(by_bob.header("idempotent-replayed"), None);
    let second = w.refund("bob", &from_carol, "another-key", None).await;
    assert_eq!(second.status, 201, "{}", second.body);
}
