//! The pay handler, in-process, with REST v1 events against the in-memory store.

use paygate_shared::{metrics::DYNAMODB_ROUND_TRIPS, money::Currency};
use paygate_testkit::{Answer, Event, TestApi, answer, payment_event, payment_events};
use serde_json::{Value, json};

const ALL: &str = "payments:write payments:read accounts:read";

async fn call(api: &TestApi, event: Event) -> Answer {
    answer(paygate_pay::handle(&api.deps, event.request()).await)
}

fn create(token: &str, key: &str, body: &Value) -> Event {
    Event::new("POST", "/payments", "/payments")
        .bearer(token)
        .header("Idempotency-Key", key)
        .json(body)
}

async fn setup() -> (TestApi, String, String, String) {
    let api = TestApi::new();
    let alice_acc = api
        .account("alice", Currency::CNY, 10_000)
        .await
        .to_string();
    let bob_acc = api.account("bob", Currency::CNY, 0).await.to_string();
    let token = api.token("alice", ALL);
    (api, alice_acc, bob_acc, token)
}

#[tokio::test]
async fn a_payment_holds_funds_and_replays_idempotently() {
    let (api, alice, bob, token) = setup().await;
    let body = json!({"source_account": alice, "destination_account": bob, "amount": 2_500, "currency": "CNY", "description": "rent"});
    let first = call(&api, create(&token, "k-1", &body)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["status"], "pending");
    assert_eq!(first.body["amount"], 2_500);
    assert_eq!(first.body["currency"], "CNY");
    assert_eq!(first.body["description"], "rent");
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(api.balance(alice.parse().unwrap()).await, (10_000, 7_500));

    // The same request again, with fields in another order: the first answer, marked replayed.
    let reordered = json!({"currency": "CNY", "amount": 2_500, "description": "rent", "destination_account": bob, "source_account": alice});
    let replay = call(&api, create(&token, "k-1", &reordered)).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
    assert_eq!(
        api.balance(alice.parse().unwrap()).await,
        (10_000, 7_500),
        "no second hold"
    );

    let mut different = body.clone();
    different["amount"] = json!(2_501);
    let reused = call(&api, create(&token, "k-1", &different)).await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "idempotency_key_reused")
    );
    assert_eq!(
        reused.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn confirm_true_captures_at_once() {
    let (api, alice, bob, token) = setup().await;
    let body = json!({"source_account": alice, "destination_account": bob, "amount": 4_000, "currency": "CNY", "confirm": true});
    let created = call(&api, create(&token, "k-2", &body)).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["status"], "succeeded");
    assert_eq!(api.balance(alice.parse().unwrap()).await, (6_000, 6_000));
    assert_eq!(api.balance(bob.parse().unwrap()).await, (4_000, 4_000));
}

#[tokio::test]
async fn a_payment_is_counted_once_when_created_and_a_replay_not_at_all() {
    let (mut api, alice, bob, token) = setup().await;
    let metrics = api.capture_metrics();
    let held = json!({"source_account": alice, "destination_account": bob, "amount": 2_500, "currency": "CNY"});
    assert_eq!(call(&api, create(&token, "k-1", &held)).await.status, 201);
    assert_eq!(
        payment_events(&metrics),
        [payment_event("created", "CNY", 2_500)]
    );
    let replay = call(&api, create(&token, "k-1", &held)).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(payment_events(&metrics).len(), 1, "a replay counts nothing");

    // One step: created and captured, in that order, each once.
    let one_step = json!({"source_account": alice, "destination_account": bob, "amount": 4_000, "currency": "CNY", "confirm": true});
    assert_eq!(
        call(&api, create(&token, "k-2", &one_step)).await.status,
        201
    );
    assert_eq!(
        call(&api, create(&token, "k-2", &one_step)).await.status,
        201
    );
    assert_eq!(
        payment_events(&metrics),
        [
            payment_event("created", "CNY", 2_500),
            payment_event("created", "CNY", 4_000),
            payment_event("captured", "CNY", 4_000),
        ]
    );

    // Refused before anything is written: nothing counted.
    let too_much = json!({"source_account": alice, "destination_account": bob, "amount": 9_000, "currency": "CNY"});
    let refused = call(&api, create(&token, "k-3", &too_much)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(payment_events(&metrics).len(), 3);

    // Every request, whatever its answer, reports its round trips once (none in memory).
    let trips = metrics.with_metric(DYNAMODB_ROUND_TRIPS);
    assert_eq!(trips.len(), 5, "one per request");
    assert!(
        trips
            .iter()
            .all(|r| r["Function"] == "pay" && r[DYNAMODB_ROUND_TRIPS] == 0),
        "{trips:?}"
    );
}

#[tokio::test]
async fn bad_input_is_a_precise_400() {
    let (api, alice, bob, token) = setup().await;
    let base = json!({"source_account": alice, "destination_account": bob, "amount": 100, "currency": "CNY"});
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (with("amount", json!(0)), "invalid_amount", "amount"),
        (with("amount", json!(-5)), "invalid_amount", "amount"),
        (with("amount", json!(1.5)), "invalid_field", "amount"),
        (with("amount", json!("100")), "invalid_field", "amount"),
        (with("amount", json!(1e30)), "invalid_field", "amount"),
        (
            with("amount", json!(100_000_001)),
            "invalid_amount",
            "amount",
        ),
        (
            with("currency", json!("XAU")),
            "invalid_currency",
            "currency",
        ),
        (
            with("currency", json!("usd")),
            "invalid_currency",
            "currency",
        ),
        (
            with("source_account", json!("acc_' OR 1=1 --")),
            "invalid_field",
            "source_account",
        ),
        (with("surprise", json!(true)), "invalid_field", "surprise"),
        (
            with("description", json!("x".repeat(501))),
            "invalid_field",
            "description",
        ),
    ];
    for (i, (body, code, field)) in cases.into_iter().enumerate() {
        let got = call(&api, create(&token, &format!("bad-{i}"), &body)).await;
        assert_eq!(
            (got.status, got.code()),
            (400, code),
            "{body}: {}",
            got.body
        );
        assert!(
            got.body["detail"].as_str().unwrap().contains(field),
            "{}",
            got.body
        );
    }
    let huge = call(
        &api,
        create(&token, "huge", &json!({"x": "y".repeat(20_000)})),
    )
    .await;
    assert_eq!((huge.status, huge.code()), (413, "payload_too_large"));
    let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let deep = Event::new("POST", "/payments", "/payments")
        .bearer(&token)
        .header("Idempotency-Key", "deep")
        .raw_body(nested);
    assert_eq!(call(&api, deep).await.code(), "invalid_body");
    let nested_field = format!(
        "{{\"description\": {}{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let deep_field = Event::new("POST", "/payments", "/payments")
        .bearer(&token)
        .header("Idempotency-Key", "deep2")
        .raw_body(nested_field);
    assert_eq!(call(&api, deep_field).await.status, 400);
    let malformed = Event::new("POST", "/payments", "/payments")
        .bearer(&token)
        .header("Idempotency-Key", "m")
        .raw_body("{\"amount\":");
    assert_eq!(call(&api, malformed).await.code(), "invalid_body");
    let missing = Event::new("POST", "/payments", "/payments")
        .bearer(&token)
        .json(&base);
    assert_eq!(call(&api, missing).await.code(), "idempotency_key_missing");
    assert_eq!(
        api.balance(alice.parse().unwrap()).await,
        (10_000, 10_000),
        "nothing held"
    );
}

#[tokio::test]
async fn business_rules_answer_422_or_404() {
    let (api, alice, bob, token) = setup().await;
    let usd = api.account("bob", Currency::USD, 0).await.to_string();
    let carol = api.account("carol", Currency::CNY, 500).await.to_string();
    let pay = |source: &str, dest: &str, amount: i64| json!({"source_account": source, "destination_account": dest, "amount": amount, "currency": "CNY"});
    let cases = [
        (pay(&alice, &bob, 10_001), 422, "insufficient_funds"),
        (pay(&alice, &alice, 1), 422, "same_account"),
        (pay(&alice, &usd, 1), 422, "currency_mismatch"),
        (pay(&carol, &bob, 1), 404, "account_not_found"),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let got = call(&api, create(&token, &format!("rule-{i}"), &body)).await;
        assert_eq!((got.status, got.code()), (status, code), "{}", got.body);
    }
}

#[tokio::test]
async fn authentication_and_scopes_are_enforced() {
    let (api, alice, bob, _) = setup().await;
    let body = json!({"source_account": alice, "destination_account": bob, "amount": 1, "currency": "CNY"});
    let no_token = Event::new("POST", "/payments", "/payments")
        .header("Idempotency-Key", "a")
        .json(&body);
    let got = call(&api, no_token).await;
    assert_eq!((got.status, got.code()), (401, "invalid_token"));
    assert!(
        got.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let forged = call(&api, create("not.a.jwt", "b", &body)).await;
    assert_eq!(forged.status, 401);
    let read_only = api.token("alice", "payments:read");
    let got = call(&api, create(&read_only, "c", &body)).await;
    assert_eq!((got.status, got.code()), (403, "insufficient_scope"));
    // Behind API Gateway the authorizer's context is trusted, with no token to re-verify.
    let via_gateway = Event::new("POST", "/payments", "/payments")
        .authorized_as("alice", "payments:write")
        .header("Idempotency-Key", "d")
        .json(&body);
    assert_eq!(call(&api, via_gateway).await.status, 201);
}

#[tokio::test]
async fn a_payment_is_shown_to_its_parties_only() {
    let (api, alice, bob, token) = setup().await;
    let body = json!({"source_account": alice, "destination_account": bob, "amount": 10, "currency": "CNY"});
    let created = call(&api, create(&token, "k", &body)).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let get = |token: &str, id: &str| {
        Event::new("GET", "/payments/{payment_id}", format!("/payments/{id}")).bearer(token)
    };
    let mine = call(&api, get(&token, &id)).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body, created.body);
    // bob is the payee (tests/list.rs: either party reads it); carol is no party.
    let carol_token = api.token("carol", ALL);
    let theirs = call(&api, get(&carol_token, &id)).await;
    let missing = call(&api, get(&carol_token, "pay_01KAAAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!((theirs.status, theirs.code()), (404, "payment_not_found"));
    assert_eq!(theirs.body["title"], missing.body["title"]);
    assert_eq!(
        call(&api, get(&carol_token, "pay_%27%20OR%201%3D1"))
            .await
            .code(),
        "invalid_id"
    );
    let unknown_route = Event::new("GET", "/payments/{payment_id}", "/payments/x/y").bearer(&token);
    assert_eq!(call(&api, unknown_route).await.status, 404);
}

#[tokio::test]
async fn the_readme_event_fixture_is_a_valid_rest_v1_event() {
    let api = TestApi::new();
    let request = lambda_http::request::from_str(include_str!("../events/create-payment.json"))
        .expect("a REST v1 event");
    let got = answer(paygate_pay::handle(&api.deps, request).await);
    assert_eq!(
        (got.status, got.code()),
        (404, "account_not_found"),
        "{}",
        got.body
    );
}

#[tokio::test]
async fn a_key_still_in_flight_answers_409_with_retry_after() {
    use paygate_shared::IdempotencyError;
    use paygate_testkit::failing::FailingStore;
    use std::sync::Arc;
    let api = TestApi::with_store(Arc::new(FailingStore(IdempotencyError::KeyInFlight.into())));
    let token = api.token("alice", ALL);
    let body = json!({
        "source_account": "acc_01KAS0DEM0000000000000000A",
        "destination_account": "acc_01KAS0DEM0000000000000000B",
        "amount": 100,
        "currency": "CNY"
    });
    let got = call(&api, create(&token, "k-busy", &body)).await;
    assert_eq!((got.status, got.code()), (409, "idempotency_key_in_use"));
    assert_eq!(got.header("retry-after"), Some("1"));
}

/// A route's declared scope is checked before its path id is read.
#[tokio::test]
async fn the_scope_is_checked_before_the_payment_id() {
    let (api, _, _, _) = setup().await;
    let show = |token: &str| {
        let event = Event::new("GET", "/payments/{payment_id}", "/payments/pay_nope").bearer(token);
        event.request()
    };
    let writer = api.token("alice", "payments:write");
    let got = answer(paygate_pay::handle(&api.deps, show(&writer)).await);
    assert_eq!((got.status, got.code()), (403, "insufficient_scope"));
    let reader = api.token("alice", "payments:read");
    let got = answer(paygate_pay::handle(&api.deps, show(&reader)).await);
    assert_eq!((got.status, got.code()), (400, "invalid_id"));
}
