//! Webhook checks the gateway tests share: registering an endpoint, checking a Standard
//! Webhooks v1 signature, and the retried-delivery flow (a one-step payment to an endpoint
//! that fails twice).

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{
    Api,
    receiver::{Received, Receiver},
};

/// The quick retry schedule of these tests, as paygate-local's flag.
pub const QUICK_RETRIES: [&str; 2] = ["--webhook-retry-schedule", "1s,2s"];

/// Registers an endpoint at `url`; its id and secret.
pub async fn register(api: &Api, token: &str, url: &str) -> (String, String) {
    let created = api
        .post("/v1/webhook_endpoints", token, Some(json!({"url": url})))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let field = |name: &str| created.body[name].as_str().expect(name).to_owned();
    (field("id"), field("secret"))
}

/// Whether `request` carries a valid Standard Webhooks v1 signature by `secret`.
pub fn signed_by(secret: &str, request: &Received) -> bool {
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

pub fn by_webhook_id(received: &[Received]) -> Vec<(String, Vec<Received>)> {
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
pub async fn retried_deliveries(api: &Api) -> Duration {
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
