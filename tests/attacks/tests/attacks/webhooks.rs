//! Attacks on the webhook routes (issue 14). Bob, with every scope, goes after alice's webhook
//! endpoints and events: each answer is the 404 a missing one gets (same code, title and detail
//! up to the id), and alice's endpoint stays as it was. Tokens without `webhooks:manage` get
//! 403 `insufficient_scope` on every route. A secret is shown only by the answers that create
//! it (registration, rotation), never by a list or a read, and every secret is on the
//! watchlist the run's log check reads.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{Answer, Client, Tally, Target, Watchlist, assert_problem, like_missing};

const MISSING_ENDPOINT: &str = "we_01JZ8Q4W2N6V3T5R7P9M1K0H2G";
const MISSING_EVENT: &str = "evt_01JZ8Q4W2N6V3T5R7P9M1K0H2G";

/// Registers an endpoint of `client`; its secret goes on the watchlist.
pub async fn register(target: &Target, client: &Client, token: &str, url: &str) -> Value {
    let created = target
        .post(
            client,
            "/v1/webhook_endpoints",
            token,
            &json!({"url": url}).to_string(),
        )
        .await;
    assert_eq!(created.status, 201, "{url}: {:?}", created.body);
    let secret = created.body["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    target.watch.add("a webhook secret", secret);
    created.body
}

/// No answer of a read shows a secret: no `secret` field, none of `secrets` in the text.
fn no_secret(answer: &Answer, secrets: &[&str], case: &str) {
    assert_eq!(answer.status, 200, "{case}: {:?}", answer.body);
    let text = answer.body.to_string();
    assert!(
        !text.contains("\"secret\""),
        "{case}: a secret field: {text}"
    );
    assert!(!text.contains("whsec_"), "{case}: a secret: {text}");
    for secret in secrets {
        assert!(!text.contains(secret), "{case}: the secret itself");
    }
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("webhooks");
    let target = Target::start(watch, "premium").await;
    let (alice, bob) = (target.alice.clone(), target.bob.clone());
    let alice_token = target.token(&alice, None).await;
    let bob_token = target.token(&bob, None).await;

    // Alice's endpoint (a loopback receiver, as paygate-local allows), rotated once, and an
    // event of hers (a one-step payment between her accounts).
    let created = register(&target, &alice, &alice_token, "http://127.0.0.1:9/alice").await;
    let endpoint = created["id"].as_str().expect("id").to_owned();
    let first_secret = created["secret"].as_str().expect("secret").to_owned();
    let rotated = target
        .post(
            &alice,
            &format!("/v1/webhook_endpoints/{endpoint}/rotate_secret"),
            &alice_token,
            "",
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let second_secret = rotated.body["secret"].as_str().expect("secret").to_owned();
    target.watch.add("a rotated webhook secret", &second_secret);
    assert_ne!(first_secret, second_secret);
    let [a1, a2] = [alice.accounts[0], alice.accounts[1]];
    let paid = target
        .post(
            &alice,
            "/v1/payments",
            &alice_token,
            &Target::payment(a1, a2, 300, true),
        )
        .await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    let events = target.get(&alice, "/v1/events", &alice_token).await;
    assert_eq!(events.status, 200, "{:?}", events.body);
    let event = events.body["data"][0]["id"]
        .as_str()
        .expect("alice has an event")
        .to_owned();

    // Secrets never in a read.
    let secrets = [first_secret.as_str(), second_secret.as_str()];
    let list = target
        .get(&alice, "/v1/webhook_endpoints", &alice_token)
        .await;
    no_secret(&list, &secrets, "the endpoint list");
    assert_eq!(list.body["data"][0]["id"], endpoint.as_str());
    tally.refused("the endpoint list shows no secret");
    let shown = target
        .get(
            &alice,
            &format!("/v1/webhook_endpoints/{endpoint}"),
            &alice_token,
        )
        .await;
    no_secret(&shown, &secrets, "an endpoint");
    tally.refused("an endpoint's read shows no secret");
    let detail = target
        .get(&alice, &format!("/v1/events/{event}"), &alice_token)
        .await;
    no_secret(&detail, &secrets, "an event with its deliveries");
    tally.refused("an event's read shows no secret");

    bola(
        &target, &mut tally, &alice, &bob, &bob_token, &endpoint, &event,
    )
    .await;
    crate::webhooks_scopes::run(&target, &mut tally, &alice, &endpoint, &event).await;
    crate::webhooks_urls::run(&target, &mut tally, &alice, &alice_token).await;

    // Alice's endpoint is untouched by it all.
    let after = target
        .get(
            &alice,
            &format!("/v1/webhook_endpoints/{endpoint}"),
            &alice_token,
        )
        .await;
    assert_eq!(after.body, shown.body, "alice's endpoint unchanged");
    tally
}

/// Bob, every scope, with alice's endpoint and event ids.
async fn bola(
    target: &Target,
    tally: &mut Tally,
    alice: &Client,
    bob: &Client,
    bob_token: &str,
    endpoint: &str,
    event: &str,
) {
    let missing_endpoint = target
        .get(
            bob,
            &format!("/v1/webhook_endpoints/{MISSING_ENDPOINT}"),
            bob_token,
        )
        .await;
    assert_problem(
        &missing_endpoint,
        404,
        "webhook_endpoint_not_found",
        "a missing endpoint",
    );
    let missing_event = target
        .get(bob, &format!("/v1/events/{MISSING_EVENT}"), bob_token)
        .await;
    assert_problem(&missing_event, 404, "event_not_found", "a missing event");

    let read = target
        .get(bob, &format!("/v1/webhook_endpoints/{endpoint}"), bob_token)
        .await;
    let case = "bob reads alice's webhook endpoint";
    like_missing(&read, &missing_endpoint, endpoint, MISSING_ENDPOINT, case);
    tally.refused(case);

    let missing_delete = target
        .send(
            "DELETE",
            &format!("/v1/webhook_endpoints/{MISSING_ENDPOINT}"),
            &[
                ("x-api-key", &bob.api_key),
                ("authorization", &format!("Bearer {bob_token}")),
            ],
            "",
        )
        .await;
    let delete = target
        .send(
            "DELETE",
            &format!("/v1/webhook_endpoints/{endpoint}"),
            &[
                ("x-api-key", &bob.api_key),
                ("authorization", &format!("Bearer {bob_token}")),
            ],
            "",
        )
        .await;
    let case = "bob deletes alice's webhook endpoint";
    like_missing(&delete, &missing_delete, endpoint, MISSING_ENDPOINT, case);
    tally.refused(case);

    let missing_rotate = target
        .post(
            bob,
            &format!("/v1/webhook_endpoints/{MISSING_ENDPOINT}/rotate_secret"),
            bob_token,
            "",
        )
        .await;
    let rotate = target
        .post(
            bob,
            &format!("/v1/webhook_endpoints/{endpoint}/rotate_secret"),
            bob_token,
            "",
        )
        .await;
    let case = "bob rotates alice's webhook secret";
    like_missing(&rotate, &missing_rotate, endpoint, MISSING_ENDPOINT, case);
    assert!(rotate.body["secret"].is_null(), "{case}");
    tally.refused(case);

    let case = "bob reads alice's event";
    let answer = target
        .get(bob, &format!("/v1/events/{event}"), bob_token)
        .await;
    like_missing(&answer, &missing_event, event, MISSING_EVENT, case);
    tally.refused(case);

    let missing_resend = target
        .post(
            bob,
            &format!("/v1/events/{MISSING_EVENT}/resend"),
            bob_token,
            "{}",
        )
        .await;
    let case = "bob resends alice's event";
    let answer = target
        .post(bob, &format!("/v1/events/{event}/resend"), bob_token, "{}")
        .await;
    like_missing(&answer, &missing_resend, event, MISSING_EVENT, case);
    tally.refused(case);

    let case = "bob lists events: none of alice's";
    let list = target.get(bob, "/v1/events", bob_token).await;
    assert_eq!(list.status, 200, "{case}: {:?}", list.body);
    assert!(!list.body.to_string().contains(event), "{case}");
    let listed = target.get(bob, "/v1/webhook_endpoints", bob_token).await;
    assert_eq!(listed.status, 200, "{case}: {:?}", listed.body);
    assert!(!listed.body.to_string().contains(endpoint), "{case}");
    tally.refused(case);

    // Bob's own event, resent to alice's endpoint: the endpoint is not his.
    let [b1, b2] = [bob.accounts[0], bob.accounts[1]];
    let paid = target
        .post(
            bob,
            "/v1/payments",
            bob_token,
            &Target::payment(b1, b2, 100, true),
        )
        .await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    let his = target.get(bob, "/v1/events?limit=1", bob_token).await;
    let his = his.body["data"][0]["id"]
        .as_str()
        .expect("bob's event")
        .to_owned();
    let case = "bob resends his event to alice's endpoint";
    let missing = target
        .post(
            bob,
            &format!("/v1/events/{his}/resend"),
            bob_token,
            &json!({"endpoint_id": MISSING_ENDPOINT}).to_string(),
        )
        .await;
    let answer = target
        .post(
            bob,
            &format!("/v1/events/{his}/resend"),
            bob_token,
            &json!({"endpoint_id": endpoint}).to_string(),
        )
        .await;
    assert_problem(&missing, 404, "webhook_endpoint_not_found", case);
    like_missing(&answer, &missing, endpoint, MISSING_ENDPOINT, case);
    tally.refused(case);
    let _ = alice;
}
