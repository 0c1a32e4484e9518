//! Scheduled functions from the template: the `expire` function's `rate(…)` is planned, and
//! firing it (in-process) releases holds whose confirmation window has closed.

mod common;

use std::time::Duration;

use paygate_local::schedule;
use paygate_template::Template;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expiry_sweep_runs_on_its_schedule() {
    let template = Template::bundled().expect("template");
    let running = common::start(&template).await;
    let (fire, skipped) = schedule::plan(running.gateway.schedules());
    assert!(skipped.is_empty(), "{skipped:?}");
    let [(expire, period)] = fire.as_slice() else {
        panic!("one schedule: {fire:?}")
    };
    assert_eq!(expire.binary.as_deref(), Some("expire"));
    assert_eq!(*period, Duration::from_secs(60), "rate(1 minute)");

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
}
