//! The Markdown the units test prints and writes into `docs/performance.md`.

use std::{collections::BTreeMap, fmt::Write};

use super::{
    capacity::{Snapshot, Units},
    cost::{self, Breakdown, Line, Prices},
    size::item_size,
};

/// One endpoint's typical request, measured.
pub struct Row {
    pub name: &'static str,
    pub round_trips: u64,
    pub calls: Vec<Units>,
    /// In-process handler time on the in-memory store (see `cpu.rs`).
    pub cpu_ms: f64,
}

/// Assumed in-region DynamoDB latency per call, milliseconds (typical p50 from a Lambda in the
/// table's region; not measured here: moto's latencies say nothing about AWS's).
pub fn latency_ms(operation: &str) -> f64 {
    match operation {
        "TransactWriteItems" => 12.0,
        "GetItem" => 5.0,
        _ => 6.0,
    }
}

/// Lambda gives a function CPU in proportion to memory, one vCPU at 1,769 MB: at 128 MB a
/// CPU-bound stretch may take up to 1769/128 times as long as on a full core.
pub const CPU_STRETCH_128MB: f64 = 1769.0 / 128.0;
/// CloudWatch Logs bytes per invocation: the function's one JSON line (~200 B), Lambda's JSON
/// platform records (`platform.start`, `platform.report`; ~600 B) and, for API requests, the
/// stage's access-log line (~400 B). Assumed, not measured.
pub const LOG_BYTES_API: f64 = 200.0 + 600.0 + 400.0;
pub const LOG_BYTES_AUTHORIZER: f64 = 200.0 + 600.0;
/// Traffic assumed for the authorizer cache and token reuse: each client makes one payment a
/// second and reuses its 15-minute token; the authorizer's answers are cached 300 s
/// (`ReauthorizeEvery`), so a token costs 900/300 = 3 authorizer invocations.
pub const PAYMENTS_PER_SECOND_PER_CLIENT: f64 = 1.0;
pub const TOKEN_LIFETIME_S: f64 = 900.0;
pub const AUTHORIZER_CACHE_S: f64 = 300.0;
/// Key caches refresh every 300 s per sandbox; assumed 10 warm sandboxes for each of the four
/// functions holding a key cache on the payment path (pay, confirm, authorizer, token) while a
/// million payments are served at 100 a second (10,000 s).
pub const SECRETS_CALLS_PER_MILLION: f64 = 4.0 * 10.0 * 34.0;

/// A float sum that starts at +0 (`Sum for f64` starts at -0, printed "-0").
fn total(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |sum, v| sum + v)
}

impl Row {
    pub fn rru(&self) -> f64 {
        total(self.calls.iter().map(|c| c.rru))
    }
    pub fn wru(&self) -> f64 {
        total(self.calls.iter().map(|c| c.wru))
    }
    pub fn index_wru(&self) -> f64 {
        total(self.calls.iter().map(|c| c.index_wru))
    }
    pub fn dynamodb_ms(&self) -> f64 {
        total(self.calls.iter().map(|c| latency_ms(&c.operation)))
    }
    /// Lambda bills every started millisecond.
    pub fn billed_ms(&self) -> f64 {
        (self.cpu_ms * CPU_STRETCH_128MB + self.dynamodb_ms())
            .ceil()
            .max(1.0)
    }
    fn line(&self, per_payment: f64, api_request: bool, log_bytes: f64) -> Line {
        Line {
            per_payment,
            api_request,
            billed_ms: self.billed_ms(),
            rru: self.rru(),
            wru: self.wru() + self.index_wru(),
            log_bytes,
        }
    }
}

fn row<'a>(rows: &'a [Row], name: &str) -> &'a Row {
    rows.iter().find(|r| r.name == name).expect("measured")
}

/// Per-endpoint round trips, operations, items and request units, and item sizes by type.
pub fn units_section(rows: &[Row], items: &Snapshot) -> String {
    let mut md = String::from(
        "## DynamoDB round trips and request units\n\n\
         Counted, not estimated: `PAYGATE_WRITE_DOCS=1 bash tests/run.sh -- -p paygate-flows --test units -- --nocapture` \
         runs each endpoint's typical request once through its handler against moto, records every \
         DynamoDB HTTP call the store makes (an HTTP-client wrapper in the store's `SdkConfig`; \
         the count is checked against `DynamoStore::round_trips()` and fails the test if it \
         changes), and snapshots both tables before and after. Request units follow the \
         on-demand rules (strongly consistent read 1 RRU per 4 KB, `BatchGetItem` per item, \
         `Query` on the sum returned; write 1 WRU per KB of the larger of old and new item, \
         2 in `TransactWriteItems`, where `ConditionCheck` is counted as a transactional write; \
         GSI writes with projection ALL, 1 WRU per KB, none when the item is not in the \
         sparse index) applied to the item sizes computed by DynamoDB's size rules. Every read \
         of a table is strongly consistent; the lists query global secondary indexes, which \
         only read eventually consistent (half the units, marked \"eventual\").\n\n\
         | endpoint | round trips | operations | items (size) | RRU | WRU table | WRU GSI |\n\
         |---|---:|---|---|---:|---:|---:|\n",
    );
    for r in rows {
        let ops: Vec<&str> = r.calls.iter().map(|c| c.operation.as_str()).collect();
        let items: Vec<String> = r
            .calls
            .iter()
            .map(|c| format!("{}: {}", c.operation, c.items.join(", ")))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.round_trips,
            if ops.is_empty() {
                "—".to_owned()
            } else {
                ops.join(" + ")
            },
            if items.is_empty() {
                "—".to_owned()
            } else {
                items.join("; ")
            },
            r.rru(),
            r.wru(),
            r.index_wru()
        );
    }
    let per = |names: &[&str]| {
        let rs: Vec<&Row> = names.iter().map(|n| row(rows, n)).collect();
        (
            rs.iter().map(|r| r.round_trips).sum::<u64>(),
            total(rs.iter().map(|r| r.rru())),
            total(rs.iter().map(|r| r.wru() + r.index_wru())),
        )
    };
    let (t2, r2, w2) = per(&["pay (hold)", "confirm"]);
    let (t1, r1, w1) = per(&["pay (one-step)"]);
    let _ = writeln!(
        md,
        "\nPer payment: pay + confirm {t2} round trips, {r2} RRU, {w2} WRU (table + GSI); \
         one-step pay {t1} round trips, {r1} RRU, {w1} WRU.\n"
    );
    let mut sizes: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for item in items.values() {
        let mut kind = item
            .get("type")
            .and_then(|t| t.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if kind == "payment" {
            let status = item.get("status").and_then(|s| s.as_s().ok());
            kind = format!("payment ({})", status.map_or("", String::as_str));
        }
        let size = item_size(item);
        let entry = sizes.entry(kind).or_insert((usize::MAX, 0, 0));
        *entry = (entry.0.min(size), entry.1.max(size), entry.2 + 1);
    }
    md.push_str("Item sizes after the run (DynamoDB's rules; bytes):\n\n| item | count | min | max |\n|---|---:|---:|---:|\n");
    for (kind, (min, max, count)) in sizes {
        let _ = writeln!(md, "| {kind} | {count} | {min} | {max} |");
    }
    md
}

/// Cost per million payments, two-step and one-step, with the prices and assumptions.
pub fn cost_section(rows: &[Row], debug_build: bool) -> String {
    let prices = Prices::US_EAST_1;
    let authorizer_per_payment =
        TOKEN_LIFETIME_S / AUTHORIZER_CACHE_S / (TOKEN_LIFETIME_S * PAYMENTS_PER_SECOND_PER_CLIENT);
    let token_per_payment = 1.0 / (TOKEN_LIFETIME_S * PAYMENTS_PER_SECOND_PER_CLIENT);
    let shared = |lines: &mut Vec<Line>| {
        lines.push(row(rows, "authorizer").line(
            authorizer_per_payment,
            false,
            LOG_BYTES_AUTHORIZER,
        ));
        lines.push(row(rows, "token").line(token_per_payment, true, LOG_BYTES_API));
    };
    let mut two_step = vec![
        row(rows, "pay (hold)").line(1.0, true, LOG_BYTES_API),
        row(rows, "confirm").line(1.0, true, LOG_BYTES_API),
    ];
    shared(&mut two_step);
    let mut one_step = vec![row(rows, "pay (one-step)").line(1.0, true, LOG_BYTES_API)];
    shared(&mut one_step);
    let a = cost::per_million(&prices, &two_step, SECRETS_CALLS_PER_MILLION);
    let b = cost::per_million(&prices, &one_step, SECRETS_CALLS_PER_MILLION);
    let requests_two = 2.0;
    let hit =
        |requests_per_payment: f64| 100.0 * (1.0 - authorizer_per_payment / requests_per_payment);
    let mut md = format!(
        "## Cost per million payments\n\n\
         AWS us-east-1 list prices, verified {verified} (AWS pricing pages and AWS documentation \
         as quoted by public pages; no free tier, no Savings Plans):\n\
         API Gateway REST API ${api:.2} per million requests (first 333 million a month);\n\
         Lambda arm64 ${gbs} per GB-s and ${lreq:.2} per million requests, 128 MB;\n\
         DynamoDB on demand (Standard) ${wru} per million WRU and ${rru} per million RRU (the \
         November 2024 halving);\n\
         Secrets Manager ${sm:.2} per 10,000 API calls; CloudWatch Logs ${logs:.2} per GB ingested.\n\n",
        verified = Prices::VERIFIED,
        api = prices.api_per_million,
        gbs = prices.lambda_per_gb_s,
        lreq = prices.lambda_per_million,
        wru = prices.wru_per_million,
        rru = prices.rru_per_million,
        sm = prices.secrets_per_10k,
        logs = prices.logs_per_gb,
    );
    md.push_str("| component | pay + confirm ($ per 1M payments) | one-step pay ($ per 1M payments) |\n|---|---:|---:|\n");
    type Component = (&'static str, fn(&Breakdown) -> f64);
    let lines: [Component; 7] = [
        ("API Gateway requests", |c| c.api),
        ("Lambda requests", |c| c.lambda_requests),
        ("Lambda duration (GB-s)", |c| c.lambda_duration),
        ("DynamoDB reads (RRU)", |c| c.reads),
        ("DynamoDB writes (WRU, table + GSI)", |c| c.writes),
        ("Secrets Manager", |c| c.secrets),
        ("CloudWatch Logs", |c| c.logs),
    ];
    for (label, get) in lines {
        let _ = writeln!(md, "| {label} | {:.2} | {:.2} |", get(&a), get(&b));
    }
    let _ = writeln!(
        md,
        "| **total** | **{:.2}** | **{:.2}** |\n",
        a.total(),
        b.total()
    );
    let _ = writeln!(
        md,
        "Billed Lambda duration per invocation = ⌈handler time × {CPU_STRETCH_128MB:.1} (128 MB is \
         128/1769 of a vCPU) + DynamoDB calls × assumed latency (GetItem 5 ms, BatchGetItem and \
         Query 6 ms, TransactWriteItems 12 ms)⌉. Handler time is measured in-process on the \
         in-memory store, median of 25, in this test's {} build (no I/O, so CPU; a release \
         build is faster, so this errs high). Lambda duration is {:.1} % of the pay + confirm \
         total, so these assumptions hardly move it.\n",
        if debug_build {
            "debug (dependencies at opt-level 1)"
        } else {
            "release"
        },
        100.0 * a.lambda_duration / a.total()
    );
    md.push_str(
        "| endpoint | handler ms | DynamoDB ms (assumed) | billed ms |\n|---|---:|---:|---:|\n",
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {} | {} |",
            r.name,
            r.cpu_ms,
            r.dynamodb_ms(),
            r.billed_ms()
        );
    }
    let _ = writeln!(
        md,
        "\nAssumed traffic: each client makes {PAYMENTS_PER_SECOND_PER_CLIENT} payment a second \
         and reuses its token for its 15-minute life, so {:.5} token requests per payment; the \
         authorizer's answers are cached {AUTHORIZER_CACHE_S} s per token, so at most 3 authorizer \
         invocations per token: {:.5} per payment, a cache hit rate of {:.2} % for pay + confirm \
         ({requests_two} requests a payment) and {:.2} % for one-step pay. Secrets Manager: key \
         caches refresh every 300 s per sandbox, 10 warm sandboxes for each of 4 functions over \
         the 10,000 s a million payments take at 100 a second = {SECRETS_CALLS_PER_MILLION} calls. \
         Logs: {LOG_BYTES_API} B per API invocation (function line ~200 B, Lambda platform \
         records ~600 B, access-log line ~400 B), {LOG_BYTES_AUTHORIZER} B per authorizer \
         invocation (assumed sizes). Not included: DynamoDB storage and backups, X-Ray (the \
         template enables active tracing: $5.00 per million traces recorded, sampled), data \
         transfer out, CloudWatch alarms and metrics, the expiry sweep's schedule.",
        token_per_payment,
        authorizer_per_payment,
        hit(requests_two),
        hit(1.0),
    );
    md
}
