//! `webhooks`: what payment notifications cost the API and how fast the local notifier
//! delivers them, through `paygate-local` started from its own command line (the notifier
//! included) on the embedded store or moto, with a fast receiver ([`receiver::FastReceiver`]).
//!
//! 1. one-step payments at `--concurrency` for `--seconds` with no endpoint registered (events
//!    are still written: the outbox is part of every payment's transaction);
//! 2. an endpoint for every event type is registered; sequential one-step payments on an idle
//!    gateway: time from each event's `created_at` (stamped in the write, just before its
//!    commit) to its first delivery attempt's arrival;
//! 3. the load of 1 again: the API's throughput with deliveries going on, the deliveries per
//!    second the notifier sustains meanwhile, the same latency under load, and how long after
//!    the load the last event arrives.

mod drive;
pub mod receiver;

use std::time::Duration;

use hyper::{Method, body::Bytes};
use serde_json::json;

use crate::{client::Connection, setup::StoreChoice};
use drive::{drain, first_arrivals, latency, load, pay_body, start_gateway};
use receiver::FastReceiver;

#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub store: StoreChoice,
    pub concurrency: usize,
    pub seconds: f64,
    /// Sequential payments of the idle-latency phase.
    pub samples: usize,
}

/// The API under one-step payment load.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    pub payments: u64,
    /// Payments that did not end in 201 (after any resends).
    pub errors: u64,
    /// Requests resent after `409 concurrent_update` (same key).
    pub resent: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The first measured answer that was not 201 (status and body, or the transport error).
    pub first_error: Option<String>,
}

/// Commit to first delivery attempt.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub events: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub store: String,
    pub without: Phase,
    pub with: Phase,
    pub idle: Latency,
    pub loaded: Latency,
    /// First attempts that arrived during the measured window, and the events created from the
    /// window's start until the load's last answer (a payment sent just before the window ends
    /// commits after it).
    pub delivered_in_window: usize,
    pub events_in_window: usize,
    /// Seconds from the end of the load until the last of its events arrived.
    pub drain_s: f64,
    /// Requests beyond one per event (at least once allows them).
    pub duplicates: usize,
}

/// # Errors
/// When the gateway cannot be started, seeded or registered with.
pub async fn run(options: &WebhookOptions) -> Result<Report, String> {
    let receiver = FastReceiver::start().await?;
    let (running, ids, mut creds) = start_gateway(&options.store, options.concurrency).await?;
    let addr = running.addr;
    let mut conn = Connection::new(addr, Duration::from_secs(30));
    creds.fetch_token(&mut conn).await?;
    let mut report = Report {
        store: match &options.store {
            StoreChoice::Memory => "embedded".to_owned(),
            StoreChoice::Dynamodb { .. } => "moto".to_owned(),
        },
        ..Report::default()
    };

    let without = load(addr, &creds, &ids, options.concurrency, options.seconds).await;
    report.without = without.phase;

    let url = format!("http://{}/hook", receiver.addr);
    let key = format!("wl-endpoint-{:x}", rand::random::<u64>());
    let headers = [
        ("x-api-key", creds.api_key.as_str()),
        ("authorization", creds.bearer.as_str()),
        ("idempotency-key", key.as_str()),
        ("content-type", "application/json"),
    ];
    let body = Bytes::from(json!({"url": url}).to_string());
    let created = conn
        .send(Method::POST, "/v1/webhook_endpoints", &headers, body)
        .await
        .map_err(|e| e.to_string())?;
    if created.status != 201 {
        return Err(format!(
            "registering the endpoint: {} {:?}",
            created.status, created.body
        ));
    }

    for i in 0..options.samples {
        let key = format!("wl-idle-{i}-{:x}", rand::random::<u64>());
        let headers = [
            ("x-api-key", creds.api_key.as_str()),
            ("authorization", creds.bearer.as_str()),
            ("idempotency-key", key.as_str()),
            ("content-type", "application/json"),
        ];
        let _ = conn
            .send(
                Method::POST,
                "/v1/payments",
                &headers,
                pay_body(ids[0], ids[1]),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drain(&receiver, 2 * options.samples).await;
    let (idle, _) = first_arrivals(&receiver);
    report.idle = latency(idle.values().map(|(created, at)| at - created));

    let before = receiver.count();
    let with = load(addr, &creds, &ids, options.concurrency, options.seconds).await;
    let (from, to) = (with.window_start, with.window_end);
    report.with = with.phase;
    let (so_far, _) = first_arrivals(&receiver);
    let events_in_window = so_far
        .values()
        .filter(|(c, _)| *c >= from && *c < to)
        .count();
    report.delivered_in_window = receiver
        .arrivals()
        .iter()
        .skip(before)
        .filter(|a| a.at >= from && a.at < from + options.seconds)
        .count();
    // Every payment of the phase made two events, the warm-up's too: wait for all of them, or
    // the warm-up's deliveries alone could satisfy the count before the window's arrive.
    let expected_total = idle.len() + 2 * with.created;
    report.drain_s = drain(&receiver, expected_total).await;
    let (all, duplicates) = first_arrivals(&receiver);
    report.events_in_window = all
        .values()
        .filter(|(c, _)| *c >= from && *c < to)
        .count()
        .max(events_in_window);
    report.loaded = latency(
        all.values()
            .filter(|(c, _)| *c >= from && *c < to)
            .map(|(created, at)| at - created),
    );
    report.duplicates = duplicates;
    running.stop().await.map_err(|e| e.to_string())?;
    Ok(report)
}

/// A line on the payments resent after `409 concurrent_update`, when there were any.
fn resent(r: &Report) -> String {
    if r.without.resent + r.with.resent == 0 {
        return String::new();
    }
    format!(
        "\nResent after `409 concurrent_update` (same key, the store's own retries spent): {} \
         without an endpoint, {} with one.\n",
        r.without.resent, r.with.resent
    )
}

/// The report as markdown tables.
pub fn markdown(r: &Report, options: &WebhookOptions) -> String {
    let phase = |label: &str, p: &Phase| {
        format!(
            "| {label} | {:.0} | {:.2} | {:.2} | {} |\n",
            p.payments as f64 / p.seconds,
            p.p50_ms,
            p.p99_ms,
            p.errors
        )
    };
    let lat = |label: &str, l: &Latency| {
        format!(
            "| {label} | {} | {:.1} | {:.1} | {:.1} |\n",
            l.events, l.p50_ms, l.p99_ms, l.max_ms
        )
    };
    format!(
        "Store: {}. One-step payments on {} connections for {} s per phase.\n\n\
         | one-step payments | payments/s | p50 ms | p99 ms | non-201 |\n|---|---:|---:|---:|---:|\n{}{}\n\
         | commit → first delivery attempt | events | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n{}{}\n\
         Deliveries during the loaded window: {} in {} s ({:.0}/s; the window created {} events); \
         the last event arrived {:.2} s after the load ended; {} duplicate requests.\n{}",
        r.store,
        options.concurrency,
        options.seconds,
        phase("no endpoint registered", &r.without),
        phase("one endpoint, every event type", &r.with),
        lat("idle (sequential payments, 50 ms apart)", &r.idle),
        lat("under the load above", &r.loaded),
        r.delivered_in_window,
        r.with.seconds,
        r.delivered_in_window as f64 / r.with.seconds,
        r.events_in_window,
        r.drain_s,
        r.duplicates,
        resent(r)
    )
}
