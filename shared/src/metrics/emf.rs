//! One record of CloudWatch's embedded metric format (EMF): a JSON object whose `_aws` member
//! declares the metrics (namespace, dimension sets, names and units) and whose other members
//! hold the dimensions' values and the metrics' values. CloudWatch Logs extracts the metrics
//! from a log event whose message is exactly that object, so the functions print it as a line
//! of its own, never inside a log line. Members are written in a fixed order (`_aws`, then the
//! dimensions, then the values), whatever serde_json's map ordering.

use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::Number;
use time::OffsetDateTime;

use crate::spelling::spelled;

/// The most dimensions one dimension set may name (EMF's limit).
pub const MAX_DIMENSIONS: usize = 30;
/// The most metrics one record may declare (EMF's limit).
pub const MAX_METRICS: usize = 100;

spelled! {
    /// A metric's unit, as CloudWatch spells it (only those paygate uses).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Unit {
        /// Things counted: events, calls.
        Count => "Count",
        /// A plain number: an amount in minor units, a score.
        None => "None",
    }
}

/// One EMF record, before it is stamped with its namespace and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRecord {
    dimension_sets: Vec<Vec<&'static str>>,
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<(&'static str, Unit, Number)>,
}

impl MetricRecord {
    /// A record whose metrics CloudWatch aggregates by each of `dimension_sets` (each set a
    /// list of dimension names, every one of them given a value by [`Self::dimension`]).
    pub fn new(dimension_sets: &[&[&'static str]]) -> Self {
        Self {
            dimension_sets: dimension_sets.iter().map(|set| set.to_vec()).collect(),
            dimensions: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// The value of the dimension `name` in this record.
    #[must_use]
    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.dimensions.push((name, value.into()));
        self
    }

    /// One metric of this record and its value.
    #[must_use]
    pub fn metric(mut self, name: &'static str, unit: Unit, value: impl Into<Number>) -> Self {
        self.metrics.push((name, unit, value.into()));
        self
    }

    /// The value of the metric `name`, if the record has it.
    pub fn value(&self, name: &str) -> Option<&Number> {
        self.metrics
            .iter()
            .find(|(metric, _, _)| *metric == name)
            .map(|(_, _, value)| value)
    }

    /// Whether the record is one CloudWatch accepts: at least one metric and at most
    /// [`MAX_METRICS`], no dimension set longer than [`MAX_DIMENSIONS`], every dimension named
    /// in a set given a value, and no name used twice.
    pub fn is_valid(&self) -> bool {
        let mut names: Vec<&str> = self
            .dimensions
            .iter()
            .map(|(name, _)| *name)
            .chain(self.metrics.iter().map(|(name, _, _)| *name))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        !self.metrics.is_empty()
            && self.metrics.len() <= MAX_METRICS
            && names.len() == count
            && self.dimension_sets.iter().all(|set| {
                set.len() <= MAX_DIMENSIONS
                    && set
                        .iter()
                        .all(|name| self.dimensions.iter().any(|(given, _)| given == name))
            })
    }

    /// The record as one line of EMF JSON (no newline), under `namespace`, stamped `at`.
    pub fn to_line(&self, namespace: &str, at: OffsetDateTime) -> String {
        debug_assert!(self.is_valid(), "an invalid EMF record: {self:?}");
        let millis = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
        let line = Line {
            record: self,
            namespace,
            millis,
        };
        // Strings, integers and fixed keys only: serializing cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// A record with its namespace and time, as written.
struct Line<'a> {
    record: &'a MetricRecord,
    namespace: &'a str,
    millis: i64,
}

/// The `_aws` member.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    timestamp: i64,
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: &'a [Vec<&'static str>],
    metrics: Vec<Definition<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition<'a> {
    name: &'a str,
    unit: Unit,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.record;
        let metadata = Metadata {
            timestamp: self.millis,
            cloud_watch_metrics: [Directive {
                namespace: self.namespace,
                dimensions: &record.dimension_sets,
                metrics: record
                    .metrics
                    .iter()
                    .map(|(name, unit, _)| Definition { name, unit: *unit })
                    .collect(),
            }],
        };
        let mut map =
            serializer.serialize_map(Some(1 + record.dimensions.len() + record.metrics.len()))?;
        map.serialize_entry("_aws", &metadata)?;
        for (name, value) in &record.dimensions {
            map.serialize_entry(name, value)?;
        }
        for (name, _, value) in &record.metrics {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}
