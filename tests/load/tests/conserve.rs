//! A bounded `conserve` run in CI: concurrent payments, confirms (whole and partial), cancels,
//! refunds (partial, full, concurrent, resent), retries on the same Idempotency-Key, lost
//! answers, duplicate confirms and confirm-vs-cancel races through the local gateway, then the
//! audit of the store: no violation, no 5xx, no hang. The hot accounts are `batched` (issue
//! 15): the poster runs, conservation with the unposted credits is checked at instants during
//! the load, one hot account is switched to `immediate` and back, and every credit is posted
//! before the audit.

use paygate_load::{
    conserve::{self, ConserveOptions},
    setup::StoreChoice,
};

fn assert_clean(report: &conserve::ConserveReport) {
    println!("{}", report.table());
    assert_eq!(report.violations, Vec::<String>::new());
    assert_eq!(
        report.stats.all_5xx(),
        0,
        "{:?}",
        report.stats.server_error_samples
    );
    assert_eq!(report.stats.timeouts, 0);
    assert_eq!(report.stats.transport_errors, 0);
    // The run did what it is for: payments settled every way, races and retries happened.
    for status in ["succeeded", "canceled", "pending"] {
        assert!(
            report.payments_by_status.get(status).copied().unwrap_or(0) > 0,
            "no {status} payment: {:?}",
            report.payments_by_status
        );
    }
    assert!(report.stats.races > 0 && report.stats.duplicate_confirms > 0);
    assert!(report.stats.lost_responses > 0 && report.stats.replays > 0);
    // Issue 13: partial captures and refunds (partial and full, two at once, resent) happened.
    let r = &report.refunds;
    assert!(
        r.partial_captures > 0 && r.refunds > 0 && r.partly_refunded > 0 && r.fully_refunded > 0,
        "{r:?}"
    );
    assert!(report.stats.refund_storms > 0 && report.stats.lost_refunds > 0);
    // Issue 15: the cuts saw credits waiting (so they checked something), and the switch ran.
    let p = report.posting.as_ref().expect("batched hot accounts");
    assert!(p.cuts_with_credits > 0 && p.switches >= 2, "{p:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conservation_holds_under_concurrent_load_on_the_embedded_store() {
    let report = conserve::run(&ConserveOptions {
        store: StoreChoice::Memory,
        clients: 8,
        requests: 400,
        seconds: 60.0,
        hot_accounts: 4,
        seed: 1,
        ..ConserveOptions::default()
    })
    .await
    .expect("the run");
    assert_clean(&report);
}

/// moto is single-threaded and its transactions copy the table, so this run is small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conservation_holds_under_concurrent_load_on_dynamodb() {
    let endpoint = paygate_testkit::moto_endpoint();
    let report = conserve::run(&ConserveOptions {
        store: StoreChoice::dynamodb(&endpoint),
        clients: 4,
        requests: 60,
        seconds: 45.0,
        hot_accounts: 4,
        seed: 2,
        ..ConserveOptions::default()
    })
    .await
    .expect("the run");
    assert_clean(&report);
}
