//! Delivering events to webhook endpoints (Standard Webhooks v1): the jobs that carry a
//! delivery's next attempt, the queue that holds them until due, and the retry schedule.
//!
//! - [`ssrf`]: which URLs may be delivered to (checked at registration and at each attempt);
//! - [`signing`]: the `webhook-signature` header;
//! - [`engine`]: the [`Notifier`](engine::Notifier), from an outbox record or a retry job to
//!   attempts, retries and delivery records;
//! - [`http`]: one attempt, the POST to a pinned, checked address;
//! - [`queue`]: the retry queues, in memory and (feature `sqs`) on SQS;
//! - `stream` (feature `dynamodb`): DynamoDB JSON images of a stream's Lambda event.

pub mod engine;
pub mod http;
pub mod queue;
pub mod signing;
pub mod ssrf;
/// DynamoDB JSON images (moved to [`crate::store::dynamodb::image`], which the `post`
/// function uses without this feature).
#[cfg(feature = "dynamodb")]
pub mod stream {
    pub use crate::store::dynamodb::image::*;
}

use std::{fmt, str::FromStr, time::Duration};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{ClientId, EventId, WebhookEndpointId};

/// The next attempt of one delivery (the SQS message body on AWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub event_id: EventId,
    pub recipient: ClientId,
    pub endpoint_id: WebhookEndpointId,
    /// The number of the attempt to make (1 for the first).
    pub attempt: u32,
    /// Not to be attempted before then.
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub not_before: OffsetDateTime,
    /// A resend the client asked for (one attempt, outside the schedule).
    #[serde(default)]
    pub manual: bool,
}

/// Holds delivery jobs until they are due.
#[async_trait]
pub trait RetryQueue: Send + Sync {
    /// Enqueues `job`, to come back at `job.not_before` (or earlier, in hops of at most 15
    /// minutes on SQS: a job that comes back early is enqueued again for the rest).
    async fn schedule(&self, job: &DeliveryJob, now: OffsetDateTime) -> Result<(), NotifyError>;
}

/// Why the notifier could not finish a record or a job (it will be retried; nothing is lost).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    #[error("the retry queue failed: {0}")]
    Queue(String),
    #[error(transparent)]
    Webhook(#[from] crate::webhook::WebhookError),
}

/// The waits before each retry: attempt 2 waits the first, and so on; after the last, a
/// delivery is `failed`.
#[derive(Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl RetrySchedule {
    /// Standard Webhooks' guidance: `5s,5m,30m,2h,5h,10h,10h`.
    pub const DEFAULT: &'static str = "5s,5m,30m,2h,5h,10h,10h";

    /// Parses `5s,5m,2h` (seconds, minutes, hours; spaces allowed; empty: no retries).
    ///
    /// # Errors
    /// [`BadSchedule`] quoting (the start of) the text.
    pub fn parse(text: &str) -> Result<Self, BadSchedule> {
        text.parse()
    }

    /// How many attempts a delivery gets in all: the first and one per wait.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.0.len()).map_or(u32::MAX, |retries| retries.saturating_add(1))
    }

    /// The wait after attempt `attempt` (1 for the first) failed, or None when it was the last.
    pub fn wait_after(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
        self.0.get(index).copied()
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::parse(Self::DEFAULT).expect("the default schedule parses")
    }
}

impl fmt::Debug for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// A schedule that is not `<n><s|m|h>[,…]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a retry schedule: expected durations like `5s,5m,2h`")]
pub struct BadSchedule(pub String);

impl FromStr for RetrySchedule {
    type Err = BadSchedule;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadSchedule(text.chars().take(100).collect());
        let mut waits = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let split = part.len() - 1;
            let (value, unit) = part.split_at_checked(split).ok_or_else(bad)?;
            let value: u64 = value.parse().map_err(|_| bad())?;
            let seconds = match unit {
                "s" => value,
                "m" => value.checked_mul(60).ok_or_else(bad)?,
                "h" => value.checked_mul(3600).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            waits.push(Duration::from_secs(seconds));
        }
        Ok(Self(waits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_parses() {
        let schedule: RetrySchedule = RetrySchedule::DEFAULT.parse().unwrap();
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(
            schedule.0,
            [
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(1800),
                hours(2),
                hours(5),
                hours(10),
                hours(10)
            ]
        );
        assert!("5x".parse::<RetrySchedule>().is_err());
        assert!("s".parse::<RetrySchedule>().is_err());
        assert_eq!("1s, 2s".parse::<RetrySchedule>().unwrap().0.len(), 2);
        assert_eq!(RetrySchedule::default(), schedule);
    }

    #[test]
    fn parse_refuses_what_is_not_a_schedule_and_names_it() {
        for bad in [
            "5",
            "5x",
            "s",
            "-5s",
            "5 s",
            "1.5h",
            "5s;5m",
            "99999999999999999999h",
        ] {
            let error = RetrySchedule::parse(bad).expect_err(bad);
            assert_eq!(error, BadSchedule(bad.to_owned()));
        }
        let long = "x".repeat(500);
        assert_eq!(RetrySchedule::parse(&long).unwrap_err().0.len(), 100);
        assert_eq!(
            RetrySchedule::parse("").unwrap().attempts(),
            1,
            "no retries"
        );
    }

    #[test]
    fn waits_follow_the_attempt_numbers() {
        let schedule = RetrySchedule::parse("1s,2m").unwrap();
        assert_eq!(schedule.attempts(), 3);
        assert_eq!(schedule.wait_after(0), None);
        assert_eq!(schedule.wait_after(1), Some(Duration::from_secs(1)));
        assert_eq!(schedule.wait_after(2), Some(Duration::from_secs(120)));
        assert_eq!(
            schedule.wait_after(3),
            None,
            "the last attempt has no wait after it"
        );
    }
}
