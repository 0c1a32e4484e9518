//! A short `throughput` run in CI: every scenario at 1 and 4 connections through the in-process
//! gateway on the embedded store, and at 1 connection on moto. It proves the benchmark measures
//! what it says (each request answered 2xx, the pay-confirm pairs captured) rather than timing
//! anything.

use std::time::Duration;

use hyper::{Method, body::Bytes};
use paygate_load::{
    audit,
    client::{Connection, Credentials},
    setup::{self, LoadClient, SeedPlan, StoreChoice},
    throughput::{self, Scenario, ThroughputOptions},
};
use paygate_shared::Currency;
use serde_json::json;

/// Every scenario at every concurrency, briefly: each cell recorded requests, all answered 2xx.
fn every_scenario_answers_2xx(store: StoreChoice, concurrency: &[usize]) {
    let options = ThroughputOptions {
        store,
        concurrency: concurrency.to_vec(),
        seconds: 0.3,
        warmup: 0.1,
        scenarios: Scenario::ALL.to_vec(),
        gateway_threads: 1,
        load_threads: 1,
        gateway_bin: None,
    };
    let (setting, cells) = throughput::run(&options).expect("the gateway starts and is seeded");
    println!("{}", throughput::markdown(&setting, &cells));
    assert_eq!(cells.len(), Scenario::ALL.len() * concurrency.len());
    for cell in &cells {
        let what = format!("{} x{}", cell.scenario.name(), cell.concurrency);
        assert!(cell.requests > 0, "{what}: no request recorded");
        assert_eq!(cell.errors, 0, "{what}: non-2xx answers");
    }
}

#[test]
fn every_scenario_answers_2xx_at_every_concurrency() {
    every_scenario_answers_2xx(StoreChoice::Memory, &[1, 4]);
}

/// The same against moto (each scenario at 1 connection, fresh tables before every cell), as
/// `tests/bench.sh` runs it for the moto section of docs/performance.md.
#[test]
fn every_scenario_answers_2xx_on_moto() {
    let endpoint = paygate_testkit::moto_endpoint();
    every_scenario_answers_2xx(StoreChoice::dynamodb(&endpoint), &[1]);
}

/// `setup::reset` (run before every moto cell): the payments and entries of a run are gone,
/// and the same accounts are back at their opening balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_leaves_fresh_tables_with_the_same_accounts() {
    let endpoint = paygate_testkit::moto_endpoint();
    let plan = SeedPlan {
        clients: vec![LoadClient::numbered(0)],
        accounts: vec![(0, Currency::CNY, 5_000), (0, Currency::CNY, 5_000)],
    };
    let running = setup::start(&StoreChoice::dynamodb(&endpoint), &plan)
        .await
        .expect("started on moto");
    let client = &running.clients[0];
    let mut creds = Credentials {
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.clone(),
        api_key: client.api_key.clone(),
        bearer: String::new(),
    };
    let mut conn = Connection::new(running.addr, Duration::from_secs(30));
    creds.fetch_token(&mut conn).await.expect("a token");
    let (a, b) = (running.accounts[0].id, running.accounts[1].id);
    let body = json!({"source_account": a.to_string(), "destination_account": b.to_string(),
                      "amount": 1_200, "currency": "CNY", "confirm": true});
    let paid = conn
        .send(
            Method::POST,
            "/v1/payments",
            &[
                ("x-api-key", creds.api_key.as_str()),
                ("authorization", creds.bearer.as_str()),
                ("content-type", "application/json"),
                ("idempotency-key", "reset-test-1"),
            ],
            Bytes::from(body.to_string()),
        )
        .await
        .expect("an answer");
    assert_eq!(paid.status, 201, "{}", String::from_utf8_lossy(&paid.body));
    // Seeding funds each account with a payment from the treasury; the rest is this run's.
    let counts = |snapshot: &audit::Snapshot| {
        let funding = snapshot.payments.iter().filter(|p| p.funding).count();
        let others = snapshot.payments.len() - funding;
        (funding, others, snapshot.entries.len())
    };
    let before = audit::snapshot(&running.store).await.expect("a snapshot");
    assert_eq!(counts(&before), (2, 1, 2 * 2 + 2), "{before:?}");

    setup::reset(&running, 7_000).await.expect("reset");

    let after = audit::snapshot(&running.store).await.expect("a snapshot");
    assert_eq!(counts(&after), (2, 0, 2 * 2), "{after:?}");
    let mut balances: Vec<(String, i64, i64)> = after
        .accounts
        .iter()
        .filter(|row| !row.treasury)
        .map(|row| (row.id.clone(), row.balance, row.available))
        .collect();
    balances.sort();
    let mut expected = vec![(a.to_string(), 7_000, 7_000), (b.to_string(), 7_000, 7_000)];
    expected.sort();
    assert_eq!(balances, expected);
    running.shutdown().await;
}
