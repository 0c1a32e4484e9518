//! The retry queue on SQS (moto): created at start as the template declares
//! `WebhookRetryQueue` (visibility timeout, retention, redrive to its dead-letter queue), and
//! consumed as its event source mapping would: a message is deleted only once its job was
//! handled; one that keeps failing moves to the dead-letter queue after the redrive's receives.

use std::{sync::Arc, time::Duration};

use aws_sdk_sqs::{Client, error::DisplayErrorContext, types::QueueAttributeName};
use paygate_template::Queue;
use tokio::sync::Semaphore;

use super::sink::JobSink;

/// Jobs handled at the same time.
const CONCURRENT_JOBS: usize = 64;
/// How long a received message stays invisible here. The template's 360 s covers the function's
/// 60 s timeout; in-process a job takes at most one 10 s attempt plus the store's writes, and a
/// gateway killed while handling one should see it again soon after a restart.
pub const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(30);
/// An empty queue is asked again after this long. No long polling: moto serves one request at
/// a time, and a waiting ReceiveMessage would hold up the store.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// The queues as created.
#[derive(Debug, Clone)]
pub struct RetryQueues {
    pub url: String,
    pub arn: String,
    pub dead_letter_url: Option<String>,
}

/// Creates `name` (and `<name>-dead-letter` when the template's queue has a redrive) with the
/// template's settings; an existing queue with the same settings is kept.
///
/// # Errors
/// SQS's refusal, as text.
pub async fn create(client: &Client, name: &str, declared: &Queue) -> Result<RetryQueues, String> {
    let sqs = |e: &dyn std::fmt::Display| format!("SQS: {e}");
    let mut request = client.create_queue().queue_name(name);
    for (attribute, value) in [
        (
            QueueAttributeName::VisibilityTimeout,
            declared.visibility_timeout_s,
        ),
        (
            QueueAttributeName::MessageRetentionPeriod,
            declared.retention_s,
        ),
        (QueueAttributeName::DelaySeconds, declared.delay_s),
    ] {
        if let Some(value) = value {
            request = request.attributes(attribute, value.to_string());
        }
    }
    let mut dead_letter_url = None;
    if let Some(dead_letter) = &declared.dead_letter {
        let created = client
            .create_queue()
            .queue_name(format!("{name}-dead-letter"))
            .send()
            .await
            .map_err(|e| sqs(&DisplayErrorContext(&e)))?;
        let url = created.queue_url().unwrap_or_default().to_owned();
        let arn = arn(client, &url).await?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": dead_letter.max_receive_count.to_string(),
        });
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        dead_letter_url = Some(url);
    }
    let created = request
        .send()
        .await
        .map_err(|e| sqs(&DisplayErrorContext(&e)))?;
    let url = created.queue_url().unwrap_or_default().to_owned();
    Ok(RetryQueues {
        arn: arn(client, &url).await?,
        url,
        dead_letter_url,
    })
}

async fn arn(client: &Client, url: &str) -> Result<String, String> {
    let answer = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("SQS: {}", DisplayErrorContext(&e)))?;
    answer
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| format!("SQS: no ARN for {url}"))
}

/// Receives from the queue at `url` and hands the messages on in batches of up to
/// `batch_size`, each received for `visibility` (then it comes back unless deleted), until the
/// task is dropped.
pub async fn consume(
    client: Client,
    url: String,
    (batch_size, visibility): (usize, Duration),
    sink: Arc<dyn JobSink>,
) {
    let visibility = i32::try_from(visibility.as_secs()).unwrap_or(i32::MAX);
    let slots = Arc::new(Semaphore::new(CONCURRENT_JOBS));
    let batch_size = batch_size.clamp(1, 10);
    loop {
        // Only as many messages as can be handled now: a message received and left waiting
        // would only time out and come back.
        let free = slots.available_permits().min(batch_size);
        if free == 0 {
            let _ = slots.acquire().await;
            continue;
        }
        let received = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(i32::try_from(free).unwrap_or(10))
            .visibility_timeout(visibility)
            .send()
            .await;
        let messages = match received {
            Ok(answer) => answer.messages.unwrap_or_default(),
            Err(err) => {
                tracing::warn!(error = %DisplayErrorContext(&err), "ReceiveMessage on the retry queue");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(IDLE_POLL).await;
            continue;
        }
        let Ok(permits) = slots
            .clone()
            .acquire_many_owned(u32::try_from(messages.len()).unwrap_or(10))
            .await
        else {
            return;
        };
        let (client, url, sink) = (client.clone(), url.clone(), sink.clone());
        tokio::spawn(async move {
            let failed = sink.handle(&messages).await;
            for (index, message) in messages.iter().enumerate() {
                if failed.contains(&index) {
                    continue;
                }
                let Some(receipt) = message.receipt_handle() else {
                    continue;
                };
                if let Err(err) = client
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                {
                    // It comes back after its visibility timeout: handled again, not lost.
                    tracing::warn!(error = %DisplayErrorContext(&err), "DeleteMessage on the retry queue");
                }
            }
            drop(permits);
        });
    }
}
