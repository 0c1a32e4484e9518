//! The attack suite: every attack of issues 6, 13, 14, 15 and 16 sent over real HTTP to a local gateway (the
//! bundled template, functions in-process on the embedded store), each asserting the exact
//! refusal and that no money moved. All of it runs under one log capture, which ends the run
//! by checking that no client secret, API key or token reached a log line.
//!
//! Its own `main` (not libtest), so that the run can count what it proved: it prints each
//! group's refused cases and the total. `cargo test -p paygate-attacks -- tokens bola` runs
//! only the groups named.

mod bodies;
mod bola;
mod brute_force;
mod captures;
mod forge;
mod incoming;
mod lifecycle;
mod lists;
mod logs;
mod parties;
mod refunds;
mod risk;
mod scopes;
mod storms;
mod support;
mod tokens;
mod webhooks;
mod webhooks_scopes;
mod webhooks_urls;

use std::{future::Future, pin::Pin, process::ExitCode, sync::Arc};

use support::{Tally, Watchlist};

type Group = fn(Arc<Watchlist>) -> Pin<Box<dyn Future<Output = Tally> + Send>>;

const GROUPS: &[(&str, Group)] = &[
    ("tokens", |w| Box::pin(tokens::run(w))),
    ("scopes", |w| Box::pin(scopes::run(w))),
    ("bola", |w| Box::pin(bola::run(w))),
    ("bodies", |w| Box::pin(bodies::run(w))),
    ("brute_force", |w| Box::pin(brute_force::run(w))),
    ("parties", |w| Box::pin(parties::run(w))),
    ("lists", |w| Box::pin(lists::run(w))),
    ("captures", |w| Box::pin(captures::run(w))),
    ("refunds", |w| Box::pin(refunds::run(w))),
    ("incoming", |w| Box::pin(incoming::run(w))),
    ("risk", |w| Box::pin(risk::run(w))),
    ("storms", |w| Box::pin(storms::run(w))),
    ("webhooks", |w| Box::pin(webhooks::run(w))),
    ("webhook_urls_on_aws", |w| {
        Box::pin(webhooks_urls::on_aws(w))
    }),
];

fn main() -> ExitCode {
    let capture = logs::Capture::install();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let watch = Arc::new(Watchlist::default());
    let mut failed = Vec::new();
    let mut total = 0;
    for (name, group) in GROUPS {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        // A group runs as its own task, so one group's failure is reported and the rest run.
        let started = std::time::Instant::now();
        match runtime.block_on(async { tokio::spawn(group(watch.clone())).await }) {
            Ok(tally) => {
                println!(
                    "attacks/{name}: {} cases refused ({:.1} s)",
                    tally.cases.len(),
                    started.elapsed().as_secs_f64()
                );
                for case in &tally.cases {
                    println!("  refused: {case}");
                }
                total += tally.cases.len();
            }
            Err(panic) => {
                println!("attacks/{name}: FAILED ({panic})");
                failed.push(*name);
            }
        }
    }

    // The leak check's own control: a watched value that is logged must be found.
    let canary = Watchlist::default();
    canary.add("the canary", "canary-3f9c2a7e51d04b86");
    tracing::info!(
        value = "canary-3f9c2a7e51d04b86",
        "the leak check's control line"
    );

    let logs = capture.text();
    let control = logs::leaks(&logs, &canary).len() == 1;
    if !control {
        println!("logs: the control value was not found: the capture or the check is broken");
    }
    let lines = logs.lines().count();
    let leaks = logs::leaks(&logs, &watch);
    let watched = watch.entries().len();
    println!(
        "logs: {lines} lines captured, {watched} secrets and tokens watched, {} leaks",
        leaks.len()
    );
    for leak in &leaks {
        println!("  LEAK: {leak}");
    }
    // The capture must have seen the traffic, or "no leak" would prove nothing.
    let saw_traffic = lines > 0 && logs.contains("paygate_local::access");
    if !saw_traffic {
        println!("logs: the capture saw no access-log line");
    }
    println!(
        "paygate-attacks: {total} attack cases refused, {} groups failed",
        failed.len()
    );
    if failed.is_empty() && leaks.is_empty() && saw_traffic && control {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
