//! Business metrics in CloudWatch's embedded metric format (EMF): each record is one JSON line
//! on stdout, which Lambda sends to the function's log group and CloudWatch Logs turns into
//! metrics, with no API call and no permission beyond the logs'. Handlers get a [`Metrics`]
//! handle in their dependencies (production: stdout, under `PAYGATE_METRICS_NAMESPACE`; tests:
//! a capturing sink; the local gateway: off) and record a metric where the state change it
//! counts happened, and only then (a replayed request records nothing). The records, their
//! names and dimensions are built by [`MetricRecord`]'s constructors (`payment_event`,
//! `round_trips`, `webhook_delivery`, `risk_decision`); the per-request DynamoDB round-trip
//! count is [`count_round_trips`].

mod emf;
mod records;
mod round_trips;
#[cfg(test)]
mod tests;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use time::OffsetDateTime;

pub use emf::{MAX_DIMENSIONS, MAX_METRICS, MetricRecord, Unit};
pub use records::{
    DYNAMODB_ROUND_TRIPS, DeliveryOutcome, PAYMENT_AMOUNT, PAYMENT_EVENTS, PaymentEvent,
    RISK_DECISIONS, RISK_SCORE, WEBHOOK_DELIVERIES,
};
pub use round_trips::{add_round_trip, count_round_trips};

use crate::{
    Money, RiskAssessment,
    config::{ConfigError, Env},
};

/// The namespace when `PAYGATE_METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "paygate";

/// Where metric lines go: one call per record, with the line's JSON (no newline).
pub type MetricSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Records metrics under one namespace into one sink, or nowhere. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    namespace: Arc<str>,
    sink: Option<MetricSink>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.namespace)
            .field("on", &self.sink.is_some())
            .finish()
    }
}

/// Off: records nothing.
impl Default for Metrics {
    fn default() -> Self {
        Self::off()
    }
}

impl Metrics {
    /// Records into `sink` under `namespace`.
    pub fn new(namespace: &str, sink: MetricSink) -> Self {
        Self {
            namespace: namespace.into(),
            sink: Some(sink),
        }
    }

    /// Records nothing (the local gateway, whose stdout is its log; most tests).
    pub fn off() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.into(),
            sink: None,
        }
    }

    /// Prints each record to stdout as a line of its own, where Lambda's log capture finds it:
    /// CloudWatch extracts metrics only from a log event that is the EMF object itself, never
    /// from one wrapped in a log line's JSON.
    pub fn stdout(namespace: &str) -> Self {
        Self::new(
            namespace,
            Arc::new(|line: &str| {
                // One locked write per line, so a log line cannot land in its middle; a closed
                // stdout loses the metric, never the request.
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }),
        )
    }

    /// The production handle: stdout, under `PAYGATE_METRICS_NAMESPACE` (default
    /// [`DEFAULT_NAMESPACE`]).
    ///
    /// # Errors
    /// A namespace CloudWatch would refuse: over 255 characters, a character other than
    /// letters, digits, space and `. - _ / # :`, or one starting with `AWS/`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let namespace = env
            .optional("PAYGATE_METRICS_NAMESPACE")
            .map_or_else(|| DEFAULT_NAMESPACE.to_owned(), |v| v.trim().to_owned());
        let allowed = |c: char| c.is_ascii_alphanumeric() || " .-_/#:".contains(c);
        if namespace.len() > 255 || !namespace.chars().all(allowed) || namespace.starts_with("AWS/")
        {
            return Err(ConfigError::Invalid {
                name: "PAYGATE_METRICS_NAMESPACE",
                why:
                    "a CloudWatch namespace: at most 255 letters, digits, spaces and . - _ / # :, \
                      not starting with AWS/"
                        .to_owned(),
            });
        }
        Ok(Self::stdout(&namespace))
    }

    /// Records into memory under `namespace`, for tests to read back.
    pub fn capture(namespace: &str) -> (Self, CapturedMetrics) {
        let captured = CapturedMetrics::default();
        let lines = captured.clone();
        let sink = Arc::new(move |line: &str| {
            if let Ok(mut lines) = lines.0.lock() {
                lines.push(line.to_owned());
            }
        });
        (Self::new(namespace, sink), captured)
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Writes `record`, stamped `at`, to the sink (if any).
    pub fn record(&self, record: &MetricRecord, at: OffsetDateTime) {
        if let Some(sink) = &self.sink {
            sink(&record.to_line(&self.namespace, at));
        }
    }

    /// One payment event of `amount` ([`MetricRecord::payment_event`]).
    pub fn payment_event(&self, event: PaymentEvent, amount: Money, at: OffsetDateTime) {
        self.record(&MetricRecord::payment_event(event, amount), at);
    }

    /// The DynamoDB round trips of one request or invocation of `function`
    /// ([`MetricRecord::round_trips`]).
    pub fn round_trips(&self, function: &str, count: u64, at: OffsetDateTime) {
        self.record(&MetricRecord::round_trips(function, count), at);
    }

    /// One webhook delivery attempt's outcome ([`MetricRecord::webhook_delivery`]).
    pub fn webhook_delivery(&self, outcome: DeliveryOutcome, at: OffsetDateTime) {
        self.record(&MetricRecord::webhook_delivery(outcome), at);
    }

    /// One risk decision on a created payment ([`MetricRecord::risk_decision`]).
    pub fn risk_decision(&self, risk: &RiskAssessment, at: OffsetDateTime) {
        self.record(&MetricRecord::risk_decision(risk.decision, risk.score), at);
    }
}

/// The lines a [`Metrics::capture`] handle recorded. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct CapturedMetrics(Arc<Mutex<Vec<String>>>);

impl CapturedMetrics {
    /// Every line, in the order recorded.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|lines| lines.clone()).unwrap_or_default()
    }

    /// The records that carry the metric `name`, parsed, in the order recorded.
    pub fn with_metric(&self, name: &str) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|record| record.get(name).is_some())
            .collect()
    }

    /// Forgets what was recorded so far.
    pub fn clear(&self) {
        if let Ok(mut lines) = self.0.lock() {
            lines.clear();
        }
    }
}
