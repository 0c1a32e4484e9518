//! The notifier over an in-test store, a recording queue and a real receiver on 127.0.0.1,
//! with a manual clock (retries are driven by calling `on_job` with the clock moved on).

mod support;

use std::{sync::atomic::Ordering, time::Duration as StdDuration};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rustls::RootCertStore;
use sha2::Sha256;
use time::{Duration, OffsetDateTime, macros::datetime};

use super::*;
use crate::{
    EventType, ManualClock,
    event::{AttemptOutcome, DeliveryStatus},
    metrics::{CapturedMetrics, WEBHOOK_DELIVERIES},
    notify::http::WebhookClient,
    webhook::SealedSecret,
};
use support::{FakeStore, PlainSealer, Receiver, RecordingQueue};

const START: OffsetDateTime = datetime!(2026-11-30 04:00:00 UTC);
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY=";

struct World {
    store: Arc<FakeStore>,
    queue: Arc<RecordingQueue>,
    clock: Arc<ManualClock>,
    notifier: Notifier,
    metrics: CapturedMetrics,
}

impl World {
    /// The `Outcome` of each `WebhookDeliveries` record so far, in order.
    fn outcomes(&self) -> Vec<String> {
        self.metrics
            .with_metric(WEBHOOK_DELIVERIES)
            .iter()
            .map(|record| record["Outcome"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn world(schedule: &str, timeout: StdDuration) -> World {
    let store = Arc::new(FakeStore::default());
    let queue = Arc::new(RecordingQueue::default());
    let clock = Arc::new(ManualClock::new(START));
    let (metrics, captured) = Metrics::capture("paygate/test");
    let notifier = Notifier {
        store: store.clone(),
        queue: queue.clone(),
        sealer: Arc::new(PlainSealer),
        policy: UrlPolicy::LOCAL,
        schedule: RetrySchedule::parse(schedule).unwrap(),
        clock: clock.clone(),
        client: WebhookClient::new(RootCertStore::empty(), timeout),
        metrics,
    };
    World {
        store,
        queue,
        clock,
        notifier,
        metrics: captured,
    }
}

fn client(name: &str) -> ClientId {
    name.parse().unwrap()
}

impl World {
    fn endpoint(&self, owner: &str, url: String, events: &[EventType]) -> WebhookEndpoint {
        let id = WebhookEndpointId::generate(START);
        let endpoint = WebhookEndpoint {
            id,
            owner: client(owner),
            url,
            events: events.to_vec(),
            description: None,
            status: EndpointStatus::Enabled,
            secrets: vec![SealedSecret {
                sealed: format!("{id}:{SECRET}"),
                created_at: START,
                expires_at: None,
            }],
            created_at: START,
            updated_at: START,
        };
        self.store.endpoints.lock().unwrap().push(endpoint.clone());
        endpoint
    }

    fn event(&self, recipient: &str, event_type: EventType) -> Event {
        let event = Event::new(
            EventId::generate(START),
            event_type,
            client(recipient),
            START,
            &serde_json::json!({"id": "pay_1", "amount": 1250}),
        );
        self.store
            .events
            .lock()
            .unwrap()
            .insert(event.id, event.clone());
        event
    }
}

fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_new_event_goes_signed_to_each_enabled_subscribed_endpoint_once() {
    let receiver = Receiver::start(&[]).await;
    let w = world("1s,2s", StdDuration::from_secs(5));
    let all = w.endpoint("acme", receiver.url("/all"), &[]);
    let captures = w.endpoint(
        "acme",
        receiver.url("/captures"),
        &[EventType::PaymentSucceeded],
    );
    let refunds = w.endpoint(
        "acme",
        receiver.url("/refunds"),
        &[EventType::RefundSucceeded],
    );
    let mut disabled = w.endpoint("acme", receiver.url("/disabled"), &[]);
    disabled.status = EndpointStatus::Disabled;
    w.store.endpoints.lock().unwrap()[3] = disabled;
    w.endpoint("other", receiver.url("/other"), &[]);
    let event = w.event("acme", EventType::PaymentSucceeded);

    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();

    let mut requests = receiver.requests();
    requests.sort_by(|a, b| a.path.cmp(&b.path));
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/all", "/captures"]);
    for request in &requests {
        assert_eq!(request.body, event.body());
        assert_eq!(request.headers["webhook-id"], event.id.to_string());
        assert_eq!(
            request.headers["webhook-timestamp"],
            START.unix_timestamp().to_string()
        );
        assert_eq!(request.headers["content-type"], "application/json");
        let expected = expected_signature(
            SECRET,
            &event.id.to_string(),
            &START.unix_timestamp().to_string(),
            event.body(),
        );
        assert_eq!(request.headers["webhook-signature"], expected);
    }
    for endpoint in [&all, &captures] {
        let delivery = w.store.delivery(event.id, endpoint.id).unwrap();
        assert_eq!(delivery.status, DeliveryStatus::Delivered);
        assert_eq!(delivery.next_attempt_at, None);
        assert_eq!(delivery.attempts.len(), 1);
        assert_eq!(delivery.attempts[0].outcome, AttemptOutcome::Status(200));
        assert_eq!(
            (delivery.attempts[0].number, delivery.attempts[0].at),
            (1, START)
        );
    }
    assert!(w.store.delivery(event.id, refunds.id).is_none());
    assert!(w.queue.take().is_empty());

    // The stream hands the same record in again: every endpoint already has its record.
    w.notifier
        .on_record(&OutboxRecord::Event(event))
        .await
        .unwrap();
    assert_eq!(
        receiver.requests().len(),
        2,
        "a duplicate record repeats nothing"
    );
}

/// An endpoint registered after an event was written does not get it when the event is read
/// (the stream may be behind the registration); one registered in the same millisecond does;
/// a resend to all reaches both.
#[tokio::test]
async fn an_endpoint_hears_of_events_from_its_registration_on() {
    let receiver = Receiver::start(&[]).await;
    let w = world("1s,2s", StdDuration::from_secs(5));
    let event = w.event("acme", EventType::PaymentCreated);
    let same_millisecond = w.endpoint("acme", receiver.url("/same"), &[]);
    let later = w.endpoint("acme", receiver.url("/later"), &[]);
    {
        let mut endpoints = w.store.endpoints.lock().unwrap();
        endpoints[0].created_at = START + Duration::microseconds(900);
        endpoints[1].created_at = START + Duration::milliseconds(1);
    }
    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    let paths: Vec<String> = receiver.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/same"]);
    assert!(w.store.delivery(event.id, same_millisecond.id).is_some());
    assert!(w.store.delivery(event.id, later.id).is_none());

    w.notifier
        .on_record(&OutboxRecord::Resend {
            event_id: event.id,
            recipient: client("acme"),
            endpoint: None,
            requested_at: START,
        })
        .await
        .unwrap();
    let mut paths: Vec<String> = receiver.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/later", "/same", "/same"],
        "a resend goes to every endpoint"
    );
}

#[tokio::test]
async fn failing_twice_then_answering_gives_three_attempts_with_one_webhook_id() {
    let receiver = Receiver::start(&[("/flaky", &["500 Oops", "302 Found"])]).await;
    let w = world("1s,2s", StdDuration::from_secs(5));
    let endpoint = w.endpoint("acme", receiver.url("/flaky"), &[]);
    let event = w.event("acme", EventType::PaymentCreated);

    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    let delivery = w.store.delivery(event.id, endpoint.id).unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.next_attempt_at, Some(START + Duration::seconds(1)));
    let [job] = <[DeliveryJob; 1]>::try_from(w.queue.take()).unwrap();
    assert_eq!(
        (job.attempt, job.not_before, job.manual),
        (2, START + Duration::seconds(1), false)
    );
    assert_eq!(
        (job.event_id, job.endpoint_id, &job.recipient),
        (event.id, endpoint.id, &event.recipient)
    );

    // Handed back early (an SQS hop): queued again, nothing sent.
    w.notifier.on_job(&job).await.unwrap();
    assert_eq!(w.queue.take(), std::slice::from_ref(&job));
    assert_eq!(receiver.requests().len(), 1);

    w.clock.advance(Duration::seconds(1));
    w.notifier.on_job(&job).await.unwrap();
    let [third] = <[DeliveryJob; 1]>::try_from(w.queue.take()).unwrap();
    assert_eq!(
        (third.attempt, third.not_before),
        (3, START + Duration::seconds(3))
    );
    // A duplicate of the job that was just handled changes nothing.
    w.notifier.on_job(&job).await.unwrap();
    assert!(w.queue.take().is_empty());

    w.clock.advance(Duration::seconds(2));
    w.notifier.on_job(&third).await.unwrap();
    let delivery = w.store.delivery(event.id, endpoint.id).unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    let outcomes: Vec<_> = delivery
        .attempts
        .iter()
        .map(|a| (a.number, a.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, AttemptOutcome::Status(500)),
            (2, AttemptOutcome::Status(302)),
            (3, AttemptOutcome::Status(200))
        ]
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.headers["webhook-id"] == event.id.to_string())
    );
    let stamps: Vec<&str> = requests
        .iter()
        .map(|r| r.headers["webhook-timestamp"].as_str())
        .collect();
    let seconds = |s: i64| (START.unix_timestamp() + s).to_string();
    assert_eq!(
        stamps,
        [seconds(0), seconds(1), seconds(3)],
        "each attempt signs its own time"
    );
    assert!(w.queue.take().is_empty());
    assert_eq!(
        w.outcomes(),
        ["failed", "failed", "delivered"],
        "one per attempt made, none for the early or duplicate job"
    );
}

#[tokio::test]
async fn after_the_last_attempt_the_delivery_fails_and_says_so_once_in_the_log() {
    let receiver = Receiver::start(&[("/down", &["500 a", "503 b"])]).await;
    let w = world("1s", StdDuration::from_secs(5));
    let endpoint = w.endpoint("acme", receiver.url("/down"), &[]);
    let event = w.event("acme", EventType::PaymentCanceled);
    let logs = support::capture_logs();
    let _guard = tracing::subscriber::set_default(logs.subscriber());

    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    let job = w.queue.take().remove(0);
    w.clock.advance(Duration::seconds(1));
    w.notifier.on_job(&job).await.unwrap();

    let delivery = w.store.delivery(event.id, endpoint.id).unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts.len(), 2);
    assert_eq!(delivery.next_attempt_at, None);
    assert!(w.queue.take().is_empty());
    assert_eq!(w.outcomes(), ["failed", "exhausted"]);
    let text = logs.text();
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("webhook delivery failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(
        failed[0].contains(&format!("event_id={}", event.id)),
        "{}",
        failed[0]
    );
    assert!(
        failed[0].contains(&format!("endpoint_id={}", endpoint.id)),
        "{}",
        failed[0]
    );
    assert!(
        !text.contains(SECRET.trim_start_matches("whsec_")) && !text.contains("v1,"),
        "{text}"
    );
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_ends_the_delivery() {
    let receiver = Receiver::start(&[("/gone", &["410 Gone"])]).await;
    let w = world("1s,2s", StdDuration::from_secs(5));
    let endpoint = w.endpoint("acme", receiver.url("/gone"), &[]);
    let event = w.event("acme", EventType::PaymentExpired);
    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    assert_eq!(*w.store.disabled.lock().unwrap(), [endpoint.id]);
    let delivery = w.store.delivery(event.id, endpoint.id).unwrap();
    assert_eq!(
        (delivery.status, delivery.next_attempt_at),
        (DeliveryStatus::Failed, None)
    );
    assert!(w.queue.take().is_empty(), "no retry after 410");

    // The next event skips the disabled endpoint.
    let next = w.event("acme", EventType::PaymentExpired);
    w.notifier
        .on_record(&OutboxRecord::Event(next))
        .await
        .unwrap();
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(w.outcomes(), ["disabled"]);
}

#[tokio::test]
async fn retry_after_on_429_and_503_waits_at_least_that_long() {
    let receiver = Receiver::start(&[
        ("/busy", &["429 Slow Down\r\nretry-after: 120"]),
        ("/quick", &["503 Busy\r\nretry-after: 0"]),
    ])
    .await;
    let w = world("5s,5s", StdDuration::from_secs(5));
    w.endpoint("acme", receiver.url("/busy"), &[]);
    w.endpoint("acme", receiver.url("/quick"), &[]);
    let event = w.event("acme", EventType::PaymentCreated);
    w.notifier
        .on_record(&OutboxRecord::Event(event))
        .await
        .unwrap();
    let mut waits: Vec<Duration> = w
        .queue
        .take()
        .iter()
        .map(|j| j.not_before - START)
        .collect();
    waits.sort();
    assert_eq!(waits, [Duration::seconds(5), Duration::seconds(120)]);
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_hold_up_another_endpoint() {
    let receiver = Receiver::start(&[("/stuck", &["hold"])]).await;
    // Long enough that the stuck attempt is still waiting when the other one is done.
    let w = world("1s", StdDuration::from_secs(60));
    let stuck = w.endpoint("acme", receiver.url("/stuck"), &[]);
    let healthy = w.endpoint("acme", receiver.url("/healthy"), &[]);
    let event = w.event("acme", EventType::PaymentSucceeded);
    let record = OutboxRecord::Event(event.clone());
    let handling = w.notifier.on_record(&record);
    let watching = async {
        // Sequential attempts would never reach /healthy while /stuck holds: this would wait
        // forever (and the outer timeout fail) instead of releasing it.
        while !receiver.requests().iter().any(|r| r.path == "/healthy") {
            receiver.arrived.notified().await;
        }
        receiver.release.notify_one();
    };
    let (handled, ()) = tokio::time::timeout(StdDuration::from_secs(30), async {
        tokio::join!(handling, watching)
    })
    .await
    .expect("the healthy endpoint was reached while the other was stuck");
    handled.unwrap();
    for endpoint in [stuck, healthy] {
        assert_eq!(
            w.store.delivery(event.id, endpoint.id).unwrap().status,
            DeliveryStatus::Delivered
        );
    }
}

#[tokio::test]
async fn the_record_is_written_only_after_the_retry_is_queued() {
    let receiver = Receiver::start(&[("/fails", &["500 a", "500 b"])]).await;
    let w = world("1s", StdDuration::from_secs(5));
    let endpoint = w.endpoint("acme", receiver.url("/fails"), &[]);
    let event = w.event("acme", EventType::PaymentCreated);
    w.queue.failing.store(true, Ordering::SeqCst);
    let record = OutboxRecord::Event(event.clone());
    assert!(matches!(
        w.notifier.on_record(&record).await,
        Err(NotifyError::Queue(_))
    ));
    assert!(
        w.store.delivery(event.id, endpoint.id).is_none(),
        "nothing recorded: the record comes back"
    );
    w.queue.failing.store(false, Ordering::SeqCst);
    w.notifier.on_record(&record).await.unwrap();
    assert_eq!(
        receiver.requests().len(),
        2,
        "the attempt is repeated, not lost"
    );
    assert_eq!(w.queue.take().len(), 1);
    assert_eq!(
        w.store
            .delivery(event.id, endpoint.id)
            .unwrap()
            .attempts
            .len(),
        1
    );
}

#[tokio::test]
async fn a_rotated_out_secret_signs_beside_the_new_one_until_it_expires() {
    let receiver = Receiver::start(&[]).await;
    let w = world("1s", StdDuration::from_secs(5));
    let mut endpoint = w.endpoint("acme", receiver.url("/rotated"), &[]);
    let id = endpoint.id;
    endpoint.secrets.push(SealedSecret {
        sealed: format!("{id}:{OLD_SECRET}"),
        created_at: START,
        expires_at: Some(START + Duration::hours(24)),
    });
    endpoint.secrets.push(SealedSecret {
        sealed: format!("{id}:whsec_AAAA"),
        created_at: START,
        expires_at: Some(START),
    });
    w.store.endpoints.lock().unwrap()[0] = endpoint;
    let event = w.event("acme", EventType::RefundSucceeded);
    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    let request = receiver.requests().remove(0);
    let stamp = START.unix_timestamp().to_string();
    let sign = |secret| expected_signature(secret, &event.id.to_string(), &stamp, event.body());
    assert_eq!(
        request.headers["webhook-signature"],
        format!("{} {}", sign(SECRET), sign(OLD_SECRET))
    );
}

#[tokio::test]
async fn a_resend_is_one_manual_attempt_and_a_duplicate_request_is_served_once() {
    let receiver = Receiver::start(&[("/later", &["500 a"])]).await;
    let w = world("1s", StdDuration::from_secs(5));
    let ok = w.endpoint("acme", receiver.url("/ok"), &[]);
    let later = w.endpoint("acme", receiver.url("/later"), &[]);
    let event = w.event("acme", EventType::PaymentSucceeded);
    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    let pending_job = w.queue.take().remove(0);

    w.clock.advance(Duration::milliseconds(300));
    let resend = OutboxRecord::Resend {
        event_id: event.id,
        recipient: event.recipient.clone(),
        endpoint: Some(later.id),
        requested_at: w.clock.now(),
    };
    w.notifier.on_record(&resend).await.unwrap();
    w.notifier.on_record(&resend).await.unwrap();
    assert_eq!(
        receiver.requests().len(),
        3,
        "one first attempt each, one resend"
    );
    let delivery = w.store.delivery(event.id, later.id).unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(
        delivery
            .attempts
            .iter()
            .map(|a| a.manual)
            .collect::<Vec<_>>(),
        [false, true]
    );
    assert!(w.queue.take().is_empty(), "a resend is not retried");
    assert_eq!(w.store.delivery(event.id, ok.id).unwrap().attempts.len(), 1);

    // The retry that was waiting finds the delivery settled.
    w.clock.advance(Duration::seconds(1));
    w.notifier.on_job(&pending_job).await.unwrap();
    assert_eq!(receiver.requests().len(), 3);

    // A resend to all endpoints, and one for another client's event, which is ignored.
    let to_all = OutboxRecord::Resend {
        event_id: event.id,
        recipient: event.recipient.clone(),
        endpoint: None,
        requested_at: w.clock.now(),
    };
    w.notifier.on_record(&to_all).await.unwrap();
    assert_eq!(receiver.requests().len(), 5);
    let foreign = OutboxRecord::Resend {
        event_id: event.id,
        recipient: client("other"),
        endpoint: None,
        requested_at: w.clock.now(),
    };
    w.notifier.on_record(&foreign).await.unwrap();
    assert_eq!(receiver.requests().len(), 5);
}

#[tokio::test]
async fn a_retry_for_a_deleted_endpoint_ends_the_delivery_without_a_request() {
    let receiver = Receiver::start(&[("/flaky", &["500 a"])]).await;
    let w = world("1s,1s", StdDuration::from_secs(5));
    let endpoint = w.endpoint("acme", receiver.url("/flaky"), &[]);
    let event = w.event("acme", EventType::PaymentCreated);
    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    let job = w.queue.take().remove(0);
    w.store.endpoints.lock().unwrap().clear();
    w.clock.advance(Duration::seconds(1));
    w.notifier.on_job(&job).await.unwrap();
    let delivery = w.store.delivery(event.id, endpoint.id).unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    let last = delivery.attempts.last().unwrap();
    assert_eq!(
        last.outcome,
        AttemptOutcome::Error("endpoint_disabled_or_deleted".to_owned())
    );
    assert_eq!(receiver.requests().len(), 1);
    assert!(w.queue.take().is_empty());
    assert_eq!(w.outcomes(), ["failed", "disabled"]);
}

#[tokio::test]
async fn an_endpoint_whose_url_is_no_longer_allowed_is_retried_as_an_error() {
    let w = world("1s", StdDuration::from_secs(5));
    let endpoint = w.endpoint("acme", "http://hooks.example.com/in".to_owned(), &[]);
    let event = w.event("acme", EventType::PaymentCreated);
    w.notifier
        .on_record(&OutboxRecord::Event(event.clone()))
        .await
        .unwrap();
    let delivery = w.store.delivery(event.id, endpoint.id).unwrap();
    let outcome = &delivery.attempts[0].outcome;
    assert_eq!(*outcome, AttemptOutcome::Error("url_not_allowed: the URL may use http only to a loopback host (127.0.0.1, [::1], localhost)".to_owned()));
    assert_eq!(delivery.status, DeliveryStatus::Pending);
}
