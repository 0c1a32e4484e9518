//! The webhook routes with tokens that lack `webhooks:manage`: each answers 403
//! `insufficient_scope` before it reads or writes anything.

use serde_json::json;

use crate::support::{Client, Tally, Target, assert_problem};

pub async fn run(target: &Target, tally: &mut Tally, alice: &Client, endpoint: &str, event: &str) {
    let register = json!({"url": "http://127.0.0.1:9/scopes"}).to_string();
    let routes: [(&str, String, &str); 8] = [
        (
            "POST",
            "/v1/webhook_endpoints".to_owned(),
            register.as_str(),
        ),
        ("GET", "/v1/webhook_endpoints".to_owned(), ""),
        ("GET", format!("/v1/webhook_endpoints/{endpoint}"), ""),
        ("DELETE", format!("/v1/webhook_endpoints/{endpoint}"), ""),
        (
            "POST",
            format!("/v1/webhook_endpoints/{endpoint}/rotate_secret"),
            "",
        ),
        ("GET", "/v1/events".to_owned(), ""),
        ("GET", format!("/v1/events/{event}"), ""),
        ("POST", format!("/v1/events/{event}/resend"), "{}"),
    ];
    for scope in ["payments:write", "payments:read", "accounts:read"] {
        let token = target.token(alice, Some(scope)).await;
        for (method, path, body) in &routes {
            let case = format!("{method} {path} with only {scope}");
            let bearer = format!("Bearer {token}");
            let mut headers = vec![
                ("x-api-key", alice.api_key.as_str()),
                ("authorization", bearer.as_str()),
                ("idempotency-key", "scope-attack"),
            ];
            if !body.is_empty() {
                headers.push(("content-type", "application/json"));
            }
            let answer = target.send(method, path, &headers, body.to_string()).await;
            assert_problem(&answer, 403, "insufficient_scope", &case);
            tally.refused(case);
        }
    }
    // Still there, with one endpoint: nothing was created or deleted.
    let token = target.token(alice, None).await;
    let list = target.get(alice, "/v1/webhook_endpoints", &token).await;
    assert_eq!(
        list.body["data"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        list.body
    );
}
