//! The notify function in-process, with Lambda events written in the documented formats
//! (`tests/data`): a DynamoDB stream batch and an SQS batch, over the embedded store, the
//! in-memory retry queue and a receiver on 127.0.0.1.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use paygate_notify::{NotifyDeps, handle};
use paygate_shared::{
    ClientId, IdempotencyKey, IdempotencyRecord, ManualClock, PaymentId, WebhookEndpointId,
    idempotency::Fingerprint,
    metrics::{CapturedMetrics, DYNAMODB_ROUND_TRIPS, Metrics, WEBHOOK_DELIVERIES},
    notify::{
        DeliveryJob, RetrySchedule, engine::Notifier, http::WebhookClient, queue::MemoryRetryQueue,
        signing::sign, ssrf::UrlPolicy,
    },
    store::{WebhookStore, memory::MemoryStore},
    webhook::{
        AesGcmSealer, EndpointStatus, SealedSecret, SecretSealer, WebhookEndpoint, WebhookSecret,
    },
};
use serde_json::{Value, json};
use time::{OffsetDateTime, macros::datetime};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::mpsc,
};

const NOW: OffsetDateTime = datetime!(2026-11-30 04:00:00 UTC);
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Receives requests on 127.0.0.1, answers 200 and keeps each request's head and body.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/in", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut chunk = [0_u8; 8192];
            // Until the head and `content-length` bytes of body are in: the request may come in
            // any number of reads (a body's inner `}` can end one).
            while let Ok(n @ 1..) = tcp.read(&mut chunk).await {
                request.extend_from_slice(&chunk[..n]);
                if complete(&request) {
                    break;
                }
            }
            kept.lock()
                .unwrap()
                .push(String::from_utf8(request).unwrap());
            let _ = tcp
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    (url, seen)
}

/// Whether `request` holds its whole head and the body its `content-length` announces.
fn complete(request: &[u8]) -> bool {
    let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    request.len() >= end + 4 + length
}

struct Setup {
    deps: NotifyDeps,
    due: mpsc::Receiver<DeliveryJob>,
    metrics: CapturedMetrics,
}

async fn setup(url: &str) -> Setup {
    let store = Arc::new(MemoryStore::new());
    let sealer = Arc::new(AesGcmSealer::generate());
    let alice: ClientId = "alice".parse().unwrap();
    let id = WebhookEndpointId::generate(NOW);
    let sealed = sealer
        .seal(&WebhookSecret::new(SECRET.to_owned()), id)
        .unwrap();
    let endpoint = WebhookEndpoint {
        id,
        owner: alice.clone(),
        url: url.to_owned(),
        events: vec![],
        description: None,
        status: EndpointStatus::Enabled,
        secrets: vec![SealedSecret {
            sealed,
            created_at: NOW,
            expires_at: None,
        }],
        created_at: NOW,
        updated_at: NOW,
    };
    let record = IdempotencyRecord {
        key: IdempotencyKey::new(alice, "create-1").unwrap(),
        fingerprint: Fingerprint::of(&[b"create-1"]),
        payment_id: PaymentId::from_ulid(ulid::Ulid::nil()),
        response_status: 201,
        response_body: "{}".to_owned(),
        created_at: NOW,
        expires_at: NOW + time::Duration::days(1),
    };
    store
        .create_endpoint(&endpoint, &record, NOW)
        .await
        .unwrap();
    let (queue, due) = MemoryRetryQueue::new();
    let (metrics, captured) = Metrics::capture("paygate/test");
    let notifier = Notifier {
        store,
        queue: Arc::new(queue),
        sealer,
        policy: UrlPolicy::LOCAL,
        schedule: RetrySchedule::parse("1s").unwrap(),
        clock: Arc::new(ManualClock::new(NOW)),
        client: WebhookClient::new(rustls::RootCertStore::empty(), Duration::from_secs(5)),
        metrics,
    };
    Setup {
        deps: NotifyDeps {
            notifier: Arc::new(notifier),
        },
        due,
        metrics: captured,
    }
}

#[tokio::test]
async fn a_stream_batch_delivers_its_event_and_names_the_unreadable_record() {
    let (url, seen) = receiver().await;
    let setup = setup(&url).await;
    let batch = fixture("stream-batch.json");
    let answer = handle(&setup.deps, batch.clone()).await;
    // The third record is an event of an unknown type: reported, so it is retried and then
    // lands in the on-failure destination instead of vanishing.
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "111100000000000000000003"}]})
    );

    let image = &batch["Records"][0]["dynamodb"]["NewImage"];
    let (id, body) = (
        image["event_id"]["S"].as_str().unwrap(),
        image["body"]["S"].as_str().unwrap(),
    );
    let requests = seen.lock().unwrap().clone();
    // The resend (second record) is for an event this store does not hold: nothing to send.
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert!(request.starts_with("POST /in HTTP/1.1\r\n"));
    assert!(
        request.ends_with(&format!("\r\n\r\n{body}")),
        "the stored body, byte for byte"
    );
    assert!(request.contains(&format!("\r\nwebhook-id: {id}\r\n")));
    let stamp = NOW.unix_timestamp();
    let signature = sign(&[WebhookSecret::new(SECRET.to_owned())], id, stamp, body).unwrap();
    assert!(request.contains(&format!(
        "\r\nwebhook-timestamp: {stamp}\r\nwebhook-signature: {signature}\r\n"
    )));
    let deliveries = setup.metrics.with_metric(WEBHOOK_DELIVERIES);
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["Outcome"], "delivered");
    let invocations = setup.metrics.with_metric(DYNAMODB_ROUND_TRIPS);
    assert_eq!(invocations.len(), 1, "one per invocation");
    assert_eq!(invocations[0]["Function"], "notify");
}

// Paused time: the retry queue's timer fires as soon as the runtime is idle.
#[tokio::test(start_paused = true)]
async fn a_retry_batch_hands_each_job_to_the_notifier_and_names_the_unreadable_message() {
    let mut setup = setup("http://127.0.0.1:9/in").await;
    let batch = fixture("retry-batch.json");
    let answer = handle(&setup.deps, batch.clone()).await;
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
    );
    // The job is due 5 s after the clock's now: queued again for the rest of its wait.
    let job: DeliveryJob =
        serde_json::from_str(batch["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(setup.due.recv().await, Some(job));
}

#[tokio::test]
async fn an_event_without_records_has_no_failures() {
    let setup = setup("http://127.0.0.1:9/in").await;
    assert_eq!(
        handle(&setup.deps, json!({})).await,
        json!({"batchItemFailures": []})
    );
    let unknown = json!({"Records": [{"eventSource": "aws:kinesis", "eventID": "shard-1:42"}]});
    let answer = handle(&setup.deps, unknown).await;
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "shard-1:42"}]})
    );
}
