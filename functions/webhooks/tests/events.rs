//! `/events`, in-process over the in-memory store: the events the payment handlers wrote, listed
//! and shown to their recipient only (another client's event answers exactly as a missing one),
//! with their deliveries, and resent through the outbox.

mod support;

use paygate_shared::{
    EventId, WebhookEndpointId,
    event::{Attempt, AttemptOutcome, Delivery, DeliveryStatus, OutboxRecord},
    money::Currency,
    store::EventStore,
};
use paygate_testkit::{Event, NowUtc, answer};
use serde_json::{Value, json};
use support::World;
use time::Duration;

const URL: &str = "https://93.184.215.14/paygate/hooks";

/// alice pays bob `amount` (captured at once when `confirm`); the payment's id.
async fn pay(w: &World, amount: i64, confirm: bool, key: &str) -> String {
    let alice = w.api.account("alice", Currency::CNY, 10_000).await;
    let bob = w.api.account("bob", Currency::CNY, 0).await;
    let event = Event::new("POST", "/payments", "/payments")
        .bearer(&w.api.token("alice", "payments:write"))
        .header("Idempotency-Key", key)
        .json(
            &json!({"source_account": alice, "destination_account": bob, "amount": amount,
                      "currency": "CNY", "confirm": confirm}),
        );
    let paid = answer(paygate_pay::handle(&w.api.deps, event.request()).await);
    assert_eq!(paid.status, 201, "{}", paid.body);
    paid.body["id"].as_str().unwrap().to_owned()
}

async fn events(w: &World, client: &str, query: &[(&str, &str)]) -> paygate_testkit::Answer {
    let mut event = Event::new("GET", "/events", "/events").bearer(&w.token(client));
    for (name, value) in query {
        event = event.query(name, *value);
    }
    w.send(event).await
}

async fn show(w: &World, client: &str, id: &str) -> paygate_testkit::Answer {
    w.call(
        client,
        "GET",
        "/events/{event_id}",
        &format!("/events/{id}"),
    )
    .await
}

async fn resend(w: &World, client: &str, id: &str, body: Option<Value>) -> paygate_testkit::Answer {
    let mut event = Event::new(
        "POST",
        "/events/{event_id}/resend",
        format!("/events/{id}/resend"),
    )
    .bearer(&w.token(client));
    if let Some(body) = body {
        event = event.json(&body);
    }
    w.send(event).await
}

fn types(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_client_lists_its_own_events_newest_first_by_type_a_page_at_a_time() {
    let w = World::new();
    let pending = pay(&w, 100, false, "p-1").await;
    w.api.clock.advance(Duration::seconds(1));
    let captured = pay(&w, 200, true, "p-2").await;

    let alice = events(&w, "alice", &[]).await;
    assert_eq!(alice.status, 200, "{}", alice.body);
    assert_eq!(
        types(&alice.body),
        ["payment.succeeded", "payment.created", "payment.created"]
    );
    assert_eq!(alice.body["has_more"], false);
    assert_eq!(alice.body["next_cursor"], Value::Null);
    let newest = &alice.body["data"][0];
    assert_eq!(newest["object"], "event");
    assert_eq!(newest["data"]["object"]["id"], captured.as_str());
    assert_eq!(newest["data"]["object"]["status"], "succeeded");
    assert_eq!(
        alice.body["data"][2]["data"]["object"]["id"],
        pending.as_str()
    );
    // The payee hears of the capture only.
    let bob = events(&w, "bob", &[]).await;
    assert_eq!(types(&bob.body), ["payment.succeeded"]);
    assert_ne!(
        bob.body["data"][0]["id"], newest["id"],
        "one event per recipient"
    );

    let created = events(&w, "alice", &[("type", "payment.created,payment.created")]).await;
    assert_eq!(types(&created.body), ["payment.created", "payment.created"]);
    let refunds = events(&w, "alice", &[("type", "refund.succeeded")]).await;
    assert_eq!(refunds.body["data"], json!([]));

    // Pages of one, each continuing where the last stopped.
    let first = events(&w, "alice", &[("limit", "1")]).await;
    assert_eq!(first.body["has_more"], true);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = events(&w, "alice", &[("limit", "1"), ("cursor", &cursor)]).await;
    assert_eq!(second.body["data"][0], alice.body["data"][1]);
    // A cursor is bound to its client and its types.
    let stolen = events(&w, "bob", &[("cursor", &cursor)]).await;
    assert_eq!((stolen.status, stolen.code()), (400, "invalid_cursor"));
    let narrowed = events(
        &w,
        "alice",
        &[("cursor", &cursor), ("type", "payment.created")],
    )
    .await;
    assert_eq!((narrowed.status, narrowed.code()), (400, "invalid_cursor"));

    for query in [
        [("type", "payment.refunded")],
        [("type", "")],
        [("limit", "0")],
        [("limit", "101")],
        [("limt", "5")],
    ] {
        let refused = events(&w, "alice", &query).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "invalid_query"),
            "{query:?}"
        );
    }
}

#[tokio::test]
async fn an_event_is_shown_to_its_recipient_with_its_deliveries() {
    let w = World::new();
    pay(&w, 100, true, "p-1").await;
    let listed = events(&w, "bob", &[]).await;
    let event = listed.body["data"][0].clone();
    let id = event["id"].as_str().unwrap();

    let shown = show(&w, "bob", id).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let mut expected = event.clone();
    expected["deliveries"] = json!([]);
    assert_eq!(shown.body, expected);

    // A delivery record appears on the event: attempts, outcomes, next attempt.
    let now = w.api.clock.now_utc();
    let endpoint = WebhookEndpointId::generate(now);
    let delivery = Delivery {
        event_id: id.parse().unwrap(),
        endpoint_id: endpoint,
        status: DeliveryStatus::Pending,
        attempts: vec![
            Attempt {
                number: 1,
                at: now,
                outcome: AttemptOutcome::Status(500),
                manual: false,
            },
            Attempt {
                number: 2,
                at: now + Duration::seconds(5),
                outcome: AttemptOutcome::Error("timeout".to_owned()),
                manual: false,
            },
        ],
        next_attempt_at: Some(now + Duration::minutes(5)),
    };
    assert!(w.memory.record_delivery(&delivery, now).await.unwrap());
    let shown = show(&w, "bob", id).await;
    assert_eq!(
        shown.body["deliveries"],
        json!([{"endpoint_id": endpoint, "status": "pending", "attempts": [
            {"number": 1, "at": "2026-11-22T10:00:00.000Z", "response_status": 500,
             "error": null, "manual": false},
            {"number": 2, "at": "2026-11-22T10:00:05.000Z", "response_status": null,
             "error": "timeout", "manual": false}],
            "next_attempt_at": "2026-11-22T10:05:00.000Z"}])
    );
}

#[tokio::test]
async fn another_clients_event_is_answered_exactly_as_a_missing_one() {
    let w = World::new();
    pay(&w, 100, false, "p-1").await;
    let alices = events(&w, "alice", &[]).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let missing = EventId::generate(w.api.clock.now_utc()).to_string();
    for (method, resource, suffix) in [
        ("GET", "/events/{event_id}", ""),
        ("POST", "/events/{event_id}/resend", "/resend"),
    ] {
        let foreign = w
            .call(
                "bob",
                method,
                resource,
                &format!("/events/{alices}{suffix}"),
            )
            .await;
        let absent = w
            .call(
                "bob",
                method,
                resource,
                &format!("/events/{missing}{suffix}"),
            )
            .await;
        assert_eq!((foreign.status, foreign.code()), (404, "event_not_found"));
        // The same answer but for the id it names.
        let foreign = foreign.body.to_string().replace(&alices, "ID");
        assert_eq!(foreign, absent.body.to_string().replace(&missing, "ID"));
    }
    assert!(
        w.memory
            .take_outbox(100)
            .iter()
            .all(|r| !matches!(r, OutboxRecord::Resend { .. }))
    );
    // Past its 30 days an event is gone for its recipient too.
    assert_eq!(show(&w, "alice", &alices).await.status, 200);
    w.api
        .clock
        .advance(Duration::days(30) + Duration::milliseconds(1));
    assert_eq!(show(&w, "alice", &alices).await.code(), "event_not_found");
}

#[tokio::test]
async fn a_resend_goes_through_the_outbox_to_all_or_one_of_the_callers_endpoints() {
    let w = World::new();
    pay(&w, 100, false, "p-1").await;
    let id = events(&w, "alice", &[]).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (endpoint, _) = w.endpoint("alice", URL).await;
    let (bobs, _) = w.endpoint("bob", URL).await;
    w.memory.take_outbox(100);

    let all = resend(&w, "alice", &id, None).await;
    assert_eq!(all.status, 202, "{}", all.body);
    assert_eq!(
        all.body,
        json!({"object": "event_resend", "event_id": id, "endpoint_id": null,
               "requested_at": "2026-11-22T10:00:00.000Z"})
    );
    let one = resend(&w, "alice", &id, Some(json!({"endpoint_id": endpoint}))).await;
    assert_eq!(
        (one.status, one.body["endpoint_id"].as_str()),
        (202, Some(endpoint.as_str()))
    );
    let resends: Vec<Option<String>> = w
        .memory
        .take_outbox(100)
        .into_iter()
        .filter_map(|r| match r {
            OutboxRecord::Resend {
                event_id,
                recipient,
                endpoint,
                ..
            } => {
                assert_eq!(
                    (event_id.to_string(), recipient.as_str()),
                    (id.clone(), "alice")
                );
                Some(endpoint.map(|e| e.to_string()))
            }
            OutboxRecord::Event(_) => None,
        })
        .collect();
    assert_eq!(resends, [None, Some(endpoint.clone())]);

    // Only to the caller's own endpoints; a malformed body is refused; nothing is written.
    let foreign = resend(&w, "alice", &id, Some(json!({"endpoint_id": bobs}))).await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (404, "webhook_endpoint_not_found")
    );
    for (body, code) in [
        (json!({"endpoint_id": "we_x"}), "invalid_field"),
        (json!({"endpoint": endpoint}), "invalid_field"),
    ] {
        let refused = resend(&w, "alice", &id, Some(body)).await;
        assert_eq!((refused.status, refused.code()), (400, code));
    }
    assert!(w.memory.take_outbox(100).is_empty());
}
