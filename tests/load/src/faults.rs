//! `faults`: the `conserve` load on DynamoDB (a moto of our own) while the endpoint is paused
//! (SIGSTOP) and later killed and restarted; and Secrets Manager unavailable at a cold start.
//!
//! moto keeps its state in memory, so a kill loses the tables. The run is therefore two
//! phases, each audited on its own: (1) load with a pause in the middle, then quiesce and audit
//! everything; (2) load, kill moto mid-run (answers must be clean 503s), quiesce, restart moto,
//! recreate the tables and reseed the same accounts, resume the load, then audit the
//! post-restart store (the workers' pre-restart observations are dropped by an epoch bump).
//!
//! Pass: every answer is a 2xx/4xx or a 503 problem+json with Retry-After, none hangs past
//! the request timeout, and both audits find 0 violations.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use hyper::{Method, body::Bytes};
use paygate_local::{Backend, aws::sdk_config};
use paygate_shared::{
    Clock, SystemClock,
    auth::{
        Jwks, SecretsManagerPublicKeys, SecretsManagerSigningKeys, SigningKey, put_public_jwks,
        put_signing_key,
    },
    store::memory::MemoryStore,
};

use crate::{
    client::{Connection, Credentials},
    conserve::{self, ConserveOptions, ConserveReport, Control, OPENING_BALANCE},
    moto::Moto,
    setup::{self, LoadClient, SeedPlan, StoreChoice, StoreHandle},
    stats::Stats,
};

#[derive(Debug, Clone)]
pub struct FaultOptions {
    /// The Python that can import moto.server.
    pub python: String,
    /// Port for our moto (0: a free one).
    pub moto_port: u16,
    pub clients: usize,
    /// Load before the fault, the fault itself, and after it, per phase.
    pub before: Duration,
    pub pause: Duration,
    pub after: Duration,
    pub seed: u64,
    /// An answer slower than this is a hang: the functions' timeout (10 s) plus a margin.
    pub request_timeout: Duration,
    /// Also start a gateway while Secrets Manager is stalled (SIGSTOP): costs up to two
    /// request timeouts when the SDK client has no operation timeout.
    pub stalled_secrets: bool,
}

impl Default for FaultOptions {
    fn default() -> Self {
        Self {
            python: "python3".to_owned(),
            moto_port: 0,
            clients: 4,
            before: Duration::from_secs(3),
            pause: Duration::from_secs(4),
            after: Duration::from_secs(3),
            seed: 7,
            request_timeout: Duration::from_millis(10_500),
            stalled_secrets: true,
        }
    }
}

/// One phase: its load report (with its audit) and what was injected.
#[derive(Debug, Clone)]
pub struct Phase {
    pub fault: String,
    pub report: ConserveReport,
}

/// Secrets Manager unavailable when a fresh gateway (cold start) first needs its keys.
#[derive(Debug, Clone)]
pub struct SecretsCheck {
    pub case: String,
    /// What the token endpoint answered (status, clean 503?, latency) or why nothing came back.
    pub token: String,
    pub authorizer: String,
    pub passed: bool,
}

#[derive(Debug, Clone)]
pub struct FaultReport {
    pub phases: Vec<Phase>,
    pub secrets: Vec<SecretsCheck>,
    pub elapsed: Duration,
}

impl FaultReport {
    pub fn passed(&self) -> bool {
        self.dynamodb_passed() && self.secrets.iter().all(|s| s.passed)
    }

    /// Both DynamoDB phases: no unclean 5xx, no hang, no violation.
    pub fn dynamodb_passed(&self) -> bool {
        self.phases.iter().all(|p| {
            let s = &p.report.stats;
            p.report.violations.is_empty() && s.server_errors == 0 && s.timeouts == 0
        })
    }

    pub fn table(&self) -> String {
        let mut out = String::from(
            "| fault injected | requests | payments (final status) | retries | 409 | clean 503 | other 5xx | hung | slowest | violations |\n|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for p in &self.phases {
            let s = &p.report.stats;
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} ms | {} |\n",
                p.fault,
                s.requests,
                crate::stats::format_counts(&p.report.payments_by_status),
                s.retries,
                s.conflicts_total(),
                s.clean_unavailable,
                s.server_errors,
                s.timeouts,
                s.max_latency_ms,
                p.report.violations.len()
            ));
        }
        out.push_str("\n| Secrets Manager at cold start | token endpoint | authorizer | pass |\n|---|---|---|---|\n");
        for c in &self.secrets {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                c.case,
                c.token,
                c.authorizer,
                if c.passed { "yes" } else { "NO" }
            ));
        }
        out
    }
}

/// One phase: the `conserve` load runs while `inject` brings its fault (after `before` of
/// normal load), then `after` more load, quiescence, and the audit of what epoch `epoch` wrote.
async fn under_fault(
    running: &setup::Running,
    load: &ConserveOptions,
    options: &FaultOptions,
    epoch: u64,
    inject: impl AsyncFnOnce(&Control) -> Result<(), String>,
) -> Result<ConserveReport, String> {
    let control = Arc::new(Control::default());
    let t = Instant::now();
    let injector = async {
        tokio::time::sleep(options.before).await;
        inject(&control).await?;
        tokio::time::sleep(options.after).await;
        quiesce(&control).await;
        Ok::<_, String>(())
    };
    let (driven, injected) =
        tokio::join!(conserve::drive(running, load, control.clone()), injector);
    injected?;
    let (stats, observed) = driven?;
    conserve::audit_run(running, load, stats, observed, epoch, t.elapsed()).await
}

/// Runs both DynamoDB phases and the Secrets Manager checks.
///
/// # Errors
/// When moto or the gateway cannot be started, or the store cannot be audited.
pub async fn run(options: &FaultOptions) -> Result<FaultReport, String> {
    let started = Instant::now();
    let mut moto = Moto::start(&options.python, options.moto_port).await?;
    let load = ConserveOptions {
        store: StoreChoice::dynamodb(&moto.endpoint()),
        clients: options.clients,
        requests: u64::MAX,
        seconds: 600.0,
        hot_accounts: 4,
        // Faults drive the load without the poster (a reset recreates the accounts anyway).
        hot_posting: paygate_shared::PostingMode::Immediate,
        seed: options.seed,
        request_timeout: options.request_timeout,
    };
    let plan = conserve::seed_plan(load.clients, load.hot_accounts);
    let running = setup::start(&load.store, &plan).await?;
    let mut phases = Vec::new();

    // Phase 1: pause.
    let report = under_fault(&running, &load, options, 0, async |_control| {
        moto.pause().await?;
        tokio::time::sleep(options.pause).await;
        moto.resume().await
    })
    .await?;
    phases.push(Phase {
        fault: format!(
            "DynamoDB paused (SIGSTOP) {:.0} s",
            options.pause.as_secs_f64()
        ),
        report,
    });

    // Phase 2: kill, restart, recreate.
    let report = under_fault(&running, &load, options, 1, async |control| {
        moto.kill().await?;
        tokio::time::sleep(options.pause).await;
        let gate = control.gate.write().await;
        moto.restart().await?;
        setup::reseed(&running, OPENING_BALANCE).await?;
        control.epoch.fetch_add(1, Ordering::SeqCst);
        drop(gate);
        Ok(())
    })
    .await?;
    phases.push(Phase {
        fault: format!(
            "DynamoDB killed (SIGKILL) {:.0} s, restarted empty, tables recreated (audit: post-restart data)",
            options.pause.as_secs_f64()
        ),
        report,
    });
    running.shutdown().await;

    let secrets = secrets_checks(&mut moto, options).await?;
    Ok(FaultReport {
        phases,
        secrets,
        elapsed: started.elapsed(),
    })
}

/// Stops the workers after their current operation, then gives moto a moment to work off
/// requests that clients abandoned while it was paused (they still land after SIGCONT).
async fn quiesce(control: &Control) {
    control.stop.store(true, Ordering::SeqCst);
    let _idle = control.gate.write().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// A fresh gateway whose signing and public keys live in Secrets Manager at `endpoint`: the
/// first token request and the first authorized request are its cold start.
async fn cold_gateway(endpoint: &str) -> Result<(setup::Running, LoadClient), String> {
    let config = sdk_config(endpoint, "us-east-1").await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryStore::new());
    let mut backend =
        Backend::with_store(store.clone(), clock).map_err(|e| format!("keys: {e}"))?;
    backend.signing_keys = Arc::new(SecretsManagerSigningKeys::new(
        secrets.clone(),
        "paygate-load-signing-key",
    ));
    backend.public_keys = Arc::new(SecretsManagerPublicKeys::new(
        secrets,
        "paygate-load-public-keys",
    ));
    let client = LoadClient::numbered(0);
    let plan = SeedPlan {
        clients: vec![client.clone()],
        accounts: vec![],
    };
    let template = setup::load_template()?;
    let running = setup::start_on(&template, backend, StoreHandle::Memory(store), &plan).await?;
    Ok((running, client))
}

/// Asks a cold gateway for a token and for a balance (through the authorizer).
async fn probe(
    running: &setup::Running,
    client: &LoadClient,
    timeout: Duration,
) -> (Stats, String, String, bool, bool) {
    let mut stats = Stats::default();
    let mut conn = Connection::new(running.addr, timeout);
    let mut creds = Credentials {
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.clone(),
        api_key: client.api_key.clone(),
        bearer: String::new(),
    };
    let describe = |r: &Result<crate::client::Answer, crate::client::TransportError>| match r {
        Ok(a) => format!(
            "{}{} in {} ms",
            a.status,
            match (a.is_clean_unavailable(), a.retry_after.is_some()) {
                (true, _) => " problem+json, Retry-After",
                (false, true) => " Retry-After",
                _ => "",
            },
            a.latency.as_millis()
        ),
        Err(e) => format!("no answer: {e}"),
    };
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", creds.client_id, creds.client_secret),
    );
    let token = conn
        .send(
            Method::POST,
            "/v1/oauth/token",
            &[
                ("x-api-key", &creds.api_key),
                ("authorization", &format!("Basic {basic}")),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Bytes::from_static(b"grant_type=client_credentials"),
        )
        .await;
    stats.note(&token);
    // A well-formed token is not needed: the authorizer needs the keys before it can judge.
    creds.bearer = "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6Im5vbmUifQ.e30.c2ln".to_owned();
    let balance = conn
        .send(
            Method::GET,
            "/v1/accounts/acc_01KAS0DEM0000000000000000A/balance",
            &[
                ("x-api-key", &creds.api_key),
                ("authorization", &creds.bearer),
            ],
            Bytes::new(),
        )
        .await;
    stats.note(&balance);
    let clean = |r: &Result<crate::client::Answer, crate::client::TransportError>| {
        r.as_ref()
            .is_ok_and(crate::client::Answer::is_clean_unavailable)
    };
    // The authorizer's failure is a gateway response (API Gateway's JSON `message`, not a
    // function's problem+json): a 503 with Retry-After is its clean form.
    let authorizer_clean = balance
        .as_ref()
        .is_ok_and(|a| a.status == 503 && a.retry_after.is_some());
    (
        stats,
        describe(&token),
        describe(&balance),
        clean(&token),
        authorizer_clean,
    )
}

async fn secrets_checks(
    moto: &mut Moto,
    options: &FaultOptions,
) -> Result<Vec<SecretsCheck>, String> {
    let mut checks = Vec::new();
    // Unreachable: nothing listens (moto killed).
    moto.kill().await?;
    let (running, client) = cold_gateway(&moto.endpoint()).await?;
    let (_, token, authorizer, t_ok, a_ok) =
        probe(&running, &client, options.request_timeout).await;
    checks.push(SecretsCheck {
        case: "unreachable (connection refused)".to_owned(),
        token,
        authorizer,
        passed: t_ok && a_ok,
    });
    // Back: the same gateway, without a restart, issues tokens once the secret exists.
    moto.restart().await?;
    let config = sdk_config(&moto.endpoint(), "us-east-1").await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let now = SystemClock.now();
    let key = SigningKey::generate(now).map_err(|e| e.to_string())?;
    put_public_jwks(
        &secrets,
        "paygate-load-public-keys",
        &Jwks::from_keys(&[key.verifying_key()]),
    )
    .await
    .map_err(|e| e.to_string())?;
    put_signing_key(
        &secrets,
        "paygate-load-signing-key",
        &key.to_document(now).map_err(|e| e.to_string())?,
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut conn = Connection::new(running.addr, options.request_timeout);
    let mut creds = Credentials {
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.clone(),
        api_key: client.api_key.clone(),
        bearer: String::new(),
    };
    let recovered = creds.fetch_token(&mut conn).await;
    checks.push(SecretsCheck {
        case: "back again (same gateway process, no restart)".to_owned(),
        token: match &recovered {
            Ok(()) => "200, token issued".to_owned(),
            Err(e) => e.clone(),
        },
        authorizer: "-".to_owned(),
        passed: recovered.is_ok(),
    });
    running.shutdown().await;
    if !options.stalled_secrets {
        return Ok(checks);
    }
    // Stalled: moto paused at a fresh gateway's first request.
    let (running, client) = cold_gateway(&moto.endpoint()).await?;
    moto.pause().await?;
    let (_, token, authorizer, t_ok, a_ok) =
        probe(&running, &client, options.request_timeout).await;
    moto.resume().await?;
    checks.push(SecretsCheck {
        case: "stalled (SIGSTOP)".to_owned(),
        token,
        authorizer,
        passed: t_ok && a_ok,
    });
    running.shutdown().await;
    Ok(checks)
}
