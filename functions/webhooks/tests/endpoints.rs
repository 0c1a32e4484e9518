//! `/webhook_endpoints`, in-process over the in-memory store: every route, every refusal, the
//! secret only in the create and rotate answers, the 16-endpoint limit, idempotent replays,
//! owner-only reads whose refusals match a missing endpoint's exactly.

mod support;

use base64::{Engine, engine::general_purpose::STANDARD};
use paygate_testkit::Event;
use serde_json::json;
use support::{MANAGE, OTHER_SCOPES, World};

const URL: &str = "https://93.184.215.14/paygate/hooks";
const LOCAL: &str = "http://127.0.0.1:8081/hooks";

fn missing_id() -> String {
    paygate_shared::WebhookEndpointId::generate(time::OffsetDateTime::now_utc()).to_string()
}

#[tokio::test]
async fn an_endpoint_is_created_with_its_secret_shown_once() {
    let w = World::new();
    let created = w
        .create(
            "alice",
            "k-1",
            &json!({"url": URL, "events": ["payment.succeeded", "refund.succeeded",
                     "payment.succeeded"], "description": "orders"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("idempotent-replayed"), None);
    let id = created.body["id"].as_str().unwrap();
    assert!(id.starts_with("we_"), "{id}");
    let secret = created.body["secret"].as_str().unwrap();
    let bytes = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(bytes.len(), 32);
    let now = "2026-11-22T10:00:00.000Z";
    assert_eq!(
        created.body,
        json!({"id": id, "object": "webhook_endpoint", "url": URL,
               "events": ["payment.succeeded", "refund.succeeded"], "description": "orders",
               "status": "enabled", "created_at": now, "updated_at": now, "secret": secret})
    );
    // The secret is what signs, and it is stored only sealed.
    assert_eq!(w.signing("alice", id).await, [secret]);
    let stored = w.stored("alice", id).await.unwrap();
    assert!(!format!("{stored:?}").contains(secret));
    assert!(!stored.secrets[0].sealed.contains(secret));

    // Every other answer leaves it out.
    let shown = w.show("alice", id).await;
    assert_eq!(shown.status, 200);
    let mut without = created.body.clone();
    without.as_object_mut().unwrap().remove("secret");
    assert_eq!(shown.body, without);
    let listed = w.list("alice").await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.body,
        json!({"object": "list", "data": [without], "has_more": false, "next_cursor": null})
    );
    for answer in [&shown, &listed] {
        assert!(!answer.body.to_string().contains(secret));
        assert!(!answer.body.to_string().contains("whsec_"));
    }
}

#[tokio::test]
async fn a_replay_answers_the_same_secret_and_a_reused_key_is_refused() {
    let w = World::new();
    let body = json!({"url": LOCAL, "description": "dev"});
    let first = w.create("alice", "k-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["events"], json!([]));
    // Another field order and spacing is the same request.
    let again = w
        .send(
            Event::new("POST", "/webhook_endpoints", "/webhook_endpoints")
                .bearer(&w.token("alice"))
                .header("Idempotency-Key", "k-1")
                .header("Content-Type", "application/json")
                .raw_body(format!(r#"{{ "description": "dev", "url": "{LOCAL}" }}"#)),
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(
        w.list("alice").await.body["data"].as_array().unwrap().len(),
        1
    );

    // After a rotation the replay still answers the secret the endpoint was created with.
    let id = first.body["id"].as_str().unwrap();
    let rotated = w.rotate("alice", id).await;
    assert_eq!(rotated.status, 200);
    assert_eq!(w.create("alice", "k-1", &body).await.body, first.body);

    let reused = w.create("alice", "k-1", &json!({"url": URL})).await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "idempotency_key_reused")
    );
    // Keys are the caller's own: bob's "k-1" is another key.
    assert_eq!(w.create("bob", "k-1", &body).await.status, 201);

    // Deleted since: the replay cannot show a secret that no longer exists.
    assert_eq!(w.delete("alice", id).await.status, 200);
    let gone = w.create("alice", "k-1", &body).await;
    assert_eq!(
        (gone.status, gone.code()),
        (404, "webhook_endpoint_not_found")
    );
}

#[tokio::test]
async fn a_client_has_at_most_16_endpoints() {
    let w = World::new();
    let mut ids = Vec::new();
    for n in 0..16 {
        let created = w
            .create("alice", &format!("k-{n}"), &json!({"url": URL}))
            .await;
        assert_eq!(created.status, 201, "{n}: {}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let refused = w.create("alice", "k-16", &json!({"url": URL})).await;
    assert_eq!(
        (
            refused.status,
            refused.code(),
            refused.body["detail"].as_str()
        ),
        (
            422,
            "too_many_webhook_endpoints",
            Some("a client may have at most 16 webhook endpoints")
        )
    );
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    // A replay of an earlier creation is still answered; another client is not limited.
    let replay = w.create("alice", "k-3", &json!({"url": URL})).await;
    assert_eq!(
        (replay.status, replay.body["id"].as_str()),
        (201, Some(ids[3].as_str()))
    );
    assert_eq!(
        w.create("bob", "k-0", &json!({"url": URL})).await.status,
        201
    );
    // Deleting one makes room for one.
    assert_eq!(w.delete("alice", &ids[0]).await.status, 200);
    assert_eq!(
        w.create("alice", "k-17", &json!({"url": URL})).await.status,
        201
    );
    assert_eq!(
        w.create("alice", "k-18", &json!({"url": URL})).await.status,
        422
    );
    assert_eq!(
        w.list("alice").await.body["data"].as_array().unwrap().len(),
        16
    );
}

#[tokio::test]
async fn malformed_creations_are_refused_before_anything_is_written() {
    let w = World::new();
    let cases = [
        (
            json!({"url": "http://hooks.example.com/x"}),
            422,
            "webhook_url_not_allowed",
        ),
        (
            json!({"url": "https://10.0.0.7/x"}),
            422,
            "webhook_url_not_allowed",
        ),
        (
            json!({"url": "https://169.254.169.254/latest"}),
            422,
            "webhook_url_not_allowed",
        ),
        (json!({"url": URL, "events": []}), 400, "invalid_field"),
        (
            json!({"url": URL, "events": ["payment.refunded"]}),
            400,
            "invalid_field",
        ),
        (
            json!({"url": URL, "description": "x".repeat(501)}),
            400,
            "invalid_field",
        ),
        (
            json!({"url": URL, "description": "a\nb"}),
            400,
            "invalid_field",
        ),
        (
            json!({"url": URL, "secret": "whsec_mine"}),
            400,
            "invalid_field",
        ),
        (json!({"events": ["payment.created"]}), 400, "invalid_body"),
        (json!({"url": 7}), 400, "invalid_field"),
    ];
    for (n, (body, status, code)) in cases.into_iter().enumerate() {
        let refused = w.create("alice", &format!("k-{n}"), &body).await;
        assert_eq!((refused.status, refused.code()), (status, code), "{body}");
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
    }
    let no_key = w
        .send(
            Event::new("POST", "/webhook_endpoints", "/webhook_endpoints")
                .bearer(&w.token("alice"))
                .json(&json!({"url": URL})),
        )
        .await;
    assert_eq!(
        (no_key.status, no_key.code()),
        (400, "idempotency_key_missing")
    );
    assert_eq!(w.list("alice").await.body["data"], json!([]));
}

#[tokio::test]
async fn another_clients_endpoint_is_answered_exactly_as_a_missing_one() {
    let w = World::new();
    let (id, secret) = w.endpoint("alice", URL).await;
    let probes = [
        (
            "GET",
            "/webhook_endpoints/{endpoint_id}",
            format!("/webhook_endpoints/{id}"),
        ),
        (
            "DELETE",
            "/webhook_endpoints/{endpoint_id}",
            format!("/webhook_endpoints/{id}"),
        ),
        (
            "POST",
            "/webhook_endpoints/{endpoint_id}/rotate_secret",
            format!("/webhook_endpoints/{id}/rotate_secret"),
        ),
    ];
    let mut foreign = Vec::new();
    for (method, resource, path) in &probes {
        let answer = w.call("bob", method, resource, path).await;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "webhook_endpoint_not_found")
        );
        assert!(!answer.body.to_string().contains(&secret));
        foreign.push(answer.body);
    }
    assert_eq!(w.list("bob").await.body["data"], json!([]));
    // Nothing changed for alice: still there, still signing with the same secret.
    assert_eq!(w.show("alice", &id).await.status, 200);
    assert_eq!(w.signing("alice", &id).await, [secret]);
    // Once it is really missing, alice gets exactly what bob got.
    assert_eq!(w.delete("alice", &id).await.status, 200);
    for ((method, resource, path), bobs) in probes.iter().zip(foreign) {
        let missing = w.call("alice", method, resource, path).await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.body, bobs, "{method} {path}");
    }
}

#[tokio::test]
async fn deleting_an_endpoint_removes_it_once() {
    let w = World::new();
    let (id, _) = w.endpoint("alice", URL).await;
    let (kept, _) = w.endpoint("alice", LOCAL).await;
    let deleted = w.delete("alice", &id).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"id": id, "object": "webhook_endpoint", "deleted": true})
    );
    assert_eq!(w.show("alice", &id).await.status, 404);
    assert!(w.stored("alice", &id).await.is_none());
    let listed = w.list("alice").await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["id"], kept.as_str());
    let again = w.delete("alice", &id).await;
    assert_eq!(
        (again.status, again.code()),
        (404, "webhook_endpoint_not_found")
    );
    let with_body = w
        .send(
            Event::new(
                "DELETE",
                "/webhook_endpoints/{endpoint_id}",
                format!("/webhook_endpoints/{kept}"),
            )
            .bearer(&w.token("alice"))
            .json(&json!({"force": true})),
        )
        .await;
    assert_eq!((with_body.status, with_body.code()), (400, "invalid_body"));
    assert_eq!(w.show("alice", &kept).await.status, 200);
}

#[tokio::test]
async fn rotation_shows_the_new_secret_once_and_both_sign_for_24_hours() {
    let w = World::new();
    let (id, first) = w.endpoint("alice", URL).await;
    w.api.clock.advance(time::Duration::minutes(5));
    let rotated = w.rotate("alice", &id).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.body["secret"].as_str().unwrap().to_owned();
    assert!(second.starts_with("whsec_") && second != first);
    assert_eq!(rotated.body["updated_at"], "2026-11-22T10:05:00.000Z");
    assert_eq!(rotated.body["created_at"], "2026-11-22T10:00:00.000Z");
    let shown = w.show("alice", &id).await;
    let mut without = rotated.body.clone();
    without.as_object_mut().unwrap().remove("secret");
    assert_eq!(shown.body, without);
    assert_eq!(
        w.signing("alice", &id).await,
        [second.clone(), first.clone()]
    );
    w.api.clock.advance(time::Duration::hours(24));
    assert_eq!(w.signing("alice", &id).await, [second]);

    // At most four secrets sign at once: a fourth rotation within a day is refused.
    for _ in 0..3 {
        assert_eq!(w.rotate("alice", &id).await.status, 200);
    }
    let refused = w.rotate("alice", &id).await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "too_many_secret_rotations")
    );
    assert_eq!(w.signing("alice", &id).await.len(), 4);
    let with_body = w
        .send(
            Event::new(
                "POST",
                "/webhook_endpoints/{endpoint_id}/rotate_secret",
                format!("/webhook_endpoints/{id}/rotate_secret"),
            )
            .bearer(&w.token("alice"))
            .json(&json!({"secret": "whsec_mine"})),
        )
        .await;
    assert_eq!((with_body.status, with_body.code()), (400, "invalid_body"));
}

#[tokio::test]
async fn every_route_needs_the_webhooks_manage_scope_and_well_formed_ids() {
    let w = World::new();
    let (id, _) = w.endpoint("alice", URL).await;
    let evt = "evt_01JDKT0000000000000000000A";
    let routes = [
        (
            "POST",
            "/webhook_endpoints",
            "/webhook_endpoints".to_owned(),
        ),
        ("GET", "/webhook_endpoints", "/webhook_endpoints".to_owned()),
        (
            "GET",
            "/webhook_endpoints/{endpoint_id}",
            format!("/webhook_endpoints/{id}"),
        ),
        (
            "DELETE",
            "/webhook_endpoints/{endpoint_id}",
            format!("/webhook_endpoints/{id}"),
        ),
        (
            "POST",
            "/webhook_endpoints/{endpoint_id}/rotate_secret",
            format!("/webhook_endpoints/{id}/rotate_secret"),
        ),
        ("GET", "/events", "/events".to_owned()),
        ("GET", "/events/{event_id}", format!("/events/{evt}")),
        (
            "POST",
            "/events/{event_id}/resend",
            format!("/events/{evt}/resend"),
        ),
    ];
    let others = w.api.token("alice", OTHER_SCOPES);
    for (method, resource, path) in &routes {
        let refused = w
            .send(Event::new(method, resource, path.clone()).bearer(&others))
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (403, "insufficient_scope"),
            "{path}"
        );
        let anonymous = w.send(Event::new(method, resource, path.clone())).await;
        assert_eq!(
            (anonymous.status, anonymous.code()),
            (401, "invalid_token"),
            "{path}"
        );
    }
    assert_eq!(w.show("alice", &id).await.status, 200);
    for (resource, path) in [
        (
            "/webhook_endpoints/{endpoint_id}",
            "/webhook_endpoints/pay_1".to_owned(),
        ),
        (
            "/webhook_endpoints/{endpoint_id}",
            format!("/webhook_endpoints/{}", &id[..10]),
        ),
        ("/events/{event_id}", format!("/events/{id}")),
    ] {
        let refused = w
            .send(Event::new("GET", resource, path.clone()).bearer(&w.api.token("alice", MANAGE)))
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "invalid_id"),
            "{path}"
        );
    }
    let missing = w.show("alice", &missing_id()).await;
    assert_eq!(
        (missing.status, missing.code()),
        (404, "webhook_endpoint_not_found")
    );
}
