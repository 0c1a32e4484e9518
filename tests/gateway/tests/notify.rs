//! The local notifier through `paygate-local` as the command line starts it, on the embedded
//! store and on moto: a payment's events reach a receiver on 127.0.0.1, signed; a receiver that
//! fails twice sees three attempts with the same `webhook-id` on the `--webhook-retry-schedule`
//! (`1s,2s`); on moto, retries and outbox records written while the gateway is down are
//! delivered after a restart. (The Standard Webhooks verification with the PyPI package, every
//! event type and the SIGKILL crash test are tests/flows' webhooks tests.)

mod common;

use std::time::Duration;

use common::{
    receiver::Receiver,
    webhooks::{QUICK_RETRIES, register, retried_deliveries},
};

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
