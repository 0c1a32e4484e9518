//! Managing endpoints end to end, on the embedded store and on moto, every request verified
//! with `standardwebhooks` from PyPI: after `rotate_secret` each delivery carries two
//! signatures, and the old secret and the new one each verify it on their own; no read shows a
//! secret; `POST /events/{id}/resend` delivers an event again (same `webhook-id`), to every
//! endpoint or to the one named; a deleted endpoint gets nothing more.

mod webhooks_support;

use std::time::Duration;

use serde_json::json;
use webhooks_support::{
    Client, PAYER, eventually,
    gateway::{InProcess, Store},
    payment,
    receiver::{Received, Receiver, assert_all_verified},
};

const WAIT: Duration = Duration::from_secs(60);

/// What reached `path` for the event `id`, waiting for at least `n` requests.
async fn requests(receiver: &Receiver, path: &str, id: &str, n: usize) -> Vec<Received> {
    eventually(
        WAIT,
        &format!("{n} request(s) of {id} at {path}"),
        || async {
            let got: Vec<Received> = receiver
                .received_at(path)
                .await
                .into_iter()
                .filter(|r| r.webhook_id.as_deref() == Some(id))
                .collect();
            (got.len() >= n).then_some(got)
        },
    )
    .await
}

/// The newest event of `client` (of a payment just made).
async fn newest(client: &Client) -> String {
    let page = client.get("/events?limit=1").await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page.body["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn flow(store: Store) {
    let receiver = Receiver::start().await;
    let gateway = InProcess::start(&store, &[]).await;
    let payer = Client::login(gateway.addr, PAYER).await;
    let (main, other) = ("/ok/rotated", "/ok/other");
    let succeeded: &[&str] = &["payment.succeeded"];
    let created = payer.register(&receiver.url(main), Some(succeeded)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();
    receiver.add_secret(main, "old", &old).await;
    assert_eq!(
        (&created["url"], &created["events"], &created["status"]),
        (
            &json!(receiver.url(main)),
            &json!(succeeded),
            &json!("enabled")
        )
    );

    payer.post_ok("/payments", payment(100, true), 201).await;
    let before = newest(&payer).await;
    let first = requests(&receiver, main, &before, 1).await;
    assert_all_verified(&first);
    assert_eq!(
        first[0].verified_by,
        ["old"],
        "one signature, the only secret"
    );

    // Rotation: a new secret, returned once; both sign from now on.
    let rotated = payer
        .post_ok(
            &format!("/webhook_endpoints/{id}/rotate_secret"),
            json!({}),
            200,
        )
        .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old, "{rotated:?}");
    receiver.add_secret(main, "new", &new).await;
    for read in [
        payer.get("/webhook_endpoints").await,
        payer.get(&format!("/webhook_endpoints/{id}")).await,
    ] {
        assert_eq!(read.status, 200, "{:?}", read.body);
        let text = read.body.to_string();
        assert!(
            !text.contains(&old) && !text.contains(&new) && !text.contains("\"secret\""),
            "a read shows no secret: {text}"
        );
    }
    payer.post_ok("/payments", payment(200, true), 201).await;
    let after = newest(&payer).await;
    let signed = requests(&receiver, main, &after, 1).await;
    assert_all_verified(&signed);
    let signatures = signed[0].signature.clone().unwrap_or_default();
    assert_eq!(
        signatures
            .split(' ')
            .filter(|s| s.starts_with("v1,"))
            .count(),
        2,
        "two signatures: {signatures}"
    );
    assert_eq!(
        signed[0].verified_by,
        ["old", "new"],
        "the old secret and the new one each verify it"
    );

    // Resend to every endpoint: the first event again, same webhook-id, now signed twice; a
    // second endpoint (registered since) gets it too.
    let second = payer.register(&receiver.url(other), Some(succeeded)).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    receiver
        .add_secret(other, "v1", second["secret"].as_str().unwrap())
        .await;
    let resent = payer
        .call("POST", &format!("/events/{before}/resend"), Some(json!({})))
        .await;
    assert_eq!(resent.status, 202, "{:?}", resent.body);
    let again = requests(&receiver, main, &before, 2).await;
    assert_all_verified(&again);
    assert_eq!(again[1].body, again[0].body, "the same bytes");
    assert_eq!(again[1].verified_by, ["old", "new"]);
    requests(&receiver, other, &before, 1).await;

    // Resend to one endpoint: only that one gets it.
    let resent = payer
        .call(
            "POST",
            &format!("/events/{after}/resend"),
            Some(json!({"endpoint_id": second_id})),
        )
        .await;
    assert_eq!(resent.status, 202, "{:?}", resent.body);
    requests(&receiver, other, &after, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let main_after: Vec<Received> = receiver
        .received_at(main)
        .await
        .into_iter()
        .filter(|r| r.webhook_id.as_deref() == Some(&after))
        .collect();
    assert_eq!(main_after.len(), 1, "not resent to the other endpoint");

    // Deleted: gone from the list, and nothing more is sent to it.
    let deleted = payer
        .call("DELETE", &format!("/webhook_endpoints/{second_id}"), None)
        .await;
    assert!(matches!(deleted.status, 200 | 204), "{:?}", deleted.body);
    let gone = payer.get(&format!("/webhook_endpoints/{second_id}")).await;
    assert_eq!(
        (gone.status, gone.code()),
        (404, "webhook_endpoint_not_found")
    );
    let listed = payer.get("/webhook_endpoints").await;
    assert!(
        !listed.body.to_string().contains(&second_id),
        "{:?}",
        listed.body
    );
    let before_other = receiver.received_at(other).await.len();
    payer.post_ok("/payments", payment(300, true), 201).await;
    let last = newest(&payer).await;
    requests(&receiver, main, &last, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.received_at(other).await.len(),
        before_other,
        "nothing to a deleted endpoint"
    );
    assert_all_verified(&receiver.received().await);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_resend_and_delete_on_the_embedded_store() {
    flow(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_resend_and_delete_on_dynamodb() {
    flow(Store::fresh_moto("whmanage")).await;
}
