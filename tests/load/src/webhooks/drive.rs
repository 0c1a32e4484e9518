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

/// One-step payments on `concurrency` connections for `seconds` (after a 1 s warm-up).
pub async fn load(
    addr: SocketAddr,
    creds: &Credentials,
    ids: &[AccountId],
    concurrency: usize,
    seconds: f64,
) -> (Phase, f64, f64) {
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
            let (mut latencies, mut errors, mut n) = (Vec::new(), 0u64, 0u64);
            while Instant::now() < end {
                n += 1;
                let key = format!("wl-{c}-{n}-{:x}", rand::random::<u64>());
                let headers = [
                    ("x-api-key", creds.api_key.as_str()),
                    ("authorization", creds.bearer.as_str()),
                    ("idempotency-key", key.as_str()),
                    ("content-type", "application/json"),
                ];
                let answer = conn
                    .send(Method::POST, "/v1/payments", &headers, body.clone())
                    .await;
                if Instant::now() < from {
                    continue;
                }
                match answer {
                    Ok(a) if a.status == 201 => latencies.push(a.latency.as_secs_f64() * 1e3),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((latencies, e)) = task.await {
            all.extend(latencies);
            errors += e;
        }
    }
    // The load lasts until its last request is answered: a payment sent just before `end`
    // commits after it, and its events were created under load too.
    let window_end = receiver_clock();
    all.sort_by(f64::total_cmp);
    let phase = Phase {
        payments: all.len() as u64,
        errors,
        seconds,
        p50_ms: percentile(&all, 0.5),
        p99_ms: percentile(&all, 0.99),
    };
    (phase, window_start, window_end)
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
