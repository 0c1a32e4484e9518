//! What the notifier does with each kind of answer, through `paygate-local`
//! (`--webhook-retry-schedule 1s,2s`) on the embedded store and on moto, every request verified
//! with `standardwebhooks` from PyPI:
//! - 500 twice then 200: three attempts, one `webhook-id`, each signed with the timestamp of its
//!   own attempt, at least 1 s then 2 s apart; the event ends `delivered`, its attempts listed;
//! - 503 with `Retry-After: 3`: the next attempt waits at least 3 s, not the schedule's 1 s;
//! - 302: not followed (nothing reaches the `Location`), retried like a failure, then `failed`;
//! - 410: the endpoint is disabled and gets nothing more.

mod webhooks_support;

use std::time::Duration;

use serde_json::Value;
use webhooks_support::{
    Client, PAYER,
    checks::endpoint,
    eventually,
    gateway::{InProcess, Store},
    payment,
    receiver::{Received, Receiver, assert_all_verified},
};

const WAIT: Duration = Duration::from_secs(60);

/// The requests of event `id` at `path`, once there are `n`.
async fn attempts(receiver: &Receiver, path: &str, id: &str, n: usize) -> Vec<Received> {
    eventually(WAIT, &format!("{n} attempts of {id} at {path}"), || async {
        let got: Vec<Received> = receiver
            .received_at(path)
            .await
            .into_iter()
            .filter(|r| r.webhook_id.as_deref() == Some(id))
            .collect();
        (got.len() >= n).then_some(got)
    })
    .await
}

/// The delivery record of event `id` to `endpoint` once its status is `status`.
async fn record(client: &Client, id: &str, endpoint: &str, status: &str) -> Value {
    eventually(WAIT, &format!("{id} {status} at {endpoint}"), || async {
        let detail = client.event(id).await;
        detail["deliveries"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["endpoint_id"] == endpoint).cloned())
            .filter(|d| d["status"] == status)
    })
    .await
}

/// Each logged attempt's answered status (`None`: an error instead).
fn statuses(record: &Value) -> Vec<Option<u64>> {
    record["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["response_status"].as_u64())
        .collect()
}

async fn flow(store: Store) {
    let receiver = Receiver::start().await;
    let gateway = InProcess::start(&store, &[]).await;
    let payer = Client::login(gateway.addr, PAYER).await;
    let (created, succeeded): (&[&str], &[&str]) = (&["payment.created"], &["payment.succeeded"]);
    let failing = endpoint(&payer, &receiver, "/fail/2/r", Some(succeeded)).await;
    endpoint(&payer, &receiver, "/retry-after/3/r", Some(created)).await;
    let redirecting = endpoint(&payer, &receiver, "/status/302/r", Some(succeeded)).await;
    let gone = endpoint(&payer, &receiver, "/gone/r", Some(created)).await;

    payer.post_ok("/payments", payment(100, true), 201).await;
    let events = payer.events().await;
    let id_of = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .and_then(|e| e["id"].as_str())
            .unwrap()
            .to_owned()
    };
    let (created_id, succeeded_id) = (id_of("payment.created"), id_of("payment.succeeded"));

    // 500, 500, 200.
    let got = attempts(&receiver, "/fail/2/r", &succeeded_id, 3).await;
    assert_all_verified(&got);
    let answered: Vec<Option<u16>> = got.iter().map(|r| r.status).collect();
    assert_eq!(answered, [Some(500), Some(500), Some(200)], "{got:?}");
    let times: Vec<i64> = got.iter().map(Received::timestamp).collect();
    assert!(
        times[1] > times[0] && times[2] >= times[1] + 2,
        "each attempt's own timestamp, 1 s then 2 s apart at least: {times:?}"
    );
    assert!(got.iter().all(|r| r.body == got[0].body), "the same bytes");
    let delivered = record(&payer, &succeeded_id, &failing, "delivered").await;
    assert_eq!(
        statuses(&delivered),
        [Some(500), Some(500), Some(200)],
        "{delivered}"
    );

    // 503 + Retry-After: 3, then 200.
    let got = attempts(&receiver, "/retry-after/3/r", &created_id, 2).await;
    assert_all_verified(&got);
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(503), Some(200)]
    );
    let waited = got[1].received_at - got[0].received_at;
    assert!(
        waited >= 3.0,
        "Retry-After: 3 honoured, waited {waited:.2} s"
    );

    // 302: three attempts, none followed, then failed.
    let got = attempts(&receiver, "/status/302/r", &succeeded_id, 3).await;
    assert_all_verified(&got);
    let failed = record(&payer, &succeeded_id, &redirecting, "failed").await;
    assert_eq!(
        statuses(&failed),
        [Some(302), Some(302), Some(302)],
        "{failed}"
    );
    assert!(failed["next_attempt_at"].is_null(), "{failed}");
    assert!(
        receiver.received_at("/ok/redirected").await.is_empty(),
        "a redirect was followed"
    );

    // 410: disabled after one attempt; the next payment's event is not sent to it.
    assert_eq!(
        attempts(&receiver, "/gone/r", &created_id, 1).await.len(),
        1
    );
    let shown = eventually(WAIT, "the 410 endpoint disabled", || async {
        let shown = payer.get(&format!("/webhook_endpoints/{gone}")).await;
        (shown.body["status"] == "disabled").then_some(shown)
    })
    .await;
    assert_eq!(shown.status, 200);
    payer.post_ok("/payments", payment(200, false), 201).await;
    let newest = payer.get("/events?limit=1").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The other subscriber of payment.created gets it (after its 503 and 3 s); the disabled
    // one, which would have had its first attempt at the same time, gets nothing.
    attempts(&receiver, "/retry-after/3/r", &newest, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        receiver.received_at("/gone/r").await.len(),
        1,
        "nothing after the 410"
    );
    assert_all_verified(&receiver.received().await);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_redirects_and_gone_on_the_embedded_store() {
    flow(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_redirects_and_gone_on_dynamodb() {
    flow(Store::fresh_moto("whretries")).await;
}
