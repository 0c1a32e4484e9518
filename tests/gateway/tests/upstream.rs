//! `--upstream cargo-lambda=URL`: the same flows with every function (the authorizer, the
//! scheduled sweep and the webhook notifier included) running as its own process under
//! `cargo lambda watch`, all of them and the gateway sharing DynamoDB, Secrets Manager and SQS
//! on moto.
//!
//! Needs `cargo lambda` on the PATH (`bash tests/run.sh` installs it). The first invocation of
//! each function compiles it, so every function is invoked once directly before the gateway
//! (whose integration timeout is API Gateway's 29 s) is used.

mod common;

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// `cargo lambda watch`, killed with its function processes when dropped.
struct Watch {
    child: Child,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // Its own process group: the functions it started go with it.
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status();
        }
        let _ = self.child.start_kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The functions' environment, as the template gives it in AWS, pointing at moto.
fn function_env(names: &str) -> Vec<(String, String)> {
    let moto = common::moto();
    [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("PAYGATE_DYNAMODB_ENDPOINT", moto.clone()),
        ("PAYGATE_SECRETS_ENDPOINT", moto),
        ("PAYGATE_ACCOUNTS_TABLE", format!("{names}-accounts")),
        (
            "PAYGATE_TRANSACTIONS_TABLE",
            format!("{names}-transactions"),
        ),
        ("PAYGATE_SIGNING_KEY_SECRET", format!("{names}-signing")),
        ("PAYGATE_PUBLIC_KEYS_SECRET", format!("{names}-public")),
        // Short, so that the scheduled sweep has something to expire within the test.
        ("PAYGATE_PAYMENT_TTL_SECONDS", "3".to_owned()),
        // The notifier's: the sealing key the gateway creates (`--webhook-key-secret` of
        // `common::on_moto`), the retry queue it creates on moto (named after the table), quick
        // retries, and loopback receivers allowed as paygate-local allows them.
        ("PAYGATE_WEBHOOK_KEY_SECRET", format!("{names}-webhook-key")),
        ("PAYGATE_SQS_ENDPOINT", common::moto()),
        (
            "PAYGATE_WEBHOOK_RETRY_QUEUE_URL",
            format!(
                "{}/123456789012/{}",
                common::moto(),
                paygate_local::notify::start::retry_queue_name(&format!("{names}-transactions"))
            ),
        ),
        ("PAYGATE_WEBHOOK_RETRY_SCHEDULE", "1s,2s".to_owned()),
        ("PAYGATE_WEBHOOK_ALLOW_LOOPBACK", "true".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn start_watch(port: u16, env: &[(String, String)]) -> Watch {
    let mut command = Command::new("cargo");
    command
        .args([
            "lambda",
            "watch",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .current_dir(workspace_root())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .kill_on_drop(true);
    let child = command
        .spawn()
        .expect("`cargo lambda` runs (pip install cargo-lambda; bash tests/run.sh installs it)");
    let watch = Watch { child };
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return watch;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cargo lambda watch did not listen on {port}");
}

/// Invokes `function` once directly, waiting as long as its first build takes.
async fn warm(upstream: &paygate_local::upstream::Upstream, function: &str, event: &Value) {
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(900), upstream.invoke(function, event))
        .await
        .unwrap_or_else(|_| panic!("{function} was not built and run within 15 minutes"));
    eprintln!(
        "[upstream] {function} ready in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        if result.is_ok() {
            "ok"
        } else {
            "answered an error"
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_through_cargo_lambda_watch() {
    let names = common::unique("up");
    let env = function_env(&names);
    let port = free_port();
    let _watch = start_watch(port, &env).await;
    let base = format!("http://127.0.0.1:{port}");
    let upstream = paygate_local::upstream::Upstream::new(&base);

    // The gateway first: it creates the tables and the first signing key the functions read.
    let mut args: Vec<String> = vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--upstream".into(),
        format!("cargo-lambda={base}"),
    ];
    args.extend(common::on_moto(&names));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (running, api) = common::start_cli(&args).await;

    let proxy = |path: &str| json!({"httpMethod": "GET", "path": path, "resource": path, "headers": {}, "requestContext": {"stage": "v1", "requestId": "warm-up"}});
    for function in [
        "authorize",
        "pay",
        "confirm",
        "balance",
        "transactions",
        "webhooks",
    ] {
        warm(&upstream, function, &proxy("/warm-up")).await;
    }
    warm(
        &upstream,
        "authorizer",
        &json!({"type": "REQUEST", "methodArn": "x", "headers": {}}),
    )
    .await;
    warm(
        &upstream,
        "expire",
        &json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
    )
    .await;
    warm(&upstream, "notify", &json!({"Records": []})).await;

    // Every endpoint, through the functions' own processes.
    let after = common::payment_flow(&api).await;
    assert_eq!(after["balance"].as_i64(), Some(100_000 - 1500));

    // The authorizer ran in its process and its answers were cached per token.
    let authorizer_runs = running.gateway.authorizer_invocations();
    assert!(authorizer_runs >= 1);
    let token = api.token().await;
    let balance = format!("/v1/accounts/{}/balance", api.seeded.accounts[0]);
    for _ in 0..3 {
        assert_eq!(api.get(&balance, &token).await.status, 200);
    }
    assert_eq!(
        running.gateway.authorizer_invocations(),
        authorizer_runs + 1,
        "one run for the new token, then the cache"
    );
    // Its `Unauthorized` error is API Gateway's 401.
    let forged = api.get(&balance, "e30.e30.e30").await;
    assert_eq!((forged.status, forged.message()), (401, "Unauthorized"));

    // The scheduled sweep, posted as EventBridge's event, expires an unconfirmed payment
    // (the functions' confirmation window is 3 s here).
    let pending = api
        .post("/v1/payments", &token, Some(api.payment(300, false)))
        .await;
    assert_eq!(pending.status, 201, "{:?}", pending.body);
    let id = pending.body["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (schedules, _) = paygate_local::schedule::plan(running.gateway.schedules());
    paygate_local::schedule::fire(&running.gateway, &schedules[0].0).await;
    let expired = api.get(&format!("/v1/payments/{id}"), &token).await;
    assert_eq!(expired.body["status"], "expired", "{:?}", expired.body);

    // Webhooks: the gateway posts the table's stream batches and the retry queue's messages to
    // the `notify` function, which signs, delivers and schedules the retries.
    let latency = common::webhooks::retried_deliveries(&api).await;
    eprintln!("[upstream] payment answered → first webhook attempt {latency:?}");

    running.stop().await.expect("stops");
}
