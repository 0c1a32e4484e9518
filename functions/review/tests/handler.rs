//! Risk control through the handlers, in-process on the in-memory store: payments assessed by
//! the pay handler against their client's rules, decided by an operator through the review
//! handler, confirmed and canceled through the confirm handler.

use paygate_shared::{AccountId, money::Currency};
use paygate_testkit::{Answer, Event, TestApi, answer, payment_event, payment_events};
use serde_json::{Value, json};

const MERCHANT: &str = "payments:write payments:read accounts:read";
const REVIEWER: &str = "risk:review payments:read";

/// alice pays bob (and carol); desk is an operator.
struct World {
    api: TestApi,
    alice: AccountId,
    bob: AccountId,
    carol: AccountId,
    keys: std::cell::Cell<u32>,
}

impl World {
    async fn new(rules: Value) -> Self {
        let api = TestApi::new();
        api.client("alice", false, Some(rules)).await;
        api.client("bob", false, None).await;
        api.client("desk", true, None).await;
        let alice = api.account("alice", Currency::CNY, 100_000).await;
        let bob = api.account("bob", Currency::CNY, 0).await;
        let carol = api.account("carol", Currency::CNY, 0).await;
        Self {
            api,
            alice,
            bob,
            carol,
            keys: std::cell::Cell::new(0),
        }
    }

    fn key(&self) -> String {
        self.keys.set(self.keys.get() + 1);
        format!("key-{}", self.keys.get())
    }

    async fn pay_with_key(
        &self,
        destination: AccountId,
        amount: i64,
        confirm: bool,
        key: &str,
    ) -> Answer {
        let event = Event::new("POST", "/payments", "/payments")
            .bearer(&self.api.token("alice", MERCHANT))
            .header("Idempotency-Key", key)
            .json(
                &json!({"source_account": self.alice, "destination_account": destination,
                          "amount": amount, "currency": "CNY", "confirm": confirm}),
            );
        answer(paygate_pay::handle(&self.api.deps, event.request()).await)
    }

    async fn pay(&self, destination: AccountId, amount: i64, confirm: bool) -> Answer {
        let key = self.key();
        self.pay_with_key(destination, amount, confirm, &key).await
    }

    async fn decide(&self, who: &str, scopes: &str, id: &str, body: Value) -> Answer {
        let event = Event::new(
            "POST",
            "/payments/{payment_id}/review",
            format!("/payments/{id}/review"),
        )
        .bearer(&self.api.token(who, scopes))
        .json(&body);
        answer(paygate_review::handle(&self.api.deps, event.request()).await)
    }

    async fn reviews(&self, who: &str, query: &[(&str, &str)]) -> Answer {
        let mut event =
            Event::new("GET", "/reviews", "/reviews").bearer(&self.api.token(who, REVIEWER));
        for (name, value) in query {
            event = event.query(name, *value);
        }
        answer(paygate_review::handle(&self.api.deps, event.request()).await)
    }

    async fn confirm(&self, id: &str, action: &str) -> Answer {
        let resource = if action == "confirm" {
            "/payments/{payment_id}/confirm"
        } else {
            "/payments/{payment_id}/cancel"
        };
        let event = Event::new("POST", resource, format!("/payments/{id}/{action}"))
            .bearer(&self.api.token("alice", MERCHANT));
        answer(paygate_confirm::handle(&self.api.deps, event.request()).await)
    }

    async fn list(&self, status: &str) -> Vec<String> {
        let event = Event::new("GET", "/payments", "/payments")
            .bearer(&self.api.token("alice", MERCHANT))
            .query("status", status);
        let page = answer(paygate_pay::handle(&self.api.deps, event.request()).await);
        assert_eq!(page.status, 200, "{}", page.body);
        page.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn id(answer: &Answer) -> String {
    answer.body["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_payment_at_the_review_amount_is_held_for_an_operator_then_approved_once() {
    let w = World::new(json!({"review_amount": 50_000})).await;
    let small = w.pay(w.bob, 49_999, false).await;
    assert_eq!(small.status, 201, "{}", small.body);
    assert_eq!(small.body["status"], "pending");
    assert_eq!(small.body["risk"]["decision"], "allow");
    assert_eq!(w.confirm(&id(&small), "cancel").await.status, 200);

    let big = w.pay(w.bob, 50_000, false).await;
    assert_eq!(big.status, 201, "{}", big.body);
    assert_eq!(big.body["status"], "requires_review");
    assert_eq!(big.body["risk"]["decision"], "review");
    assert_eq!(big.body["risk"]["reasons"][0], "review_amount");
    let score = big.body["risk"]["score"].as_u64().unwrap();
    assert!((50..=100).contains(&score), "{score}");
    assert_eq!(
        w.api.balance(w.alice).await,
        (100_000, 50_000),
        "held as pending"
    );
    let refused = w.confirm(&id(&big), "confirm").await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "payment_not_pending"),
        "not confirmable in review"
    );

    let listed = w.reviews("desk", &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let data = listed.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["object"], "review");
    assert_eq!(data[0]["payer"], "alice");
    assert_eq!(data[0]["payee"], "bob");
    assert_eq!(data[0]["payment"]["id"], id(&big));

    let approved = w
        .decide(
            "desk",
            REVIEWER,
            &id(&big),
            json!({"decision": "approve", "note": "called the customer"}),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["status"], "pending");
    assert_eq!(approved.body["review"]["decision"], "approve");
    assert_eq!(approved.body["review"]["note"], "called the customer");
    let again = w
        .decide("desk", REVIEWER, &id(&big), json!({"decision": "approve"}))
        .await;
    assert_eq!((again.status, again.code()), (409, "payment_not_in_review"));
    let declined_late = w
        .decide("desk", REVIEWER, &id(&big), json!({"decision": "decline"}))
        .await;
    assert_eq!(
        declined_late.status, 409,
        "a second decision changes nothing"
    );
    let captured = w.confirm(&id(&big), "confirm").await;
    assert_eq!(captured.status, 200, "{}", captured.body);
    assert_eq!(captured.body["status"], "succeeded");
    assert_eq!(w.api.balance(w.alice).await, (50_000, 50_000));
    assert!(
        w.reviews("desk", &[]).await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_approval_captures_a_one_step_payment_and_a_decline_releases_the_hold() {
    let w = World::new(json!({"review_amount": 10_000})).await;
    let one_step = w.pay(w.bob, 20_000, true).await;
    assert_eq!(
        one_step.body["status"], "requires_review",
        "{}",
        one_step.body
    );
    let other = w.pay(w.bob, 30_000, false).await;
    assert_eq!(w.api.balance(w.alice).await, (100_000, 50_000));
    let approved = w
        .decide(
            "desk",
            REVIEWER,
            &id(&one_step),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(approved.body["status"], "succeeded", "{}", approved.body);
    assert_eq!(approved.body["amount_captured"], 20_000);
    assert_eq!(w.api.balance(w.bob).await, (20_000, 20_000));
    let declined = w
        .decide(
            "desk",
            REVIEWER,
            &id(&other),
            json!({"decision": "decline", "note": "mule account"}),
        )
        .await;
    assert_eq!(declined.body["status"], "declined", "{}", declined.body);
    assert_eq!(w.api.balance(w.alice).await, (80_000, 80_000), "released");
    assert_eq!(w.list("declined").await, [id(&other)]);
}

#[tokio::test]
async fn an_approval_that_captures_and_a_late_review_are_counted_once() {
    let mut w = World::new(json!({"review_amount": 10_000})).await;
    let metrics = w.api.capture_metrics();
    let one_step = id(&w.pay(w.bob, 20_000, true).await);
    let pending = id(&w.pay(w.bob, 30_000, false).await);
    let late = id(&w.pay(w.bob, 40_000, false).await);
    let approve = json!({"decision": "approve"});
    let approved = w.decide("desk", REVIEWER, &one_step, approve.clone()).await;
    assert_eq!(approved.body["status"], "succeeded", "{}", approved.body);
    let again = w.decide("desk", REVIEWER, &one_step, approve.clone()).await;
    assert_eq!(again.status, 409, "a second decision changes nothing");
    let to_pending = w.decide("desk", REVIEWER, &pending, approve.clone()).await;
    assert_eq!(to_pending.body["status"], "pending", "not a payment event");
    w.api.clock.advance(time::Duration::hours(2));
    // Too late: the first review releases the hold as expired; the second finds it expired.
    let first = w.decide("desk", REVIEWER, &late, approve.clone()).await;
    assert_eq!(first.code(), "payment_expired", "{}", first.body);
    let second = w.decide("desk", REVIEWER, &late, approve).await;
    assert_eq!(second.code(), "payment_not_in_review", "{}", second.body);
    assert_eq!(
        payment_events(&metrics),
        [
            payment_event("created", "CNY", 20_000),
            payment_event("created", "CNY", 30_000),
            payment_event("created", "CNY", 40_000),
            payment_event("captured", "CNY", 20_000),
            payment_event("expired", "CNY", 40_000),
        ]
    );
}

#[tokio::test]
async fn blocked_payees_are_declined_kept_and_replayed_as_declined() {
    let w = World::new(json!({"blocked_clients": ["bob"]})).await;
    let key = w.key();
    let declined = w.pay_with_key(w.bob, 500, true, &key).await;
    assert_eq!(
        (declined.status, declined.code()),
        (422, "payment_declined"),
        "{}",
        declined.body
    );
    assert_eq!(
        declined.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        declined.body["reasons"][0], "blocked_clients",
        "the deciding rule first"
    );
    let payment_id = declined.body["payment_id"].as_str().unwrap().to_owned();
    assert_eq!(
        w.api.balance(w.alice).await,
        (100_000, 100_000),
        "nothing held"
    );
    let replay = w.pay_with_key(w.bob, 500, true, &key).await;
    assert_eq!(replay.status, 422);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, declined.body);
    assert_eq!(w.list("declined").await, [payment_id]);
    // Another payee is fine.
    assert_eq!(w.pay(w.carol, 500, true).await.status, 201);
}

#[tokio::test]
async fn velocity_limits_refuse_and_a_first_payee_goes_to_review_once() {
    let w = World::new(json!({"max_payments_per_hour": 3, "new_payee_max_amount": 1_000})).await;
    let first = w.pay(w.bob, 1_500, false).await;
    assert_eq!(first.body["status"], "requires_review", "{}", first.body);
    let reasons = &first.body["risk"]["reasons"];
    assert!(
        reasons
            .as_array()
            .unwrap()
            .contains(&json!("new_payee_max_amount"))
            && reasons.as_array().unwrap().contains(&json!("new_payee")),
        "{reasons}"
    );
    let second = w.pay(w.bob, 1_500, false).await;
    assert_eq!(
        second.body["status"], "pending",
        "bob is known now: {}",
        second.body
    );
    assert!(
        !second.body["risk"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("new_payee"))
    );
    assert_eq!(w.pay(w.carol, 10, false).await.status, 201);
    let fourth = w.pay(w.carol, 10, false).await;
    assert_eq!(
        (fourth.status, fourth.code()),
        (422, "velocity_limit_exceeded"),
        "{}",
        fourth.body
    );
    let detail = fourth.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("max_payments_per_hour"), "{}", fourth.body);
}

#[tokio::test]
async fn only_operators_review_and_never_their_own_payments() {
    let w = World::new(json!({"review_amount": 1})).await;
    let held = w.pay(w.bob, 100, false).await;
    let payment = id(&held);
    // A merchant without the scope.
    let merchant = w
        .decide("alice", MERCHANT, &payment, json!({"decision": "approve"}))
        .await;
    assert_eq!(
        (merchant.status, merchant.code()),
        (403, "insufficient_scope")
    );
    // A token that carries the scope, but its client is not an operator.
    let forged = w
        .decide("bob", REVIEWER, &payment, json!({"decision": "approve"}))
        .await;
    assert_eq!((forged.status, forged.code()), (403, "not_operator"));
    assert_eq!(w.reviews("alice", &[]).await.code(), "not_operator");
    // An operator that is a party to the payment.
    w.api.client("shop-desk", true, None).await;
    let own_account = w.api.account("shop-desk", Currency::CNY, 0).await;
    let to_operator = w.pay(own_account, 100, false).await;
    let own = w
        .decide(
            "shop-desk",
            REVIEWER,
            &id(&to_operator),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!((own.status, own.code()), (403, "own_payment"));
    // Bad bodies.
    for body in [
        json!({"decision": "maybe"}),
        json!({"decision": "approve", "extra": 1}),
        json!({"decision": "approve", "note": "x".repeat(501)}),
        json!({}),
    ] {
        let bad = w.decide("desk", REVIEWER, &payment, body.clone()).await;
        assert_eq!(bad.status, 400, "{body}: {}", bad.body);
    }
    let missing = w
        .decide(
            "desk",
            REVIEWER,
            "pay_01KAS0DEM0000000000000000A",
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!((missing.status, missing.code()), (404, "payment_not_found"));
    // Nothing above changed the payment.
    assert_eq!(
        w.reviews("desk", &[]).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn reviews_page_oldest_first_with_opaque_cursors() {
    let w = World::new(json!({"review_amount": 1})).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(id(&w.pay(w.bob, 100, false).await));
        w.api.clock.advance(time::Duration::seconds(1));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let page = w.reviews("desk", &query).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for item in page.body["data"].as_array().unwrap() {
            seen.push(item["payment"]["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let bad = w.reviews("desk", &[("cursor", "bm9wZQ")]).await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_cursor"));
    let bad = w.reviews("desk", &[("limit", "101")]).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn every_decision_is_one_embedded_metric_line() {
    use paygate_shared::metrics::{Metrics, RISK_DECISIONS};

    let mut w = World::new(json!({"review_amount": 10_000, "blocked_clients": ["carol"]})).await;
    let (metrics, captured) = Metrics::capture("paygate/test-stack");
    w.api.deps.metrics = metrics;
    assert_eq!(w.pay(w.bob, 100, false).await.status, 201);
    assert_eq!(w.pay(w.bob, 10_000, false).await.status, 201);
    assert_eq!(w.pay(w.carol, 100, false).await.status, 422);
    let key = w.key();
    assert_eq!(w.pay_with_key(w.bob, 5, true, &key).await.status, 201);
    assert_eq!(
        w.pay_with_key(w.bob, 5, true, &key).await.status,
        201,
        "a replay"
    );
    let decisions: Vec<String> = captured
        .with_metric(RISK_DECISIONS)
        .iter()
        .map(|metric| {
            assert_eq!(
                metric["_aws"]["CloudWatchMetrics"][0]["Namespace"],
                "paygate/test-stack"
            );
            assert_eq!(metric["RiskDecisions"], 1);
            metric["Decision"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        decisions,
        ["allow", "review", "decline", "allow"],
        "one line per decision, none for the replay"
    );
    assert_eq!(
        payment_events(&captured),
        [
            payment_event("created", "CNY", 100),
            payment_event("created", "CNY", 10_000),
            payment_event("created", "CNY", 5),
            payment_event("captured", "CNY", 5),
        ],
        "a declined payment is risk control's metric only"
    );
}
