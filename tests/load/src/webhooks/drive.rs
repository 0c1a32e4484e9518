//! Driving `paygate-local` for `webhooks`: starting it from its command line, one-step payment
//! load, and reading the fast receiver's arrivals as per-event latencies.

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use clap::Parser;
use hyper::{Method, body::Bytes};
use paygate_local::cli::{self, Args};
use paygate_shared::AccountId;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use super::{Latency, Phase, receiver::FastReceiver};
use crate::{
    client::{Connection, Credentials},
    setup::{self, StoreChoice},
};

const CLIENT: &str = "webhook-load";

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn unix_of(created_at: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(created_at, &Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

/// Starts `paygate-local` from its command line: a seed file (one client, `n + 1` accounts),
/// the raised-limit load template, the chosen store.
pub async fn start_gateway(
    store: &StoreChoice,
    n: usize,
) -> Result<(cli::Running, Vec<AccountId>, Credentials), String> {
    // Its own directory: runs in one process (the tests) must not read each other's seed.
    let dir = std::env::temp_dir().join(format!(
        "paygate-webhook-load-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc();
    let ids: Vec<AccountId> = (0..=n).map(|_| AccountId::generate(now)).collect();
    let creds = Credentials {
        client_id: CLIENT.to_owned(),
        client_secret: format!("{CLIENT}-secret-{:016x}", rand::random::<u64>()),
        api_key: format!("{CLIENT}-key-{:016x}", rand::random::<u64>()),
        bearer: String::new(),
    };
    let seed = json!({
        "clients": [{"client_id": CLIENT, "client_secret": creds.client_secret,
            "api_key": creds.api_key, "usage_plan": "premium",
            "scopes": ["payments:write", "payments:read", "accounts:read", "webhooks:manage"]}],
        "accounts": ids.iter().map(|id| json!({"account_id": id.to_string(), "owner": CLIENT,
            "currency": "CNY", "balance": 1_000_000_000_000i64})).collect::<Vec<_>>(),
    });
    let (seed_path, template_path) = (dir.join("seed.json"), dir.join("template.yaml"));
    std::fs::write(&seed_path, seed.to_string()).map_err(|e| e.to_string())?;
    std::fs::write(&template_path, setup::load_template_text()?).map_err(|e| e.to_string())?;
    let mut line: Vec<String> = vec![
        "paygate-local".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--template".into(),
        template_path.display().to_string(),
        "--seed".into(),
        seed_path.display().to_string(),
    ];
    if let StoreChoice::Dynamodb { endpoint, prefix } = store {
        line.extend([
            "--dynamodb-endpoint".into(),
            endpoint.clone(),
            "--accounts-table".into(),
            format!("{prefix}-accounts"),
            "--transactions-table".into(),
            format!("{prefix}-transactions"),
        ]);
    }
    let args = Args::try_parse_from(line).map_err(|e| e.to_string())?;
    let running = cli::start(&args).await.map_err(|e| e.to_string())?;
    Ok((running, ids, creds))
}

pub fn pay_body(source: AccountId, destination: AccountId) -> Bytes {
    Bytes::from(
        json!({"source_account": source.to_string(), "destination_account": destination.to_string(),
               "amount": 1, "currency": "CNY", "confirm": true})
        .to_string(),
    )
}

/// What one [`load`] did.
pub struct LoadRun {
    /// The measured window (after the warm-up).
    pub phase: Phase,
    /// The window on the receiver's clock: from its start until the last answer.
    pub window_start: f64,
    pub window_end: f64,
    /// Payments answered 201 over the whole run, warm-up included: each made events that
    /// will be delivered, whether or not it was measured.
    pub created: usize,
}

/// One connection's share of a [`load`].
#[derive(Default)]
struct Tally {
    latencies: Vec<f64>,
    errors: u64,
    resent: u64,
    created: usize,
    first_error: Option<String>,
}

/// Resends of one payment after `409 concurrent_update` before it counts as an error.
const RESENDS: u32 = 5;

/// One-step payments on `concurrency` connections for `seconds` (after a 1 s warm-up).
///
/// Each connection pays from its own source into one shared destination, so on DynamoDB the
/// captures race for that account's `ledger_head`; the store retries lost races, and when a
/// starved attempt still loses it answers `409 concurrent_update`, which tells the client to
/// retry. The driver does what a client should: it resends with the same `Idempotency-Key`
/// after a short jittered pause (counted in [`Phase::resent`]), and times the payment from its
/// first send to its last answer.
pub async fn load(
    addr: SocketAddr,
    creds: &Credentials,
    ids: &[AccountId],
    concurrency: usize,
    seconds: f64,
) -> LoadRun {
    let start = Instant::now();
    let from = start + Duration::from_secs(1);
    let end = from + Duration::from_secs_f64(seconds);
    let window_start = receiver_clock() + 1.0;
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (creds, source, destination) =
            (creds.clone(), ids[c % (ids.len() - 1)], ids[ids.len() - 1]);
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::new(addr, Duration::from_secs(30));
            let body = pay_body(source, destination);
            let mut tally = Tally::default();
            let mut n = 0u64;
            while Instant::now() < end {
                n += 1;
                let key = format!("wl-{c}-{n}-{:x}", rand::random::<u64>());
                let headers = [
                    ("x-api-key", creds.api_key.as_str()),
                    ("authorization", creds.bearer.as_str()),
                    ("idempotency-key", key.as_str()),
                    ("content-type", "application/json"),
                ];
                let sent = Instant::now();
                let mut resent = 0;
                let answer = loop {
                    let answer = conn
                        .send(Method::POST, "/v1/payments", &headers, body.clone())
                        .await;
                    let busy = matches!(&answer, Ok(a) if a.status == 409
                        && a.field("code").as_deref() == Some("concurrent_update"));
                    if !busy || resent == RESENDS {
                        break answer;
                    }
                    resent += 1;
                    let pause = rand::random_range(10..=50);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                };
                if matches!(&answer, Ok(a) if a.status == 201) {
                    tally.created += 1;
                }
                // Measured when answered inside the window: each connection has a request in
                // flight when it opens, so even a slow store records one per connection.
                if Instant::now() < from {
                    continue;
                }
                tally.resent += u64::from(resent);
                match answer {
                    Ok(a) if a.status == 201 => {
                        tally.latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                    }
                    other => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert_with(|| match other {
                            Ok(a) => format!("{} {}", a.status, String::from_utf8_lossy(&a.body)),
                            Err(e) => format!("{e:?}"),
                        });
                    }
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            total.latencies.extend(t.latencies);
            total.errors += t.errors;
            total.resent += t.resent;
            total.created += t.created;
            total.first_error = total.first_error.or(t.first_error);
        }
    }
    // The load lasts until its last request is answered: a payment sent just before `end`
    // commits after it, and its events were created under load too.
    let window_end = receiver_clock();
    let mut all = total.latencies;
    all.sort_by(f64::total_cmp);
    let phase = Phase {
        payments: all.len() as u64,
        errors: total.errors,
        resent: total.resent,
        seconds,
        p50_ms: percentile(&all, 0.5),
        p99_ms: percentile(&all, 0.99),
        first_error: total.first_error,
    };
    LoadRun {
        phase,
        window_start,
        window_end,
        created: total.created,
    }
}

pub fn receiver_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Per event: its `created_at` and its first arrival.
pub fn first_arrivals(receiver: &FastReceiver) -> (HashMap<String, (f64, f64)>, usize) {
    let mut first: HashMap<String, (f64, f64)> = HashMap::new();
    let arrivals = receiver.arrivals();
    for a in &arrivals {
        let created = serde_json::from_slice::<serde_json::Value>(&a.body)
            .ok()
            .and_then(|v| v["created_at"].as_str().and_then(unix_of))
            .unwrap_or(f64::NAN);
        first
            .entry(a.webhook_id.clone())
            .and_modify(|e| e.1 = e.1.min(a.at))
            .or_insert((created, a.at));
    }
    let duplicates = arrivals.len() - first.len();
    (first, duplicates)
}

pub fn latency(samples: impl Iterator<Item = f64>) -> Latency {
    let mut ms: Vec<f64> = samples.map(|s| s * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    Latency {
        events: ms.len(),
        p50_ms: percentile(&ms, 0.5),
        p99_ms: percentile(&ms, 0.99),
        max_ms: ms.last().copied().unwrap_or(f64::NAN),
    }
}

/// Waits until `expected` distinct events arrived (or 120 s pass); the time it took.
pub async fn drain(receiver: &FastReceiver, expected: usize) -> f64 {
    let started = Instant::now();
    while first_arrivals(receiver).0.len() < expected
        && started.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed().as_secs_f64()
}
