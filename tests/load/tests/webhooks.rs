//! A short `webhooks` run in CI, on the embedded store and on moto: it proves the benchmark
//! measures what it says (every payment answered 201 in both phases, every event of the idle
//! phase delivered once and timed, deliveries counted under load) rather than timing anything.

use std::sync::{Mutex, PoisonError};

use paygate_load::{
    setup::StoreChoice,
    webhooks::{self, WebhookOptions},
};

async fn short_run(store: StoreChoice) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let options = WebhookOptions {
        store,
        concurrency: 2,
        seconds: 1.0,
        samples: 4,
    };
    let report = webhooks::run(&options).await.expect("the run");
    println!("{}", webhooks::markdown(&report, &options));
    for (what, phase) in [("without", &report.without), ("with", &report.with)] {
        assert!(phase.payments > 0, "{what}: no payment recorded");
        assert_eq!(phase.errors, 0, "{what}: non-201 answers: {phase:?}");
    }
    // Each one-step payment makes payment.created and payment.succeeded.
    assert_eq!(report.idle.events, 2 * options.samples, "{report:?}");
    assert!(report.idle.p50_ms.is_finite() && report.idle.p50_ms >= 0.0);
    assert!(report.loaded.events > 0, "{report:?}");
    assert_eq!(report.duplicates, 0, "a fast receiver gets each event once");
}

/// One run at a time: the embedded store's run keeps both cores busy delivering, and moto
/// sharing them with it answers so slowly that its short window measures the contention.
fn one_at_a_time(store: StoreChoice) {
    static RUNNING: Mutex<()> = Mutex::new(());
    let _running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(short_run(store));
}

#[test]
fn a_short_run_on_the_embedded_store_delivers_and_times_every_event() {
    one_at_a_time(StoreChoice::Memory);
}

#[test]
fn a_short_run_on_moto_delivers_and_times_every_event() {
    one_at_a_time(StoreChoice::dynamodb(&paygate_testkit::moto_endpoint()));
}
