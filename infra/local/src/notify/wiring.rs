//! The notifier of `paygate_shared::notify` as the local pollers' sink, the embedded store's
//! outbox as theirs, and the start of it all from the gateway's options.

use std::sync::Arc;

use async_trait::async_trait;
use paygate_shared::{
    event::OutboxRecord,
    notify::{
        DeliveryJob, NotifyError, RetrySchedule,
        engine::Notifier,
        queue::{MemoryRetryQueue, SqsRetryQueue},
    },
    store::{dynamodb::outbox_record_from_item, memory::MemoryStore},
};
use paygate_template::Template;
use tokio::{sync::Notify, task::JoinHandle};

use super::{
    NotifySources,
    embedded::Outbox,
    lambda,
    record::Item,
    sink::{Deliveries, InProcess},
    start::{self, OnDynamoDb},
};
use crate::{Backend, aws::AwsOptions};

#[async_trait]
impl Deliveries for Notifier {
    async fn on_record(&self, record: OutboxRecord) -> Result<(), NotifyError> {
        Notifier::on_record(self, &record).await
    }

    async fn on_job(&self, job: DeliveryJob) -> Result<(), NotifyError> {
        Notifier::on_job(self, &job).await
    }
}

impl Outbox for MemoryStore {
    fn take(&self, max: usize) -> Vec<OutboxRecord> {
        self.take_outbox(max)
    }

    fn signal(&self) -> Arc<Notify> {
        self.outbox_signal()
    }
}

fn decode(item: &Item) -> Result<Option<OutboxRecord>, String> {
    outbox_record_from_item(item).map_err(|e| e.to_string())
}

/// The notifier on `backend`'s store, with `queue` for its retries on `schedule`.
fn notifier(
    backend: &Backend,
    queue: Arc<dyn paygate_shared::notify::RetryQueue>,
    schedule: &RetrySchedule,
) -> Notifier {
    Notifier::new(
        backend.notifications.clone(),
        queue,
        backend.sealer.clone(),
        backend.webhook_policy,
        schedule.clone(),
        backend.clock.clone(),
    )
}

/// The embedded store's deliveries: its outbox and an in-memory retry queue, in-process.
pub fn start_embedded(
    backend: &Backend,
    schedule: &RetrySchedule,
    store: Arc<MemoryStore>,
) -> Vec<JoinHandle<()>> {
    let (queue, jobs) = MemoryRetryQueue::new();
    let notifier = Arc::new(notifier(backend, Arc::new(queue), schedule));
    start::embedded(store, jobs, notifier)
}

/// Deliveries on DynamoDB at `endpoint`: the transactions table's stream and an SQS retry
/// queue (created now), handled in-process, or by the `notify` function with `--upstream`.
///
/// # Errors
/// What keeps the stream or the queue from being set up, named.
pub async fn start_on_dynamodb(
    (backend, schedule): (&Backend, &RetrySchedule),
    template: &Template,
    options: &AwsOptions,
    endpoint: &str,
) -> Result<Vec<JoinHandle<()>>, String> {
    let sources = NotifySources::of(template)?;
    let config = crate::aws::sdk_config(endpoint, &options.region).await;
    let sqs_endpoint = options.sqs_endpoint.as_deref().unwrap_or(endpoint);
    let sqs =
        aws_sdk_sqs::Client::new(&crate::aws::sdk_config(sqs_endpoint, &options.region).await);
    let table = options.transactions_table.as_str();
    let queues = start::retry_queues(&sqs, &sources, table).await?;
    let (stream_sink, job_sink, handled_by): (
        Arc<dyn super::sink::StreamSink>,
        Arc<dyn super::sink::JobSink>,
        String,
    ) = match &backend.upstream {
        None => {
            let queue = Arc::new(SqsRetryQueue::new(sqs.clone(), queues.url.clone()));
            let sink = Arc::new(InProcess {
                deliveries: Arc::new(notifier(backend, queue, schedule)),
                decode,
            });
            (sink.clone(), sink, "in-process".to_owned())
        }
        Some(upstream) => {
            let binary = sources
                .stream
                .binary
                .clone()
                .unwrap_or_else(|| super::NOTIFY_BINARY.to_owned());
            let function = Arc::new(lambda::Function {
                upstream: upstream.clone(),
                binary: binary.clone(),
                region: options.region.clone(),
                queue_arn: queues.arn.clone(),
            });
            let by = format!(
                "the `{binary}` function at {} (give it PAYGATE_WEBHOOK_RETRY_QUEUE_URL={})",
                upstream.base(),
                queues.url
            );
            (function.clone(), function, by)
        }
    };
    start::on_dynamodb(
        OnDynamoDb {
            config: &config,
            sqs,
            sources: &sources,
            queues: &queues,
            table,
            region: &options.region,
            handled_by,
        },
        stream_sink,
        job_sink,
    )
    .await
}
