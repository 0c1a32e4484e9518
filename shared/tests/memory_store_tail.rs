//! A benchmark, not a test (ignored unless asked for): the embedded store's write path, one
//! one-step payment at a time, timed per call, printing the distribution and the slowest calls
//! with how many payments the store held then. A stall that lines up with a power of two (times
//! 7/8, `hashbrown`'s load factor) is a hash table doubling under the store's lock, which is
//! what this found before the maps that grow with traffic became B-trees
//! (`docs/performance.md`, "The embedded store's write-path tail").
//!
//! `N=1000000 cargo test --release -p paygate-shared --all-features --test memory_store_tail -- --ignored --nocapture`

#[allow(dead_code, unused_imports)]
mod support;

use std::time::Instant;

use paygate_shared::store::{Store, memory::MemoryStore};
use support::{GENEROUS, T0, client, cny, one_step, open_funded, record, transfer};

#[tokio::test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn one_step_payments_one_at_a_time() {
    let store = MemoryStore::new();
    let s: &dyn Store = &store;
    let alice = client("alice");
    let a = open_funded(s, &alice, GENEROUS, 1_000_000_000_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let p = one_step(transfer(&alice, a, b, cny(1), T0));
        let r = record(&p, &format!("k{i}"), "x", T0);
        let started = Instant::now();
        s.create_payment(&p, &r, T0).await.expect("a payment");
        times.push((started.elapsed().as_micros(), i));
        // What the local notifier does: take the outbox as it fills.
        if i % 1000 == 0 {
            store.take_outbox(usize::MAX);
        }
    }
    let mut sorted: Vec<u128> = times.iter().map(|t| t.0).collect();
    sorted.sort_unstable();
    println!("| payments | p50 µs | p99 µs | p99.9 µs | max µs |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {n} | {} | {} | {} | {} |",
        sorted[n / 2],
        sorted[n * 99 / 100],
        sorted[n * 999 / 1000],
        sorted[n - 1]
    );
    times.sort_unstable_by_key(|t| std::cmp::Reverse(t.0));
    println!("\nslowest calls:\n\n| µs | payments held |\n|---:|---:|");
    for (us, i) in times.iter().take(8) {
        println!("| {us} | {i} |");
    }
}
