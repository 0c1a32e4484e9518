//! At least once, never lost: `paygate-local` (its binary, in its own process) on moto is
//! killed with SIGKILL while deliveries are pending — first attempts under way, retries queued
//! (one endpoint answers 500 to every event's first attempt), events not yet read from the
//! stream — and restarted on the same tables. Every event ends delivered (a 200) to every
//! endpoint, every request verifies with `standardwebhooks`; duplicates are allowed, counted
//! and printed.

mod webhooks_support;

use std::{collections::BTreeMap, time::Duration};

use webhooks_support::{
    Client, PAYER, eventually,
    gateway::{Process, Store},
    payment,
    receiver::{Receiver, assert_all_verified},
};

const PAYMENTS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_loses_no_delivery_on_dynamodb() {
    let receiver = Receiver::start().await;
    let store = Store::fresh_moto("crash");
    let gateway = Process::spawn(&store, &[]).await;
    let payer = Client::login(gateway.addr, PAYER).await;
    let paths = ["/fail/1/crash", "/ok/crash"];
    for path in paths {
        let created = payer.register(&receiver.url(path), None).await;
        receiver
            .add_secret(path, "v1", created["secret"].as_str().unwrap())
            .await;
    }
    // Half held, half captured at once: 1 or 2 events each.
    for i in 0..PAYMENTS {
        payer
            .post_ok("/payments", payment(100, i % 2 == 0), 201)
            .await;
    }
    eventually(
        Duration::from_secs(60),
        "a first delivery before the kill",
        || async { (!receiver.received().await.is_empty()).then_some(()) },
    )
    .await;
    let before_kill = receiver.received().await.len();
    gateway.kill().await;

    let restarted = Process::spawn(&store, &[]).await;
    let payer = Client::login(restarted.addr, PAYER).await;
    let events = payer.events().await;
    assert_eq!(
        events.len(),
        PAYMENTS + PAYMENTS / 2,
        "every event was committed"
    );
    let delivered = eventually(
        Duration::from_secs(120),
        "every event delivered to both endpoints",
        || async {
            let got = receiver.received().await;
            let all = paths.iter().all(|path| {
                events.iter().all(|e| {
                    got.iter().any(|r| {
                        r.path == *path
                            && r.webhook_id.as_deref() == e["id"].as_str()
                            && r.status == Some(200)
                    })
                })
            });
            all.then_some(got)
        },
    )
    .await;
    assert_all_verified(&delivered);

    // Requests per (endpoint, event) beyond what the receiver's behaviour needs: `/fail/1`
    // takes two (a 500, then a 200), `/ok` one.
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &delivered {
        *per.entry((r.path.clone(), r.webhook_id.clone().unwrap()))
            .or_default() += 1;
    }
    let needed = |path: &str| if path.starts_with("/fail/1") { 2 } else { 1 };
    let duplicates: usize = per
        .iter()
        .map(|((path, _), n)| n.saturating_sub(needed(path)))
        .sum();
    for ((path, id), n) in &per {
        assert!(
            *n >= needed(path),
            "{path} {id}: {n} requests, fewer than its behaviour needs"
        );
    }
    println!(
        "crash test: {} events x {} endpoints, {} requests ({} before the SIGKILL), {} \
         duplicates, 0 lost",
        events.len(),
        paths.len(),
        delivered.len(),
        before_kill,
        duplicates
    );
    restarted.kill().await;
}
