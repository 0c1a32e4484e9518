//! Starting the local notifier's tasks, and saying at start where deliveries come from.

use std::sync::Arc;

use paygate_shared::notify::DeliveryJob;
use tokio::{sync::mpsc, task::JoinHandle};

use super::{
    NotifySources,
    embedded::{self, Outbox},
    queue::{self, RetryQueues},
    sink::{Deliveries, JobSink, StreamSink},
    stream_poller,
};

/// The embedded store: its outbox and the in-memory retry queue's due jobs into `deliveries`.
pub fn embedded(
    outbox: Arc<dyn Outbox>,
    jobs: mpsc::Receiver<DeliveryJob>,
    deliveries: Arc<dyn Deliveries>,
) -> Vec<JoinHandle<()>> {
    tracing::info!(
        source = "the embedded store's outbox",
        retries = "in memory (lost when the gateway stops, as the store is)",
        "webhook deliveries"
    );
    vec![
        tokio::spawn(embedded::pump_outbox(outbox, deliveries.clone())),
        tokio::spawn(embedded::pump_jobs(jobs, deliveries)),
    ]
}

/// The name of the retry queue of the transactions table `table` (and `<name>-dead-letter`).
pub fn retry_queue_name(table: &str) -> String {
    format!("{table}-webhook-retry")
}

/// Creates the retry queue (and its dead-letter queue) as the template declares them.
///
/// # Errors
/// SQS's refusal, as text.
pub async fn retry_queues(
    sqs: &aws_sdk_sqs::Client,
    sources: &NotifySources,
    table: &str,
) -> Result<RetryQueues, String> {
    queue::create(sqs, &retry_queue_name(table), &sources.queue).await
}

/// Where the DynamoDB-backed notifier reads and what it hands the records to.
pub struct OnDynamoDb<'a> {
    pub config: &'a aws_config::SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub sources: &'a NotifySources,
    pub queues: &'a RetryQueues,
    pub table: &'a str,
    pub region: &'a str,
    /// Who handles them, for the start-up log (`in-process`, `notify at http://…`).
    pub handled_by: String,
}

/// DynamoDB (moto): the transactions table's stream and the retry queue, polled into the sinks.
///
/// # Errors
/// When the stream cannot be found or enabled, or its filter cannot be emulated.
pub async fn on_dynamodb(
    on: OnDynamoDb<'_>,
    stream_sink: Arc<dyn StreamSink>,
    job_sink: Arc<dyn JobSink>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let poller = Arc::new(stream_poller(on.config, on.sources, on.table, on.region).await?);
    let batch = on
        .sources
        .retries
        .batch_size
        .map_or(10, |n| usize::try_from(n).unwrap_or(10));
    tracing::info!(
        source = %poller.stream_arn,
        table = on.table,
        filters = ?on.sources.stream.filters,
        batch_size = poller.batch_size,
        retry_queue = %on.queues.url,
        dead_letter_queue = on.queues.dead_letter_url.as_deref().unwrap_or("-"),
        handled_by = %on.handled_by,
        "webhook deliveries: the transactions table's stream (from its checkpoint), retries through SQS"
    );
    Ok(vec![
        tokio::spawn(poller.run(stream_sink)),
        tokio::spawn(queue::consume(
            on.sqs,
            on.queues.url.clone(),
            (batch, queue::VISIBILITY_TIMEOUT),
            job_sink,
        )),
    ])
}
