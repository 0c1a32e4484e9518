//! The local notifier through `paygate-local` as the command line starts it, on the embedded
//! store and on moto: a payment's events reach a receiver on 127.0.0.1, signed; a receiver that
//! fails twice sees three attempts with the same `webhook-id` on the `--webhook-retry-schedule`
//! (`1s,2s`); on moto, retries and outbox records written while the gateway is down are
//! delivered after a restart. (The Standard Webhooks verification with the PyPI package, every
//! event type and the SIGKILL crash test are tests/flows' webhooks tests.)

mod common;

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use common::{
    Api,
    receiver::{Received, Receiver},
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const QUICK_RETRIES: [&str; 2] = ["--webhook-retry-schedule", "1s,2s"];

/// Registers an endpoint at `url`; its id and secret.
async fn register(api: &Api, token: &str, url: &str) -> (String, String) {
    let created = api
        .post("/v1/webhook_endpoints", token, Some(json!({"url": url})))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let field = |name: &str| created.body[name].as_str().expect(name).to_owned();
    (field("id"), field("secret"))
}

/// Whether `request` carries a valid Standard Webhooks v1 signature by `secret`.
fn signed_by(secret: &str, request: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ secret"))
        .expect("base64 secret");
    let timestamp = request.headers.get("webhook-timestamp").expect("timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{timestamp}.{}", request.webhook_id(), request.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    request
        .headers
        .get("webhook-signature")
        .is_some_and(|s| s.split(' ').any(|one| one == expected))
}

fn by_webhook_id(received: &[Received]) -> Vec<(String, Vec<Received>)> {
    let mut groups: Vec<(String, Vec<Received>)> = Vec::new();
    for request in received {
        match groups.iter_mut().find(|(id, _)| id == request.webhook_id()) {
            Some((_, group)) => group.push(request.clone()),
            None => groups.push((request.webhook_id().to_owned(), vec![request.clone()])),
        }
    }
    groups
}

/// A one-step payment to an endpoint that fails twice: both its events arrive three times,
/// signed, 1 s then 2 s apart; the event then shows the delivery done. Returns the time from
/// the payment's answer to the first attempt.
async fn retried_deliveries(api: &Api) -> Duration {
    let receiver = Receiver::start().await;
    let token = api.token().await;
    let (_, secret) = register(api, &token, &receiver.url("/flaky")).await;
    let paid = api
        .post("/v1/payments", &token, Some(api.payment(300, true)))
        .await;
    let answered = Instant::now();
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    let received = receiver
        .until(30, "2 events × 3 attempts", |r| r.len() >= 6)
        .await;
    let first_attempt = received[0].at.duration_since(answered);
    let groups = by_webhook_id(&received);
    assert_eq!(groups.len(), 2, "payment.created and payment.succeeded");
    let mut types = Vec::new();
    for (id, attempts) in &groups {
        assert_eq!(attempts.len(), 3, "{id}: {attempts:#?}");
        let event: Value = serde_json::from_str(&attempts[0].body).expect("JSON body");
        assert_eq!(event["id"], id.as_str());
        assert_eq!(event["data"]["object"]["id"], paid.body["id"]);
        types.push(event["type"].as_str().unwrap_or_default().to_owned());
        for attempt in attempts {
            assert_eq!(attempt.body, attempts[0].body, "the same bytes every time");
            assert!(signed_by(&secret, attempt), "{attempt:#?}");
            assert_eq!(
                attempt.headers.get("content-type").map(String::as_str),
                Some("application/json")
            );
        }
        let (second, third) = (
            attempts[1].at.duration_since(attempts[0].at),
            attempts[2].at.duration_since(attempts[1].at),
        );
        assert!(
            second >= Duration::from_millis(900) && third >= Duration::from_millis(1900),
            "waits of the schedule 1s,2s: {second:?}, {third:?}"
        );
    }
    types.sort();
    assert_eq!(types, ["payment.created", "payment.succeeded"]);
    // Delivered at the third attempt: no fourth.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 6);
    let (id, _) = &groups[0];
    let shown = api.get(&format!("/v1/events/{id}"), &token).await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(shown.body["id"], id.as_str());
    first_attempt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_delivers_and_retries() {
    let mut args = vec!["--listen", "127.0.0.1:0"];
    args.extend(QUICK_RETRIES);
    let (running, api) = common::start_cli(&args).await;
    let latency = retried_deliveries(&api).await;
    eprintln!("[notify] embedded: payment answered → first attempt {latency:?}");
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_delivers_and_retries_from_the_stream_and_sqs() {
    let names = common::unique("ntf");
    let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
    args.extend(QUICK_RETRIES.map(String::from));
    args.extend(common::on_moto(&names));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (running, api) = common::start_cli(&args).await;
    let latency = retried_deliveries(&api).await;
    eprintln!("[notify] moto: payment answered → first attempt {latency:?}");
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_moto_retries_and_outbox_records_survive_a_restart() {
    use paygate_shared::store::{
        EventStore,
        dynamodb::{DynamoStore, TableNames},
    };
    let names = common::unique("ntf");
    let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
    args.extend(QUICK_RETRIES.map(String::from));
    args.extend(common::on_moto(&names));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let receiver = Receiver::start().await;

    // A receiver that always fails: the first attempt is made, then the gateway stops with
    // the retries queued.
    let (running, api) = common::start_cli(&args).await;
    let token = api.token().await;
    register(&api, &token, &receiver.url("/fail")).await;
    register(&api, &token, &receiver.url("/ok")).await;
    let paid = api
        .post("/v1/payments", &token, Some(api.payment(200, false)))
        .await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    let first = receiver
        .until(15, "the first attempts", |r| r.len() >= 2)
        .await;
    running.stop().await.expect("stops");
    let event_id = first[0].webhook_id().to_owned();

    // Written while no gateway runs: a resend of the event (an outbox record).
    let config = paygate_local::aws::sdk_config(&common::moto(), "us-east-1").await;
    let store = DynamoStore::new(
        &config,
        TableNames {
            accounts: format!("{names}-accounts"),
            transactions: format!("{names}-transactions"),
        },
    );
    let (event, _) = store
        .event(event_id.parse().expect("an event id"))
        .await
        .expect("the store")
        .expect("the event");
    store
        .request_resend(&event, None, time::OffsetDateTime::now_utc())
        .await
        .expect("resend requested");

    // The next gateway makes the queued retries and the resend.
    let (running, _) = common::start_cli(&args).await;
    let received = receiver
        .until(30, "the retries and the resend", |r| {
            r.iter().filter(|q| q.path == "/fail").count() >= 4
                && r.iter().filter(|q| q.path == "/ok").count() >= 2
        })
        .await;
    running.stop().await.expect("stops");
    for request in &received {
        assert_eq!(request.webhook_id(), event_id, "payment.created only");
    }
    // `/fail`: the first attempt, the retries of 1s and 2s, and the resend; `/ok`: the first
    // delivery and the resend.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = |path: &str| {
        receiver
            .received()
            .iter()
            .filter(|r| r.path == path)
            .count()
    };
    assert_eq!((count("/fail"), count("/ok")), (4, 2));
}
