//! Webhooks end to end through `paygate-local` (its own command line, `--webhook-retry-schedule
//! 1s,2s`), once on the embedded store and once on moto: a receiver on 127.0.0.1 verifies every
//! request with the `standardwebhooks` package from PyPI.
//!
//! A payer and a shop register endpoints, then pay, capture, refund, cancel and pay in one step
//! (also to themselves). Every event of the table reaches each client's endpoint once,
//! signed, its body exactly the event `GET /events/{id}` shows; `GET /events` lists exactly the
//! client's own events; an endpoint answering 500 twice sees three attempts of each event with
//! the same `webhook-id`, each with the timestamp of its attempt, and the event ends delivered;
//! an endpoint answering 410 is disabled and gets nothing more.

mod webhooks_support;

use std::time::Duration;

use serde_json::{Value, json};
use webhooks_support::{
    Client, PAYER, PAYER_ACCOUNTS, SHOP,
    checks::{assert_delivered_once, endpoint, kinds, pairs},
    eventually,
    gateway::{InProcess, Store},
    payment,
    receiver::{Received, Receiver, assert_all_verified},
};

const WAIT: Duration = Duration::from_secs(60);

async fn flow(store: Store) {
    let receiver = Receiver::start().await;
    let gateway = InProcess::start(&store, &[]).await;
    let payer = Client::login(gateway.addr, PAYER).await;
    let shop = Client::login(gateway.addr, SHOP).await;
    let succeeded: &[&str] = &["payment.succeeded"];
    let refunds: &[&str] = &["refund.succeeded"];
    endpoint(&payer, &receiver, "/ok/payer", None).await;
    endpoint(&shop, &receiver, "/ok/shop", None).await;
    let failing = endpoint(&payer, &receiver, "/fail/2/payer", Some(succeeded)).await;
    let gone = endpoint(&shop, &receiver, "/gone/shop", Some(refunds)).await;

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

    // 500 twice, then 200: three attempts per event, one webhook-id, each attempt signed with
    // its own timestamp, the schedule's waits between them; the event ends delivered.
    let captures: Vec<&Value> = payer_events
        .iter()
        .filter(|e| e["type"] == "payment.succeeded")
        .collect();
    assert_eq!(captures.len(), 3);
    for event in captures {
        let id = event["id"].as_str().unwrap();
        let attempts = eventually(WAIT, &format!("three attempts of {id}"), || async {
            let got: Vec<Received> = receiver
                .received_at("/fail/2/payer")
                .await
                .into_iter()
                .filter(|r| r.webhook_id.as_deref() == Some(id))
                .collect();
            (got.len() >= 3).then_some(got)
        })
        .await;
        assert_all_verified(&attempts);
        let statuses: Vec<Option<u16>> = attempts.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [Some(500), Some(500), Some(200)], "{attempts:?}");
        let times: Vec<i64> = attempts.iter().map(Received::timestamp).collect();
        assert!(
            times[1] > times[0] && times[2] >= times[1] + 2,
            "each attempt's own timestamp, 1 s then 2 s apart at least: {times:?}"
        );
        assert!(
            attempts.iter().all(|r| r.body == attempts[0].body),
            "the same bytes"
        );
        let record = eventually(WAIT, &format!("{id} delivered to {failing}"), || async {
            let detail = payer.event(id).await;
            let record = detail["deliveries"].as_array().and_then(|d| {
                d.iter()
                    .find(|d| d["endpoint_id"] == failing.as_str())
                    .cloned()
            });
            record.filter(|r| r["status"] == "delivered")
        })
        .await;
        let logged: Vec<&Value> = record["attempts"].as_array().unwrap().iter().collect();
        assert_eq!(logged.len(), 3, "{record}");
        assert_eq!(
            logged
                .iter()
                .map(|a| a["status"].as_u64())
                .collect::<Vec<_>>(),
            [Some(500), Some(500), Some(200)],
            "{record}"
        );
    }

    // 410 disables the endpoint: a second refund is not sent to it.
    let refunded = receiver.received_at("/gone/shop").await;
    assert_eq!(refunded.len(), 1, "{refunded:?}");
    assert_eq!(
        refunded[0].webhook_id.as_deref(),
        shop_events
            .iter()
            .find(|e| e["type"] == "refund.succeeded")
            .and_then(|e| e["id"].as_str())
    );
    let disabled = eventually(WAIT, "the 410 endpoint disabled", || async {
        let shown = shop.get(&format!("/webhook_endpoints/{gone}")).await;
        (shown.body["status"] == "disabled").then_some(shown)
    })
    .await;
    assert_eq!(disabled.status, 200);
    let r2 = shop
        .post_ok(
            &format!("/payments/{p1}/refunds"),
            json!({"amount": 100}),
            201,
        )
        .await;
    let r2 = r2["id"].as_str().unwrap();
    eventually(WAIT, "the second refund at /ok/shop", || async {
        let got = receiver.received_at("/ok/shop").await;
        got.iter()
            .any(|r| r.json()["data"]["object"]["id"] == r2)
            .then_some(())
    })
    .await;
    // First attempts to one client's endpoints start together: give the other one time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.received_at("/gone/shop").await.len(),
        1,
        "nothing after the 410"
    );
    assert_all_verified(&receiver.received().await);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_on_the_embedded_store() {
    flow(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_on_dynamodb() {
    flow(Store::fresh_moto("webhooks")).await;
}
