//! What the load saw on the wire: answers by status and problem code, retries, conflicts, 5xx.

use std::collections::BTreeMap;

use crate::client::{Answer, TransportError};

#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    pub by_status: BTreeMap<u16, u64>,
    /// 409 answers by problem code (`idempotency_key_in_use`, `payment_not_pending`, …).
    pub conflicts: BTreeMap<String, u64>,
    /// Other 4xx answers by problem code.
    pub refusals: BTreeMap<String, u64>,
    /// 503 problem+json with Retry-After: the clean "not now".
    pub clean_unavailable: u64,
    /// Any other 5xx, or a 503 without problem+json and Retry-After.
    pub server_errors: u64,
    /// One example of each unclean 5xx, for the report.
    pub server_error_samples: Vec<String>,
    /// No answer at all (connection failed) / no answer in time.
    pub transport_errors: u64,
    pub timeouts: u64,
    /// Requests resent with the same Idempotency-Key (after a 409/503/lost answer).
    pub retries: u64,
    /// Answers deliberately dropped and the request resent, as after a lost response.
    pub lost_responses: u64,
    /// Answers marked `Idempotent-Replayed: true`.
    pub replays: u64,
    /// Concurrent confirm-vs-cancel races and duplicate confirms run.
    pub races: u64,
    pub duplicate_confirms: u64,
    /// Storms of refunds of one payment sent at once (distinct keys).
    pub refund_storms: u64,
    /// Refund answers deliberately dropped and the refund resent with the same key.
    pub lost_refunds: u64,
    /// Tokens refetched after a 401 (expiry on long runs).
    pub token_refreshes: u64,
    /// The slowest answer seen, in milliseconds.
    pub max_latency_ms: u64,
}

impl Stats {
    /// Counts one request and its outcome.
    pub fn note(&mut self, result: &Result<Answer, TransportError>) {
        self.requests += 1;
        match result {
            Ok(answer) => {
                *self.by_status.entry(answer.status).or_default() += 1;
                self.max_latency_ms = self
                    .max_latency_ms
                    .max(u64::try_from(answer.latency.as_millis()).unwrap_or(u64::MAX));
                if answer.replayed {
                    self.replays += 1;
                }
                let code = || answer.field("code").unwrap_or_else(|| "-".to_owned());
                match answer.status {
                    409 => *self.conflicts.entry(code()).or_default() += 1,
                    400..=499 => *self.refusals.entry(code()).or_default() += 1,
                    500..=599 if answer.is_clean_unavailable() => self.clean_unavailable += 1,
                    500..=599 => {
                        self.server_errors += 1;
                        if self.server_error_samples.len() < 5 {
                            self.server_error_samples.push(format!(
                                "{} {:?}: {}",
                                answer.status,
                                answer.content_type,
                                String::from_utf8_lossy(&answer.body)
                            ));
                        }
                    }
                    _ => {}
                }
            }
            Err(TransportError::Timeout(_)) => self.timeouts += 1,
            Err(_) => self.transport_errors += 1,
        }
    }

    pub fn merge(&mut self, other: &Self) {
        self.requests += other.requests;
        for (k, v) in &other.by_status {
            *self.by_status.entry(*k).or_default() += v;
        }
        for (k, v) in &other.conflicts {
            *self.conflicts.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.refusals {
            *self.refusals.entry(k.clone()).or_default() += v;
        }
        self.clean_unavailable += other.clean_unavailable;
        self.server_errors += other.server_errors;
        for s in &other.server_error_samples {
            if self.server_error_samples.len() < 5 {
                self.server_error_samples.push(s.clone());
            }
        }
        self.transport_errors += other.transport_errors;
        self.timeouts += other.timeouts;
        self.retries += other.retries;
        self.lost_responses += other.lost_responses;
        self.replays += other.replays;
        self.races += other.races;
        self.duplicate_confirms += other.duplicate_confirms;
        self.refund_storms += other.refund_storms;
        self.lost_refunds += other.lost_refunds;
        self.token_refreshes += other.token_refreshes;
        self.max_latency_ms = self.max_latency_ms.max(other.max_latency_ms);
    }

    /// All 5xx answers, clean 503s included.
    pub fn all_5xx(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| **s >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn conflicts_total(&self) -> u64 {
        self.conflicts.values().sum()
    }
}

pub fn format_counts<K: std::fmt::Display>(counts: &BTreeMap<K, u64>) -> String {
    if counts.is_empty() {
        return "0".to_owned();
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
