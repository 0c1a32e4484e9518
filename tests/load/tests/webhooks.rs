//! A short `webhooks` run in CI, on the embedded store and on moto: it proves the benchmark
//! measures what it says (every payment answered 201 in both phases, every event of the idle
//! phase delivered once and timed, deliveries counted under load) rather than timing anything.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_on_the_embedded_store_delivers_and_times_every_event() {
    short_run(StoreChoice::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_on_moto_delivers_and_times_every_event() {
    short_run(StoreChoice::dynamodb(&paygate_testkit::moto_endpoint())).await;
}
