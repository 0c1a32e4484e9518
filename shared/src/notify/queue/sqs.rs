//! The retry queue on AWS (and on moto locally): one SQS message per pending retry, its body
//! the [`DeliveryJob`] as JSON, delayed until the job is due. SQS delays at most 15 minutes, so
//! a longer wait is a chain of hops: the consumer finds the job not yet due and schedules it
//! again (`Notifier::on_job`).

use async_trait::async_trait;
use aws_sdk_sqs::{Client, error::DisplayErrorContext};
use time::OffsetDateTime;

use crate::notify::{DeliveryJob, NotifyError, RetryQueue};

/// SQS's longest message delay, in seconds.
pub const MAX_DELAY_SECONDS: i64 = 900;

/// A [`RetryQueue`] on the SQS queue at `queue_url`.
#[derive(Debug, Clone)]
pub struct SqsRetryQueue {
    client: Client,
    queue_url: String,
}

impl SqsRetryQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

/// The message delay for a job due at `not_before`: the wait rounded up to whole seconds (never
/// early), at most [`MAX_DELAY_SECONDS`].
pub fn delay_seconds(not_before: OffsetDateTime, now: OffsetDateTime) -> i32 {
    let wait = not_before - now;
    let whole = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
    // Bounded to 0..=900, so the cast is exact.
    whole.clamp(0, MAX_DELAY_SECONDS) as i32
}

#[async_trait]
impl RetryQueue for SqsRetryQueue {
    async fn schedule(&self, job: &DeliveryJob, now: OffsetDateTime) -> Result<(), NotifyError> {
        let body = serde_json::to_string(job)
            .map_err(|e| NotifyError::Queue(format!("cannot encode the job: {e}")))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay_seconds(job.not_before, now))
            .send()
            .await
            .map_err(|e| NotifyError::Queue(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
