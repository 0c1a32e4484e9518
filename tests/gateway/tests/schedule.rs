//! Scheduled functions from the template: the `expire` and `post` functions' `rate(…)` are
//! planned; firing `expire` (in-process) releases holds whose confirmation window has closed,
//! firing `post` posts batched accounts' credits older than the sweep's minimum age.

mod common;

use std::time::Duration;

use paygate_local::schedule;
use paygate_shared::{Clock, PostingMode};
use paygate_template::Template;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expiry_sweep_runs_on_its_schedule() {
    let template = Template::bundled().expect("template");
    let running = common::start(&template).await;
    let (fire, skipped) = schedule::plan(running.gateway.schedules());
    assert!(skipped.is_empty(), "{skipped:?}");
    let by = |binary: &str| {
        fire.iter()
            .find(|(s, _)| s.binary.as_deref() == Some(binary))
            .unwrap_or_else(|| panic!("a {binary} schedule: {fire:?}"))
    };
    let ((expire, period), (post, post_period)) = (by("expire"), by("post"));
    assert_eq!(fire.len(), 2, "{fire:?}");
    assert_eq!(*period, Duration::from_secs(60), "rate(1 minute)");
    assert_eq!(*post_period, Duration::from_secs(60), "rate(1 minute)");

    let token = running.token().await;
    let pending = running
        .post("/v1/payments", &token, Some(running.payment(700, false)))
        .await;
    assert_eq!(pending.status, 201);
    let id = pending.body["id"].as_str().expect("id").to_owned();
    let payer = format!("/v1/accounts/{}/balance", running.seeded.accounts[0]);
    let held = running.get(&payer, &token).await;
    assert_eq!(held.body["available"], 100_000 - 700);

    // Not overdue yet: a run changes nothing.
    schedule::fire(&running.gateway, expire).await;
    let still = running.get(&format!("/v1/payments/{id}"), &token).await;
    assert_eq!(still.body["status"], "pending");

    // Past its window (15 minutes), the schedule (sped up here) releases the hold.
    running.clock.advance(time::Duration::minutes(16));
    let token = running.token().await;
    let timers = schedule::spawn(
        running.gateway.clone(),
        vec![(expire.clone(), Duration::from_millis(20))],
    );
    let mut status = String::new();
    for _ in 0..250 {
        let payment = running.get(&format!("/v1/payments/{id}"), &token).await;
        status = payment.body["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status == "expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for timer in timers {
        timer.abort();
    }
    assert_eq!(status, "expired");
    let released = running.get(&payer, &token).await;
    assert_eq!(released.body["available"], 100_000);
    assert_eq!(released.body["balance"], 100_000);

    // The posting sweep (no poster runs here but the schedule): a batched account's credit is
    // left to the stream while young, and posted by the sweep once 30 s old.
    let merchant = running.seeded.accounts[1];
    let store = &running.gateway.backend().store;
    store
        .set_posting(merchant, PostingMode::Batched, running.clock.now())
        .await
        .expect("set_posting");
    let paid = running
        .post("/v1/payments", &token, Some(running.payment(250, true)))
        .await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    let shown = format!("/v1/accounts/{merchant}/balance");
    let before = running.get(&shown, &token).await;
    assert_eq!(before.body["incoming"], 250, "{:?}", before.body);
    schedule::fire(&running.gateway, post).await;
    assert_eq!(
        running.get(&shown, &token).await.body["incoming"],
        250,
        "young: left"
    );
    running.clock.advance(time::Duration::seconds(31));
    let token = running.token().await;
    schedule::fire(&running.gateway, post).await;
    let after = running.get(&shown, &token).await;
    assert_eq!(after.body["incoming"], 0, "{:?}", after.body);
    assert_eq!(
        after.body["balance"].as_i64(),
        before.body["balance"].as_i64().map(|b| b + 250)
    );
}
