//! The confirm function, in-process, with REST v1 events against the in-memory store.

use paygate_shared::{
    AccountId, Fingerprint, IdempotencyKey, IdempotencyRecord, Money, NewPayment, Payment,
    idempotency::RETENTION, money::Currency,
};
use paygate_testkit::{Answer, Event, NowUtc, TestApi, answer, payment_event, payment_events};

const WRITE: &str = "payments:write";

async fn hold(
    api: &TestApi,
    owner: &str,
    source: AccountId,
    destination: AccountId,
    amount: i64,
) -> Payment {
    let now = api.clock.now_utc();
    let payee = api.store.account_owner(destination).await.unwrap().unwrap();
    let new = NewPayment {
        client_id: owner.parse().unwrap(),
        payee,
        source,
        destination,
        amount: Money::new(amount, Currency::CNY),
        description: None,
    };
    let payment = Payment::pending(new, now, time::Duration::minutes(15)).unwrap();
    let record = IdempotencyRecord {
        key: IdempotencyKey::new(owner.parse().unwrap(), &payment.id.to_string()).unwrap(),
        fingerprint: Fingerprint::of(&[b"test"]),
        payment_id: payment.id,
        response_status: 201,
        response_body: "{}".into(),
        created_at: now,
        expires_at: now + RETENTION,
    };
    api.store
        .create_payment(&payment, &record, now)
        .await
        .unwrap();
    payment
}

async fn post(api: &TestApi, token: &str, id: &str, action: &'static str) -> Answer {
    let resource = if action == "confirm" {
        "/payments/{payment_id}/confirm"
    } else {
        "/payments/{payment_id}/cancel"
    };
    let event = Event::new("POST", resource, format!("/payments/{id}/{action}")).bearer(token);
    answer(paygate_confirm::handle(&api.deps, event.request()).await)
}

async fn setup() -> (TestApi, AccountId, AccountId) {
    let api = TestApi::new();
    let alice = api.account("alice", Currency::CNY, 10_000).await;
    let bob = api.account("bob", Currency::CNY, 0).await;
    (api, alice, bob)
}

#[tokio::test]
async fn confirm_captures_once_and_is_idempotent() {
    let (api, alice, bob) = setup().await;
    let payment = hold(&api, "alice", alice, bob, 3_000).await;
    let token = api.token("alice", WRITE);
    let id = payment.id.to_string();
    let first = post(&api, &token, &id, "confirm").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(api.balance(alice).await, (7_000, 7_000));
    assert_eq!(api.balance(bob).await, (3_000, 3_000));
    let again = post(&api, &token, &id, "confirm").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body, "unchanged");
    assert_eq!(
        api.balance(bob).await,
        (3_000, 3_000),
        "captured exactly once"
    );
    let cancel = post(&api, &token, &id, "cancel").await;
    assert_eq!((cancel.status, cancel.code()), (409, "payment_not_pending"));
}

#[tokio::test]
async fn cancel_releases_the_hold_and_is_idempotent() {
    let (api, alice, bob) = setup().await;
    let payment = hold(&api, "alice", alice, bob, 3_000).await;
    assert_eq!(api.balance(alice).await, (10_000, 7_000));
    let token = api.token("alice", WRITE);
    let id = payment.id.to_string();
    let canceled = post(&api, &token, &id, "cancel").await;
    assert_eq!(
        (canceled.status, canceled.body["status"].as_str()),
        (200, Some("canceled"))
    );
    assert_eq!(api.balance(alice).await, (10_000, 10_000));
    assert_eq!(post(&api, &token, &id, "cancel").await.status, 200);
    let confirm = post(&api, &token, &id, "confirm").await;
    assert_eq!(
        (confirm.status, confirm.code()),
        (409, "payment_not_pending")
    );
}

#[tokio::test]
async fn each_settlement_is_counted_once_and_a_retry_not_at_all() {
    let (mut api, alice, bob) = setup().await;
    let metrics = api.capture_metrics();
    let token = api.token("alice", WRITE);
    let captured = hold(&api, "alice", alice, bob, 3_000).await.id.to_string();
    let canceled = hold(&api, "alice", alice, bob, 1_000).await.id.to_string();
    let late = hold(&api, "alice", alice, bob, 2_000).await.id.to_string();
    for _ in 0..2 {
        assert_eq!(post(&api, &token, &captured, "confirm").await.status, 200);
        assert_eq!(post(&api, &token, &canceled, "cancel").await.status, 200);
    }
    assert_eq!(
        payment_events(&metrics),
        [
            payment_event("captured", "CNY", 3_000),
            payment_event("canceled", "CNY", 1_000),
        ],
        "the retries changed nothing and counted nothing"
    );
    // Refused: nothing changed, nothing counted.
    assert_eq!(post(&api, &token, &captured, "cancel").await.status, 409);

    // Too late: the first confirm releases the hold as expired, the second finds it expired.
    api.clock.advance(time::Duration::minutes(15));
    for _ in 0..2 {
        let answer = post(&api, &token, &late, "confirm").await;
        assert_eq!(answer.code(), "payment_expired");
    }
    assert_eq!(
        payment_events(&metrics)[2..],
        [payment_event("expired", "CNY", 2_000)]
    );
}

#[tokio::test]
async fn confirming_after_expiry_releases_and_answers_409() {
    let (api, alice, bob) = setup().await;
    let payment = hold(&api, "alice", alice, bob, 3_000).await;
    api.clock.advance(time::Duration::minutes(15));
    let token = api.token("alice", WRITE);
    let id = payment.id.to_string();
    let late = post(&api, &token, &id, "confirm").await;
    assert_eq!((late.status, late.code()), (409, "payment_expired"));
    assert_eq!(api.balance(alice).await, (10_000, 10_000), "hold released");
    assert_eq!(
        post(&api, &token, &id, "confirm").await.code(),
        "payment_expired"
    );
    assert_eq!(
        post(&api, &token, &id, "cancel").await.code(),
        "payment_expired"
    );
}

#[tokio::test]
async fn only_the_payer_with_the_write_scope_may_settle() {
    let (api, alice, bob) = setup().await;
    let payment = hold(&api, "alice", alice, bob, 3_000).await;
    let id = payment.id.to_string();
    // bob is the payee: he may see the payment, not settle it.
    let bob_token = api.token("bob", WRITE);
    for action in ["confirm", "cancel"] {
        let payee = post(&api, &bob_token, &id, action).await;
        assert_eq!((payee.status, payee.code()), (403, "not_payer"), "{action}");
    }
    let carol_token = api.token("carol", WRITE);
    let foreign = post(&api, &carol_token, &id, "confirm").await;
    assert_eq!((foreign.status, foreign.code()), (404, "payment_not_found"));
    let reader = api.token("alice", "payments:read");
    assert_eq!(post(&api, &reader, &id, "confirm").await.status, 403);
    assert_eq!(
        post(&api, &bob_token, "pay_nope", "cancel").await.code(),
        "invalid_id"
    );
    assert_eq!(api.balance(alice).await, (10_000, 7_000), "untouched");
    // Cancel takes no body (confirm takes `{"amount": n}`: tests/partial.rs).
    let with_body = Event::new(
        "POST",
        "/payments/{payment_id}/cancel",
        format!("/payments/{id}/cancel"),
    )
    .bearer(&api.token("alice", WRITE))
    .json(&serde_json::json!({"amount": 1}));
    let got = answer(paygate_confirm::handle(&api.deps, with_body.request()).await);
    assert_eq!((got.status, got.code()), (400, "invalid_body"));
}

/// The order of the checks is the API's: no caller (401), then no scope (403), then a body the
/// route does not take (400 `invalid_body`, on cancel: confirm takes one), then a malformed id
/// (400 `invalid_id`).
#[tokio::test]
async fn checks_run_in_order_scope_then_body_then_id() {
    let (api, _, _) = setup().await;
    let settle = |token: Option<&str>, id: &str, body: Option<&str>| {
        let mut event = Event::new(
            "POST",
            "/payments/{payment_id}/cancel",
            format!("/payments/{id}/cancel"),
        );
        if let Some(token) = token {
            event = event.bearer(token);
        }
        if let Some(body) = body {
            event = event.raw_body(body);
        }
        event.request()
    };
    let reader = api.token("alice", "payments:read");
    let writer = api.token("alice", WRITE);
    let body = Some(r#"{"amount": 1}"#);
    let cases = [
        (None, "pay_nope", body, 401, "invalid_token"),
        (Some(&reader), "pay_nope", body, 403, "insufficient_scope"),
        (Some(&writer), "pay_nope", body, 400, "invalid_body"),
        (Some(&writer), "pay_nope", Some("{}"), 400, "invalid_id"),
        (
            Some(&writer),
            "pay_01KAAAAAAAAAAAAAAAAAAAAAAA",
            None,
            404,
            "payment_not_found",
        ),
    ];
    for (token, id, body, status, code) in cases {
        let request = settle(token.map(String::as_str), id, body);
        let got = answer(paygate_confirm::handle(&api.deps, request).await);
        assert_eq!((got.status, got.code()), (status, code), "{id} {body:?}");
    }
    let request = settle(Some(&writer), "pay_nope", None);
    let got = answer(paygate_confirm::handle(&api.deps, request).await);
    assert_eq!(
        got.body["detail"],
        format!(
            "`payment_id`: {}",
            "pay_nope".parse::<paygate_shared::PaymentId>().unwrap_err()
        )
    );
}
