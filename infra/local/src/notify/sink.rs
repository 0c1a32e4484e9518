//! What the pollers hand their records to: the delivery code in-process ([`Deliveries`], the
//! notifier of `paygate_shared::notify`), or the `notify` function under `cargo lambda watch`
//! as the event source mappings would invoke it. Either way a sink answers which records of a
//! batch failed, to be retried.

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use aws_sdk_sqs::types::Message;
use paygate_shared::{
    event::OutboxRecord,
    notify::{DeliveryJob, NotifyError},
};
use serde_json::Value;
use tokio::task::JoinSet;

use super::record::Item;

/// The delivery code: a first attempt for each new record, the next attempt for each job.
#[async_trait]
pub trait Deliveries: Send + Sync + 'static {
    /// # Errors
    /// When the record could not be handled (it is retried; nothing is lost).
    async fn on_record(&self, record: OutboxRecord) -> Result<(), NotifyError>;
    /// # Errors
    /// When the job could not be handled (it is retried; nothing is lost).
    async fn on_job(&self, job: DeliveryJob) -> Result<(), NotifyError>;
}

/// A stream record that passed the mapping's filters.
#[derive(Debug, Clone)]
pub struct StreamItem {
    /// As a Lambda DynamoDB-stream event carries it.
    pub lambda: Value,
    /// The new image.
    pub item: Option<Item>,
    pub sequence_number: String,
}

/// Takes batches of stream records.
#[async_trait]
pub trait StreamSink: Send + Sync + 'static {
    /// The indices of the records of `batch` that failed.
    async fn handle(&self, batch: &[StreamItem]) -> Vec<usize>;
}

/// Takes batches of retry-queue messages.
#[async_trait]
pub trait JobSink: Send + Sync + 'static {
    /// The indices of the messages of `batch` that failed (they are not deleted).
    async fn handle(&self, batch: &[Message]) -> Vec<usize>;
}

/// Decodes an outbox item of the transactions table (`None` for other items).
pub type Decode = fn(&Item) -> Result<Option<OutboxRecord>, String>;

/// The records and jobs delivered in this process, each on its own task.
pub struct InProcess {
    pub deliveries: Arc<dyn Deliveries>,
    pub decode: Decode,
}

#[async_trait]
impl StreamSink for InProcess {
    async fn handle(&self, batch: &[StreamItem]) -> Vec<usize> {
        let mut tasks = Tasks::default();
        for (index, entry) in batch.iter().enumerate() {
            let Some(item) = &entry.item else { continue };
            let record = match (self.decode)(item) {
                Ok(Some(record)) => record,
                Ok(None) => continue,
                Err(err) => {
                    // Retrying cannot fix it: reported as the on-failure destination would.
                    tracing::error!(sequence_number = %entry.sequence_number, error = %err, "an outbox record that cannot be read: skipped");
                    continue;
                }
            };
            let deliveries = self.deliveries.clone();
            tasks.spawn(index, async move { deliveries.on_record(record).await });
        }
        tasks.failures("record").await
    }
}

#[async_trait]
impl JobSink for InProcess {
    async fn handle(&self, batch: &[Message]) -> Vec<usize> {
        let mut tasks = Tasks::default();
        let mut failed = Vec::new();
        for (index, message) in batch.iter().enumerate() {
            let job = match serde_json::from_str::<DeliveryJob>(message.body().unwrap_or_default())
            {
                Ok(job) => job,
                Err(err) => {
                    // Left in the queue: after its receives it moves to the dead-letter queue.
                    tracing::error!(message_id = message.message_id().unwrap_or("-"), error = %err, "a retry message that is not a delivery job");
                    failed.push(index);
                    continue;
                }
            };
            let deliveries = self.deliveries.clone();
            tasks.spawn(index, async move { deliveries.on_job(job).await });
        }
        failed.extend(tasks.failures("job").await);
        failed
    }
}

/// One task per record of a batch, each known by its index in the batch.
#[derive(Default)]
struct Tasks {
    set: JoinSet<Result<(), NotifyError>>,
    index: HashMap<tokio::task::Id, usize>,
}

impl Tasks {
    fn spawn(
        &mut self,
        index: usize,
        task: impl Future<Output = Result<(), NotifyError>> + Send + 'static,
    ) {
        let handle = self.set.spawn(task);
        self.index.insert(handle.id(), index);
    }

    /// The indices of the tasks that failed (or panicked).
    async fn failures(mut self, what: &str) -> Vec<usize> {
        let mut failed = Vec::new();
        while let Some(done) = self.set.join_next_with_id().await {
            match done {
                Ok((_, Ok(()))) => {}
                Ok((id, Err(err))) => {
                    tracing::warn!(error = %err, "a webhook {what} failed: it is retried");
                    failed.extend(self.index.get(&id));
                }
                Err(err) => {
                    tracing::error!(error = %err, "a webhook {what} task panicked: it is retried");
                    failed.extend(self.index.get(&err.id()));
                }
            }
        }
        failed.sort_unstable();
        failed
    }
}
