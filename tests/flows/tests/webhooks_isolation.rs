//! A receiver that never answers, on the embedded store and on moto: while its first attempt
//! hangs (the notifier gives up only after 10 s), the API answers and another endpoint of the
//! same client gets the same events. Both are checked by what happens before that hanging
//! attempt can have ended, not by a latency figure. After its last attempt the hanging
//! endpoint's delivery is `failed` on the event, each attempt with its error.

mod webhooks_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use webhooks_support::{
    Client, PAYER, eventually,
    gateway::{InProcess, Store},
    payment,
    receiver::{Receiver, assert_all_verified},
};

/// The notifier's timeout per attempt (the 10 s): a hanging attempt lasts that long.
const ATTEMPT_TIMEOUT_S: f64 = 10.0;

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn flow(store: Store) {
    let receiver = Receiver::start().await;
    let gateway = InProcess::start(&store, &[]).await;
    let payer = Client::login(gateway.addr, PAYER).await;
    let (hang, fast) = ("/hang/dead", "/ok/alive");
    let mut hanging_id = String::new();
    for path in [hang, fast] {
        let created = payer.register(&receiver.url(path), None).await;
        receiver
            .add_secret(path, "v1", created["secret"].as_str().unwrap())
            .await;
        if path == hang {
            hanging_id = created["id"].as_str().unwrap().to_owned();
        }
    }

    payer.post_ok("/payments", payment(100, true), 201).await;
    let first_hang = eventually(
        Duration::from_secs(30),
        "the first hanging attempt",
        || async { receiver.received_at(hang).await.first().cloned() },
    )
    .await;
    // From now until first_hang.received_at + 10 s, an attempt is hanging.
    let mut answered = Vec::new();
    for _ in 0..5 {
        payer.post_ok("/payments", payment(100, true), 201).await;
        answered.push(unix_now());
    }
    let events = payer.events().await;
    assert_eq!(events.len(), 12, "6 payments, created and succeeded");
    let fast_got = eventually(
        Duration::from_secs(30),
        "every event at the live endpoint",
        || async {
            let got = receiver.received_at(fast).await;
            events
                .iter()
                .all(|e| {
                    got.iter()
                        .any(|r| r.webhook_id.as_deref() == e["id"].as_str())
                })
                .then_some(got)
        },
    )
    .await;
    assert_all_verified(&fast_got);
    let deadline = first_hang.received_at + ATTEMPT_TIMEOUT_S;
    let last_answer = answered.iter().copied().fold(0.0, f64::max);
    let last_delivery = fast_got.iter().map(|r| r.received_at).fold(0.0, f64::max);
    println!(
        "{}: while one attempt hung, 5 payments answered within {:.2} s of its start and the \
         live endpoint had all 12 events {:.2} s after it",
        store.name(),
        last_answer - first_hang.received_at,
        last_delivery - first_hang.received_at
    );
    assert!(
        last_answer < deadline,
        "the API answered only after the hanging attempt could have ended"
    );
    assert!(
        last_delivery < deadline,
        "the live endpoint waited for the dead one"
    );

    // The dead endpoint: three attempts of the first event (1 s, 2 s retries after each
    // 10 s timeout), then `failed`, every attempt with its error and no status.
    let first = events.last().unwrap()["id"].as_str().unwrap().to_owned();
    let record = eventually(
        Duration::from_secs(90),
        "the dead endpoint's delivery failed",
        || async {
            let detail = payer.event(&first).await;
            detail["deliveries"]
                .as_array()
                .and_then(|d| {
                    d.iter()
                        .find(|d| d["endpoint_id"] == hanging_id.as_str())
                        .cloned()
                })
                .filter(|d| d["status"] == "failed")
        },
    )
    .await;
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{record}");
    for attempt in attempts {
        assert_eq!(
            attempt.get("response_status"),
            Some(&serde_json::Value::Null),
            "{record}"
        );
        assert!(
            attempt["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{record}"
        );
    }
    let at_receiver = receiver
        .received_at(hang)
        .await
        .into_iter()
        .filter(|r| r.webhook_id.as_deref() == Some(first.as_str()))
        .count();
    assert_eq!(at_receiver, 3, "three attempts reached the dead receiver");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_receiver_slows_nothing_on_the_embedded_store() {
    flow(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_receiver_slows_nothing_on_dynamodb() {
    flow(Store::fresh_moto("whisolation")).await;
}
