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

#[cfg(test)]
mod tests {
    use time::{Duration, macros::datetime};

    use super::*;
    use crate::{ClientId, EventId, WebhookEndpointId};

    const NOW: OffsetDateTime = datetime!(2026-11-30 04:00:00 UTC);

    #[test]
    fn delays_round_up_and_stop_at_fifteen_minutes() {
        let delay = |wait: Duration| delay_seconds(NOW + wait, NOW);
        assert_eq!(delay(Duration::ZERO), 0);
        assert_eq!(delay(Duration::seconds(-30)), 0, "overdue: at once");
        assert_eq!(delay(Duration::milliseconds(1)), 1, "never early");
        assert_eq!(delay(Duration::milliseconds(4_001)), 5);
        assert_eq!(delay(Duration::seconds(900)), 900);
        assert_eq!(
            delay(Duration::hours(10)),
            900,
            "a longer wait is a chain of hops"
        );
    }

    /// A queue on moto (`PAYGATE_TEST_DYNAMODB_ENDPOINT`, which serves every service on one
    /// endpoint; set by `tests/run.sh`). Without it the test fails, saying so.
    async fn moto_queue() -> (Client, String) {
        let config = crate::aws::moto_test_config().await;
        let client = Client::new(&config);
        let name = format!("paygate-test-retries-{}", ulid::Ulid::new());
        let created = client.create_queue().queue_name(name).send().await.unwrap();
        (client, created.queue_url.unwrap())
    }

    #[tokio::test]
    async fn a_job_is_one_delayed_message_whose_body_reads_back_as_the_job() {
        let (client, url) = moto_queue().await;
        let queue = SqsRetryQueue::new(client.clone(), url.clone());
        let job = DeliveryJob {
            event_id: EventId::generate(NOW),
            recipient: "acme".parse::<ClientId>().unwrap(),
            endpoint_id: WebhookEndpointId::generate(NOW),
            attempt: 3,
            not_before: NOW + Duration::milliseconds(1_500),
            manual: false,
        };
        queue.schedule(&job, NOW).await.unwrap();
        let receive = || {
            client
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
        };
        let early = receive().await.unwrap();
        assert!(early.messages().is_empty(), "delayed: invisible at first");
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
        let due = receive().await.unwrap();
        let [message] = due.messages() else {
            panic!("one message: {:?}", due.messages())
        };
        let back: DeliveryJob = serde_json::from_str(message.body().unwrap()).unwrap();
        assert_eq!(back, job);

        let unreachable = SqsRetryQueue::new(client, format!("{url}-missing"));
        let refused = unreachable.schedule(&job, NOW).await;
        assert!(matches!(refused, Err(NotifyError::Queue(_))), "{refused:?}");
    }
}
