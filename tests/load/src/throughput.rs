//! `throughput`: requests per second and latency percentiles per scenario and concurrency,
//! over N keep-alive HTTP/1.1 connections to the gateway on 127.0.0.1.
//!
//! Where the gateway runs: by default in this process but on its own Tokio runtime (its own
//! worker threads, `--gateway-threads`), the load generator on another runtime, so that neither
//! schedules the other's tasks; `--gateway-bin target/release/paygate-local` runs the real
//! binary as a separate process instead (seeded with a seed file, on the same raised-limit
//! template, its JSON access log written to a file as in production). Either way both share the
//! machine's cores: the figures include the generator's own CPU cost.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use hyper::{Method, body::Bytes};
use paygate_shared::{AccountId, Currency, PostingMode, poster::PostingStats, store::Store};
use serde_json::json;

use crate::{
    client::{Connection, Credentials},
    setup::{self, LoadClient, SeedPlan, StoreChoice},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Balance,
    Pay,
    OneStep,
    PayConfirm,
    Transactions,
    /// One-step payments from one source per connection into one `immediate` account.
    HotImmediate,
    /// The same into one `batched` account, with the poster running.
    HotBatched,
    /// The same into one account per connection (nothing shared but the gateway).
    HotDistinct,
}

impl Scenario {
    pub const ALL: [Self; 5] = [
        Self::Balance,
        Self::Pay,
        Self::OneStep,
        Self::PayConfirm,
        Self::Transactions,
    ];

    /// The busy-merchant comparison (`--scenario hot`): one run, three destinations.
    pub const HOT: [Self; 3] = [Self::HotImmediate, Self::HotBatched, Self::HotDistinct];

    pub fn name(self) -> &'static str {
        match self {
            Self::Balance => "balance",
            Self::Pay => "pay",
            Self::OneStep => "one-step",
            Self::PayConfirm => "pay-confirm",
            Self::Transactions => "transactions",
            Self::HotImmediate => "hot-immediate",
            Self::HotBatched => "hot-batched",
            Self::HotDistinct => "hot-distinct",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Balance => "`GET /v1/accounts/{id}/balance`",
            Self::Pay => "`POST /v1/payments` (pending: a hold), a fresh Idempotency-Key each",
            Self::OneStep => {
                "`POST /v1/payments` with `confirm: true` (held and captured at once), a fresh Idempotency-Key each"
            }
            Self::PayConfirm => {
                "`POST /v1/payments` then `POST /v1/payments/{id}/confirm` (latency per request; payments/s = captures/s)"
            }
            Self::Transactions => {
                "`GET /v1/accounts/{id}/transactions?limit=20` on an account with ≥ 40 entries"
            }
            Self::HotImmediate => {
                "one-step payments, one source account per connection, all into ONE `immediate` account (every capture rewrites its item)"
            }
            Self::HotBatched => {
                "the same into ONE `batched` account (credits deferred, the poster running in-process: the embedded store's queue, or moto's stream)"
            }
            Self::HotDistinct => {
                "the same into one account PER connection (the ceiling: no shared account)"
            }
        }
    }

    fn is_hot(self) -> bool {
        Self::HOT.contains(&self)
    }
}

/// What the poster did during a `hot-batched` cell.
#[derive(Debug, Clone, Copy)]
pub struct PostingCell {
    /// Posting lag of each posting write's oldest credit (an upper bound for its credits).
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    /// Writes of the destination account's item per credit (posting writes ÷ credits).
    pub writes_per_credit: f64,
    /// From the cell's end until nothing was incoming.
    pub drained_after_s: f64,
}

#[derive(Debug, Clone)]
pub struct ThroughputOptions {
    pub store: StoreChoice,
    pub concurrency: Vec<usize>,
    pub seconds: f64,
    pub warmup: f64,
    pub scenarios: Vec<Scenario>,
    /// Worker threads of the in-process gateway's runtime.
    pub gateway_threads: usize,
    /// Worker threads of the load generator's runtime.
    pub load_threads: usize,
    /// Run this `paygate-local` binary as the gateway instead of the in-process library.
    pub gateway_bin: Option<PathBuf>,
}

/// One cell of the tables.
#[derive(Debug, Clone)]
pub struct Cell {
    pub scenario: Scenario,
    pub concurrency: usize,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// CPU time per recorded request of the gateway's threads and of the load generator's, in
    /// µs (Linux only): unlike requests/s, barely moved by other work on the machine.
    pub gateway_cpu_us: Option<f64>,
    pub load_cpu_us: Option<f64>,
    /// `hot-batched` only.
    pub posting: Option<PostingCell>,
}

impl Cell {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// How the figures were produced, printed above the tables.
#[derive(Debug, Clone)]
pub struct Setting {
    pub gateway: String,
    pub store: String,
    pub seconds: f64,
    pub machine: String,
}

pub fn markdown(setting: &Setting, cells: &[Cell]) -> String {
    let mut out = format!(
        "Gateway: {}. Store: {}. Load: keep-alive HTTP/1.1 connections from 127.0.0.1, one request in flight per connection, {:.0} s per cell after a warm-up. Machine: {}. Throttling: a template copy whose `PremiumUsagePlan` throttle (500/s, burst 1000) and the stage's method throttling (1000/s, burst 2000) are raised to 10^7 req/s, the quota to 10^12/day and AWS WAF's rate per source IP to 2·10^9 per 5 minutes, so neither API Gateway's nor WAF's limits refuse (`tests/load/src/setup.rs`, `load_template`).\n",
        setting.gateway, setting.store, setting.seconds, setting.machine
    );
    for scenario in Scenario::ALL {
        let rows: Vec<&Cell> = cells.iter().filter(|c| c.scenario == scenario).collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n**{}**: {}\n\n| connections | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx | gateway CPU µs/req | generator CPU µs/req |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            scenario.name(),
            scenario.describe()
        ));
        for c in rows {
            let cpu = |us: Option<f64>| us.map_or_else(|| "-".to_owned(), |us| format!("{us:.1}"));
            out.push_str(&format!(
                "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {} |\n",
                c.concurrency,
                c.rps(),
                c.p50_ms,
                c.p99_ms,
                c.p999_ms,
                c.max_ms,
                c.errors,
                cpu(c.gateway_cpu_us),
                cpu(c.load_cpu_us),
            ));
        }
    }
    out.push_str(&hot_markdown(cells));
    out
}

/// The busy-merchant table: the three destinations side by side per concurrency, what the
/// poster did, and batched ÷ distinct.
fn hot_markdown(cells: &[Cell]) -> String {
    let hot: Vec<&Cell> = cells.iter().filter(|c| c.scenario.is_hot()).collect();
    if hot.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "
**hot**: one-step payments (`confirm: true`), one source account per connection, into one `immediate` account, one `batched` account (the poster running), or one account per connection.

| connections | destination | payments/s | p50 ms | p99 ms | non-2xx | posting lag p50 / p99 ms | destination writes per credit | drained after s |
|---:|---|---:|---:|---:|---:|---:|---:|---:|
",
    );
    let mut concurrencies: Vec<usize> = hot.iter().map(|c| c.concurrency).collect();
    concurrencies.sort_unstable();
    concurrencies.dedup();
    for concurrency in concurrencies {
        for scenario in Scenario::HOT {
            let Some(c) = hot
                .iter()
                .find(|c| c.scenario == scenario && c.concurrency == concurrency)
            else {
                continue;
            };
            let (lag, writes, drained) = match (scenario, c.posting) {
                (Scenario::HotBatched, Some(p)) => (
                    format!("{:.0} / {:.0}", p.lag_p50_ms, p.lag_p99_ms),
                    format!("{:.3}", p.writes_per_credit),
                    format!("{:.1}", p.drained_after_s),
                ),
                (Scenario::HotBatched, None) => ("-".into(), "-".into(), "-".into()),
                _ => ("-".into(), "1".into(), "-".into()),
            };
            out.push_str(&format!(
                "| {} | {} | {:.1} | {:.2} | {:.2} | {} | {lag} | {writes} | {drained} |
",
                concurrency,
                &scenario.name()["hot-".len()..],
                c.rps(),
                c.p50_ms,
                c.p99_ms,
                c.errors,
            ));
        }
        let rate = |s| {
            hot.iter()
                .find(|c| c.scenario == s && c.concurrency == concurrency)
                .map(|c| c.rps())
        };
        if let (Some(batched), Some(distinct)) =
            (rate(Scenario::HotBatched), rate(Scenario::HotDistinct))
            && distinct > 0.0
        {
            out.push_str(&format!(
                "
At {concurrency} connections, batched ÷ distinct = **{:.2}** (target ≥ 0.8){}.

",
                batched / distinct,
                rate(Scenario::HotImmediate)
                    .map(|i| format!("; immediate ÷ distinct = {:.2}", i / distinct))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

/// What the load needs to know about the gateway it drives.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    creds: Credentials,
    /// One source account per connection (all owned by `creds`' client), and a destination.
    sources: Vec<AccountId>,
    destination: AccountId,
    /// The `hot-batched` destination and the `hot-distinct` ones (one per connection).
    batched: AccountId,
    distinct: Vec<AccountId>,
    /// The gateway's process when it is not this one.
    gateway_pid: Option<u32>,
    /// In-process only: what the `hot-batched` cells read the poster's work from.
    probe: Option<PostingProbe>,
}

/// The poster's stats and the store, to report a `hot-batched` cell.
#[derive(Clone)]
struct PostingProbe {
    stats: Arc<PostingStats>,
    store: Arc<dyn Store>,
}

/// Each seeded account's opening balance: no load runs it dry.
const OPENING: i64 = 1_000_000_000_000;

/// One OAuth client owning `2n + 2` CNY accounts: `n` sources, the common destination, the
/// batched destination, and `n` distinct destinations.
fn plan(n: usize) -> SeedPlan {
    SeedPlan {
        clients: vec![LoadClient::numbered(0)],
        accounts: (0..2 * n + 2)
            .map(|_| (0, Currency::CNY, OPENING))
            .collect(),
    }
}

/// Makes the `hot-batched` destination batched (again, after a reset recreated it).
async fn make_batched(running: &setup::Running, id: AccountId) -> Result<(), String> {
    let store = &running.gateway.backend().store;
    store
        .set_posting(id, PostingMode::Batched, time::OffsetDateTime::now_utc())
        .await
        .map(|_| ())
        .map_err(|e| format!("set_posting {id}: {e}"))
}

/// Runs every scenario at every concurrency.
///
/// # Errors
/// When the gateway cannot be started or seeded.
pub fn run(options: &ThroughputOptions) -> Result<(Setting, Vec<Cell>), String> {
    let max = options.concurrency.iter().copied().max().unwrap_or(1);
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.load_threads.max(1))
        .thread_name("load")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let store = match &options.store {
        StoreChoice::Memory => "embedded (memory)".to_owned(),
        StoreChoice::Dynamodb { endpoint, .. } if options.gateway_bin.is_none() => format!(
            "DynamoDB at {endpoint}, its tables deleted, recreated and reseeded before every cell"
        ),
        StoreChoice::Dynamodb { endpoint, .. } => format!("DynamoDB at {endpoint}"),
    };
    let machine = format!(
        "{} CPUs shared by gateway and load generator",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    if let Some(bin) = &options.gateway_bin {
        let (mut child, target) = load_rt.block_on(spawn_binary(bin, &options.store, max))?;
        let cells = load_rt.block_on(measure_all(target, options));
        let _ = child.start_kill();
        let setting = Setting {
            gateway: format!(
                "`{}` as its own process (access log to a file)",
                bin.display()
            ),
            store,
            seconds: options.seconds,
            machine,
        };
        return cells.map(|c| (setting, c));
    }
    let gateway_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.gateway_threads.max(1))
        .thread_name("gateway")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let seed = plan(max);
    let running = gateway_rt.block_on(setup::start(&options.store, &seed))?;
    let client = &running.clients[0];
    let accounts: Vec<AccountId> = running.accounts.iter().map(|a| a.id).collect();
    let backend = running.gateway.backend();
    let target = Target {
        addr: running.addr,
        creds: Credentials {
            client_id: client.client_id.clone(),
            client_secret: client.client_secret.clone(),
            api_key: client.api_key.clone(),
            bearer: String::new(),
        },
        sources: accounts[..max].to_vec(),
        destination: accounts[max],
        batched: accounts[max + 1],
        distinct: accounts[max + 2..].to_vec(),
        gateway_pid: None,
        probe: Some(PostingProbe {
            stats: backend.poster.stats(),
            store: backend.store.clone(),
        }),
    };
    let hot = options.scenarios.contains(&Scenario::HotBatched);
    let cells = if matches!(options.store, StoreChoice::Dynamodb { .. }) {
        // Every cell starts from fresh tables (a table that grew through earlier cells would
        // make later writes slower on moto); the poster reads the new table's stream.
        let mut cells = Vec::new();
        for &scenario in &options.scenarios {
            for &concurrency in &options.concurrency {
                gateway_rt.block_on(setup::reset(&running, OPENING))?;
                let poster = if scenario == Scenario::HotBatched {
                    gateway_rt.block_on(make_batched(&running, target.batched))?;
                    gateway_rt.block_on(setup::start_poster(&running, &options.store, None))?
                } else {
                    Vec::new()
                };
                let cell = ThroughputOptions {
                    scenarios: vec![scenario],
                    concurrency: vec![concurrency],
                    ..options.clone()
                };
                let measured = load_rt.block_on(measure_all(target.clone(), &cell));
                for handle in poster {
                    handle.abort();
                }
                cells.extend(measured?);
            }
        }
        Ok(cells)
    } else {
        let poster = if hot {
            gateway_rt.block_on(make_batched(&running, target.batched))?;
            gateway_rt.block_on(setup::start_poster(&running, &options.store, None))?
        } else {
            Vec::new()
        };
        let cells = load_rt.block_on(measure_all(target, options));
        for handle in poster {
            handle.abort();
        }
        cells
    };
    gateway_rt.block_on(running.shutdown());
    let setting = Setting {
        gateway: format!(
            "in-process library on its own {}-thread Tokio runtime (load generator: {} thread(s)), no access log subscriber",
            options.gateway_threads, options.load_threads
        ),
        store,
        seconds: options.seconds,
        machine,
    };
    cells.map(|c| (setting, c))
}

/// What [`write_gateway_files`] wrote: the seed and the raised-limit template for a
/// `paygate-local` of its own, with its one client and accounts (as [`plan`] lays them out).
pub struct GatewayFiles {
    pub seed_path: PathBuf,
    pub template_path: PathBuf,
    pub client: LoadClient,
    pub ids: Vec<AccountId>,
}

/// Writes into `dir` a seed file (one client on the premium plan owning the `2n + 2` accounts
/// of [`plan`], the `n + 1`-th batched) and the raised-limit template.
///
/// # Errors
/// When the files cannot be written.
pub fn write_gateway_files(dir: &std::path::Path, n: usize) -> Result<GatewayFiles, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let seed = plan(n);
    let client = seed.clients[0].clone();
    let now = time::OffsetDateTime::now_utc();
    let ids: Vec<AccountId> = (0..2 * n + 2).map(|_| AccountId::generate(now)).collect();
    let file = json!({
        "clients": [{
            "client_id": client.client_id, "client_secret": client.client_secret,
            "scopes": setup::SCOPES, "api_key": client.api_key, "usage_plan": "premium",
        }],
        "accounts": ids.iter().enumerate().map(|(i, id)| json!({
            "account_id": id.to_string(), "owner": client.client_id,
            "currency": "CNY", "balance": OPENING,
            "posting": if i == n + 1 { "batched" } else { "immediate" },
        })).collect::<Vec<_>>(),
    });
    let seed_path = dir.join("seed.json");
    std::fs::write(&seed_path, file.to_string()).map_err(|e| e.to_string())?;
    let template_path = dir.join("template.yaml");
    std::fs::write(&template_path, setup::load_template_text()?).map_err(|e| e.to_string())?;
    Ok(GatewayFiles {
        seed_path,
        template_path,
        client,
        ids,
    })
}

/// The release binary with a seed file and the raised-limit template; its address read from
/// its first line of output.
async fn spawn_binary(
    bin: &std::path::Path,
    store: &StoreChoice,
    n: usize,
) -> Result<(tokio::process::Child, Target), String> {
    use tokio::io::AsyncBufReadExt;
    let dir = std::env::temp_dir().join(format!("paygate-load-{}", std::process::id()));
    let GatewayFiles {
        seed_path,
        template_path,
        client,
        ids,
    } = write_gateway_files(&dir, n)?;
    let log = std::fs::File::create(dir.join("gateway.log")).map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(bin);
    command
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--template")
        .arg(&template_path)
        .arg("--seed")
        .arg(&seed_path)
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    if let StoreChoice::Dynamodb { endpoint, prefix } = store {
        command
            .arg("--dynamodb-endpoint")
            .arg(endpoint)
            .env("PAYGATE_ACCOUNTS_TABLE", format!("{prefix}-accounts"))
            .env(
                "PAYGATE_TRANSACTIONS_TABLE",
                format!("{prefix}-transactions"),
            );
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .map_err(|_| "the gateway did not start within 120 s".to_owned())?
        .map_err(|e| e.to_string())?
        .ok_or("the gateway exited before serving")?;
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected first line: {line}"))?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let gateway_pid = child.id();
    Ok((
        child,
        Target {
            addr,
            creds: Credentials {
                client_id: client.client_id.clone(),
                client_secret: client.client_secret.clone(),
                api_key: client.api_key.clone(),
                bearer: String::new(),
            },
            sources: ids[..n].to_vec(),
            destination: ids[n],
            batched: ids[n + 1],
            distinct: ids[n + 2..].to_vec(),
            gateway_pid,
            // Its poster runs in its own process: no stats to read here.
            probe: None,
        },
    ))
}

async fn measure_all(mut target: Target, options: &ThroughputOptions) -> Result<Vec<Cell>, String> {
    let mut conn = Connection::new(target.addr, Duration::from_secs(30));
    target.creds.fetch_token(&mut conn).await?;
    // History for the transactions scenario: 40 captured payments into the destination.
    for i in 0..40 {
        let body = pay_body(target.sources[0], target.destination, true);
        let key = format!("history-{i}-{:x}", rand::random::<u64>());
        let answer = conn
            .send(
                Method::POST,
                "/v1/payments",
                &headers(&target.creds, Some(&key)),
                body,
            )
            .await
            .map_err(|e| e.to_string())?;
        if answer.status != 201 {
            return Err(format!("seeding history: {}", answer.status));
        }
    }
    let target = Arc::new(target);
    let mut cells = Vec::new();
    for &scenario in &options.scenarios {
        for &concurrency in &options.concurrency {
            let cell = measure(target.clone(), scenario, concurrency, options).await;
            eprintln!(
                "{} x{}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, non-2xx {}, CPU µs/req gateway {:.1} generator {:.1}",
                scenario.name(),
                concurrency,
                cell.rps(),
                cell.p50_ms,
                cell.p99_ms,
                cell.p999_ms,
                cell.errors,
                cell.gateway_cpu_us.unwrap_or(f64::NAN),
                cell.load_cpu_us.unwrap_or(f64::NAN),
            );
            cells.push(cell);
        }
    }
    Ok(cells)
}

fn headers<'a>(creds: &'a Credentials, key: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        ("x-api-key", creds.api_key.as_str()),
        ("authorization", creds.bearer.as_str()),
    ];
    if let Some(key) = key {
        h.push(("idempotency-key", key));
        h.push(("content-type", "application/json"));
    }
    h
}

fn pay_body(source: AccountId, destination: AccountId, confirm: bool) -> Bytes {
    Bytes::from(
        json!({
            "source_account": source.to_string(),
            "destination_account": destination.to_string(),
            "amount": 1,
            "currency": "CNY",
            "confirm": confirm,
        })
        .to_string(),
    )
}

/// How long past its end a cell waits for a connection that has recorded nothing yet.
const GRACE: Duration = Duration::from_secs(30);

async fn measure(
    target: Arc<Target>,
    scenario: Scenario,
    concurrency: usize,
    options: &ThroughputOptions,
) -> Cell {
    let start = Instant::now();
    let record_from = start + Duration::from_secs_f64(options.warmup);
    let end = record_from + Duration::from_secs_f64(options.seconds);
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::new(target.addr, Duration::from_secs(30));
            let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let source = target.sources[c % target.sources.len()];
            let balance = format!("/v1/accounts/{source}/balance");
            let history = format!("/v1/accounts/{}/transactions?limit=20", target.destination);
            let prefix = format!("tp-{}-{c}-{:x}", scenario.name(), rand::random::<u64>());
            // Built once: the generator shares the cores with the gateway it measures.
            let plain = headers(&target.creds, None);
            let pending = pay_body(source, target.destination, false);
            let captured = match scenario {
                Scenario::HotBatched => pay_body(source, target.batched, true),
                Scenario::HotDistinct => {
                    pay_body(source, target.distinct[c % target.distinct.len()], true)
                }
                _ => pay_body(source, target.destination, true),
            };
            let mut n = 0u64;
            loop {
                let now = Instant::now();
                // A connection whose only requests straddled the warm-up's end (a slow first call
                // on moto) goes on until it records one, so no cell is empty by bad timing; the
                // cell's rate divides by the time it really recorded.
                if now >= end && (!latencies.is_empty() || errors > 0 || now >= end + GRACE) {
                    break;
                }
                let recording = now >= record_from;
                n += 1;
                let mut results = Vec::with_capacity(2);
                match scenario {
                    Scenario::Balance => {
                        results.push(conn.send(Method::GET, &balance, &plain, Bytes::new()).await)
                    }
                    Scenario::Transactions => {
                        results.push(conn.send(Method::GET, &history, &plain, Bytes::new()).await)
                    }
                    Scenario::Pay
                    | Scenario::OneStep
                    | Scenario::PayConfirm
                    | Scenario::HotImmediate
                    | Scenario::HotBatched
                    | Scenario::HotDistinct => {
                        let key = format!("{prefix}-{n}");
                        let body = if matches!(scenario, Scenario::Pay | Scenario::PayConfirm) {
                            pending.clone()
                        } else {
                            captured.clone()
                        };
                        let created = conn
                            .send(
                                Method::POST,
                                "/v1/payments",
                                &headers(&target.creds, Some(&key)),
                                body,
                            )
                            .await;
                        let id = created
                            .as_ref()
                            .ok()
                            .filter(|a| a.status == 201)
                            .and_then(|a| a.field("id"));
                        results.push(created);
                        if scenario == Scenario::PayConfirm
                            && let Some(id) = id
                        {
                            results.push(
                                conn.send(
                                    Method::POST,
                                    &format!("/v1/payments/{id}/confirm"),
                                    &plain,
                                    Bytes::new(),
                                )
                                .await,
                            );
                        }
                    }
                }
                if recording {
                    for r in results {
                        match r {
                            Ok(a) if (200..300).contains(&a.status) => latencies
                                .push(u32::try_from(a.latency.as_micros()).unwrap_or(u32::MAX)),
                            _ => errors += 1,
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let gateway_pid = target.gateway_pid;
    let probe = target
        .probe
        .clone()
        .filter(|_| scenario == Scenario::HotBatched);
    let posting_from = probe.as_ref().map(|p| {
        p.stats.take_lags();
        (p.stats.batches(), p.stats.credits())
    });
    tokio::time::sleep_until(record_from.into()).await;
    let cpu_from = CpuTime::now(gateway_pid);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let cpu_to = CpuTime::now(gateway_pid);
    let posting = match (probe, posting_from) {
        (Some(probe), Some(from)) => posting_cell(&probe, target.batched, from).await,
        _ => None,
    };
    let seconds = options.seconds.max(
        Instant::now()
            .saturating_duration_since(record_from)
            .as_secs_f64(),
    );
    let per_request = |from: Option<u64>, to: Option<u64>| {
        let spent = to?.checked_sub(from?)?;
        (!all.is_empty()).then(|| spent as f64 / 1e3 / all.len() as f64)
    };
    let gateway_cpu_us = per_request(cpu_from.gateway_ns, cpu_to.gateway_ns);
    let load_cpu_us = per_request(cpu_from.load_ns, cpu_to.load_ns);
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        f64::from(all[i]) / 1000.0
    };
    let requests = all.len() as u64;
    Cell {
        scenario,
        concurrency,
        requests,
        errors,
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        max_ms: all.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
        gateway_cpu_us,
        load_cpu_us,
        posting,
    }
}

/// Waits until the batched destination has nothing incoming (at most 2 minutes), then reads
/// what the poster did since `(batches, credits)`.
async fn posting_cell(
    probe: &PostingProbe,
    account: AccountId,
    (batches, credits): (u64, u64),
) -> Option<PostingCell> {
    let ended = Instant::now();
    loop {
        match probe.store.balance(account).await {
            Ok(Some(shown)) if shown.incoming == 0 => break,
            _ if ended.elapsed() > Duration::from_secs(120) => {
                eprintln!("hot-batched: still incoming 2 minutes after the cell");
                return None;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let drained_after_s = ended.elapsed().as_secs_f64();
    let mut lags = probe.stats.take_lags();
    lags.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lags.is_empty() {
            return 0.0;
        }
        let i = ((lags.len() as f64 * p).ceil() as usize).clamp(1, lags.len()) - 1;
        lags[i] as f64
    };
    let posted = probe.stats.credits().saturating_sub(credits);
    let writes = probe.stats.batches().saturating_sub(batches);
    Some(PostingCell {
        lag_p50_ms: pct(0.50),
        lag_p99_ms: pct(0.99),
        writes_per_credit: if posted == 0 {
            0.0
        } else {
            writes as f64 / posted as f64
        },
        drained_after_s,
    })
}

/// CPU time spent so far by the gateway's threads and the load generator's, from Linux's
/// per-thread `schedstat` (nanoseconds on a CPU); `None` where it cannot be read.
struct CpuTime {
    gateway_ns: Option<u64>,
    load_ns: Option<u64>,
}

impl CpuTime {
    /// In this process the threads are told apart by name (`gateway`, `load`); a separate
    /// gateway process counts whole.
    fn now(gateway_pid: Option<u32>) -> Self {
        let own = threads_cpu_ns("self");
        let named = |prefix: &str| {
            own.as_ref().map(|threads| {
                threads
                    .iter()
                    .filter(|(name, _)| name.starts_with(prefix))
                    .map(|(_, ns)| ns)
                    .sum()
            })
        };
        let gateway_ns = match gateway_pid {
            None => named("gateway"),
            Some(pid) => threads_cpu_ns(&pid.to_string()).map(|t| t.iter().map(|(_, ns)| ns).sum()),
        };
        Self {
            gateway_ns,
            load_ns: named("load"),
        }
    }
}

/// Each thread of process `pid` (or `self`): its name and its CPU time in nanoseconds.
fn threads_cpu_ns(pid: &str) -> Option<Vec<(String, u64)>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let threads = tasks
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            let schedstat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
            let ns = schedstat.split_whitespace().next()?.parse().ok()?;
            Some((name.trim().to_owned(), ns))
        })
        .collect();
    Some(threads)
}

/// Replaces the part of `doc` between `begin` and `end` (markers kept) with `section`, or
/// appends the markers and the section when absent.
pub fn replace_section(doc: &str, begin: &str, end: &str, section: &str) -> String {
    match (doc.find(begin), doc.find(end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}\n{section}{}", &doc[..b], &doc[e..]),
        _ => {
            let mut out = doc.to_owned();
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
            }
            out.push_str(&format!("{begin}\n{section}{end}\n"));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replace_section;

    #[test]
    fn a_section_is_replaced_between_its_markers_only() {
        let doc = "# P\n\nintro\n<!-- a:begin -->\nold\n<!-- a:end -->\n<!-- b:begin -->\nB\n<!-- b:end -->\n";
        let out = replace_section(doc, "<!-- a:begin -->", "<!-- a:end -->", "new\n");
        assert_eq!(
            out,
            "# P\n\nintro\n<!-- a:begin -->\nnew\n<!-- a:end -->\n<!-- b:begin -->\nB\n<!-- b:end -->\n"
        );
    }

    #[test]
    fn missing_markers_are_appended() {
        let out = replace_section("# P\n", "<!-- a:begin -->", "<!-- a:end -->", "x\n");
        assert_eq!(out, "# P\n\n<!-- a:begin -->\nx\n<!-- a:end -->\n");
    }
}
