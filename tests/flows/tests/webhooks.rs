//! Webhooks end to end through `paygate-local` (its own command line, `--webhook-retry-schedule
//! 1s,2s`), once on the embedded store and once on moto: a receiver on 127.0.0.1 verifies every
//! request with the `standardwebhooks` package from PyPI.
//!
//! A payer and a shop register endpoints, then pay, capture, refund, cancel and pay in one step
//! (also to themselves); a pending payment outlives its window and expires. Every event of the table reaches each client's endpoint once,
//! signed, its body exactly the event `GET /events/{id}` shows; `GET /events` lists exactly the
//! client's own events (another's is a 404); an endpoint subscribed to one type gets only
//! those. The retry behaviours are in `webhooks_retries.rs`.

mod webhooks_support;

use std::time::Duration;

use serde_json::{Value, json};
use webhooks_support::{
    Client, PAYER, PAYER_ACCOUNTS, SHOP,
    checks::{assert_delivered_once, endpoint, kinds, pairs},
    gateway::{InProcess, Store},
    payment,
    receiver::{Receiver, assert_all_verified},
};

async fn flow(store: Store) {
    let receiver = Receiver::start().await;
    let gateway = InProcess::start(&store, &[]).await;
    let payer = Client::login(gateway.addr, PAYER).await;
    let shop = Client::login(gateway.addr, SHOP).await;
    endpoint(&payer, &receiver, "/ok/payer", None).await;
    endpoint(&shop, &receiver, "/ok/shop", None).await;
    // Subscribed to one type: gets those events only.
    endpoint(
        &shop,
        &receiver,
        "/ok/shop-refunds",
        Some(&["refund.succeeded"]),
    )
    .await;

    // P1: held, captured in part, refunded in part. P2: canceled. P3: one step. P4: one step
    // between the payer's own accounts (both parties: one event each, not two).
    let p1 = payer.post_ok("/payments", payment(3_000, false), 201).await;
    let p1 = p1["id"].as_str().unwrap().to_owned();
    payer
        .post_ok(
            &format!("/payments/{p1}/confirm"),
            json!({"amount": 2_000}),
            200,
        )
        .await;
    let r1 = shop
        .post_ok(
            &format!("/payments/{p1}/refunds"),
            json!({"amount": 500}),
            201,
        )
        .await;
    let r1 = r1["id"].as_str().unwrap().to_owned();
    let p2 = payer.post_ok("/payments", payment(700, false), 201).await;
    let p2 = p2["id"].as_str().unwrap().to_owned();
    payer
        .post_ok(&format!("/payments/{p2}/cancel"), json!({}), 200)
        .await;
    let p3 = payer.post_ok("/payments", payment(400, true), 201).await;
    let p3 = p3["id"].as_str().unwrap().to_owned();
    let own = json!({"source_account": PAYER_ACCOUNTS[0], "destination_account": PAYER_ACCOUNTS[1],
                     "amount": 100, "currency": "CNY", "confirm": true});
    let p4 = payer.post_ok("/payments", own, 201).await;
    let p4 = p4["id"].as_str().unwrap().to_owned();

    // Each client's events are exactly the table's, and only its own.
    let payer_events = payer.events().await;
    let shop_events = shop.events().await;
    assert_eq!(
        kinds(&payer_events),
        pairs(&[
            ("payment.created", &p1),
            ("payment.succeeded", &p1),
            ("refund.succeeded", &r1),
            ("payment.created", &p2),
            ("payment.canceled", &p2),
            ("payment.created", &p3),
            ("payment.succeeded", &p3),
            ("payment.created", &p4),
            ("payment.succeeded", &p4),
        ]),
        "{payer_events:#?}"
    );
    assert_eq!(
        kinds(&shop_events),
        pairs(&[
            ("payment.succeeded", &p1),
            ("refund.succeeded", &r1),
            ("payment.succeeded", &p3),
        ]),
        "{shop_events:#?}"
    );
    let ids: Vec<&str> = payer_events
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first, "GET /events: newest first");
    for event in payer_events.iter().chain(&shop_events) {
        assert_eq!(event["object"], "event", "{event}");
        let object = &event["data"]["object"];
        let want = match event["type"].as_str().unwrap() {
            "payment.created" if event["data"]["object"]["id"] == p1.as_str() => "pending",
            "payment.created" => object["status"].as_str().unwrap_or("?"),
            "payment.succeeded" => "succeeded",
            "payment.canceled" => "canceled",
            "refund.succeeded" => "succeeded",
            other => panic!("unexpected type {other}"),
        };
        assert_eq!(object["status"], want, "{event}");
    }
    // Another client's event is a 404, exactly like a missing one.
    let theirs = shop.get(&format!("/events/{}", ids[0])).await;
    assert_eq!((theirs.status, theirs.code()), (404, "event_not_found"));

    assert_delivered_once(&payer, &receiver, "/ok/payer", &payer_events).await;
    assert_delivered_once(&shop, &receiver, "/ok/shop", &shop_events).await;
    let refunds: Vec<Value> = shop_events
        .iter()
        .filter(|e| e["type"] == "refund.succeeded")
        .cloned()
        .collect();
    assert_delivered_once(&shop, &receiver, "/ok/shop-refunds", &refunds).await;
    // Nothing else arrives there (a subscription is a filter, not a minimum).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received_at("/ok/shop-refunds").await.len(), 1);

    assert_all_verified(&receiver.received().await);
    gateway.stop().await;
}

/// `payment.expired`: a pending payment outlives `--payment-ttl-seconds 1`, the template's
/// expiry sweep releases it, and its payer's endpoint receives the event, signed, as
/// `GET /events/{id}` shows it; the payee hears nothing of a payment that never happened.
async fn expiry(store: Store) {
    let receiver = Receiver::start().await;
    let gateway = InProcess::start(&store, &["--payment-ttl-seconds", "1"]).await;
    let payer = Client::login(gateway.addr, PAYER).await;
    let shop = Client::login(gateway.addr, SHOP).await;
    endpoint(&payer, &receiver, "/ok/payer", None).await;
    endpoint(&shop, &receiver, "/ok/shop", None).await;
    let held = payer.post_ok("/payments", payment(900, false), 201).await;
    let held = held["id"].as_str().unwrap().to_owned();
    assert_eq!(
        held_until(&payer, &held).await,
        1,
        "the window is one second"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    gateway.sweep().await;

    let shown = payer.get(&format!("/payments/{held}")).await;
    assert_eq!(shown.body["status"], "expired", "{:?}", shown.body);
    let events = payer.events().await;
    assert_eq!(
        kinds(&events),
        pairs(&[("payment.created", &held), ("payment.expired", &held)]),
        "{events:#?}"
    );
    let expired = events
        .iter()
        .find(|e| e["type"] == "payment.expired")
        .unwrap();
    assert_eq!(expired["data"]["object"]["status"], "expired", "{expired}");
    assert_delivered_once(&payer, &receiver, "/ok/payer", &events).await;
    assert!(shop.events().await.is_empty(), "the payee has no event");
    assert!(receiver.received_at("/ok/shop").await.is_empty());
    gateway.stop().await;
}

/// Seconds between a payment's creation and the end of its window, as its view shows them.
async fn held_until(client: &Client, id: &str) -> i64 {
    let shown = client.get(&format!("/payments/{id}")).await;
    let at = |field: &str| {
        let text = shown.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {:?}", shown.body));
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    };
    (at("expires_at") - at("created_at")).whole_seconds()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_payment_expires_with_its_event_on_the_embedded_store() {
    expiry(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_payment_expires_with_its_event_on_dynamodb() {
    expiry(Store::fresh_moto("expiry")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_on_the_embedded_store() {
    flow(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_on_dynamodb() {
    flow(Store::fresh_moto("webhooks")).await;
}
