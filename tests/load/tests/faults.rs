//! A bounded `faults` run in CI: the conserve load on a moto of its own while DynamoDB is
//! paused (SIGSTOP) and later killed and restarted. Every answer must be a 2xx/4xx or a 503
//! problem+json with Retry-After, none may hang past the functions' timeout, and both audits
//! must find 0 violations. Secrets Manager unreachable at a cold start must answer 503, and
//! the same gateway must issue tokens once it is back.

use std::time::Duration;

use paygate_load::{
    faults::{self, FaultOptions},
    moto,
};

fn options(python: String) -> FaultOptions {
    FaultOptions {
        python,
        clients: 3,
        before: Duration::from_secs(2),
        pause: Duration::from_secs(3),
        after: Duration::from_secs(2),
        stalled_secrets: false,
        ..FaultOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_paused_and_killed_answers_503_and_loses_nothing() {
    let python = moto::find_python().unwrap_or_else(|missing| panic!("{missing}"));
    let report = faults::run(&options(python)).await.expect("the run");
    println!("{}", report.table());
    for phase in &report.phases {
        assert_eq!(
            phase.report.violations,
            Vec::<String>::new(),
            "{}",
            phase.fault
        );
        let s = &phase.report.stats;
        assert_eq!(
            s.server_errors, 0,
            "{}: {:?}",
            phase.fault, s.server_error_samples
        );
        assert_eq!(s.timeouts, 0, "{}", phase.fault);
        // How many answers met the fault depends on timing: shown, not asserted.
        println!("{}: {} clean 503s", phase.fault, s.clean_unavailable);
    }
    for check in &report.secrets {
        assert!(check.passed, "{check:?}");
    }
}

/// A stalled Secrets Manager at a cold start: the first token request and the authorizer
/// answer 503 with Retry-After once the SDK's operation timeout (`paygate_shared::aws::timeouts`)
/// gives up, well inside the function timeout, instead of hanging until the gateway's 29 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_stalled_at_cold_start_answers_503() {
    let python = moto::find_python().unwrap_or_else(|missing| panic!("{missing}"));
    let mut options = options(python);
    options.stalled_secrets = true;
    let report = faults::run(&options).await.expect("the run");
    println!("{}", report.table());
    assert!(report.passed());
}
