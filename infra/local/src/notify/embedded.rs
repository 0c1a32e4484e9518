//! Deliveries on the embedded store: its in-process outbox (filled under the same lock as the
//! change that wrote the event) pumped into the notifier, and the in-memory retry queue's due
//! jobs. Each record and job runs on its own task, at most [`CONCURRENT`] at a time; one that
//! fails (the store refused) is tried again a few times, then logged.

use std::{sync::Arc, time::Duration};

use paygate_shared::{event::OutboxRecord, notify::DeliveryJob};
use tokio::sync::{Notify, Semaphore, mpsc};

use super::sink::Deliveries;

/// Records and jobs handled at the same time (each waits at most 10 s for its receivers).
pub const CONCURRENT: usize = 256;
/// Tries of a record or job that fails before it is given up.
const TRIES: u32 = 5;
/// Records taken from the outbox at a time.
const TAKE: usize = 64;

/// The embedded store's outbox.
pub trait Outbox: Send + Sync + 'static {
    /// Takes up to `max` records, oldest first.
    fn take(&self, max: usize) -> Vec<OutboxRecord>;
    /// Notified when a record is added.
    fn signal(&self) -> Arc<Notify>;
}

/// Pumps `outbox` into `deliveries` until the task is dropped.
pub async fn pump_outbox(outbox: Arc<dyn Outbox>, deliveries: Arc<dyn Deliveries>) {
    let slots = Arc::new(Semaphore::new(CONCURRENT));
    let signal = outbox.signal();
    loop {
        // Registered before looking, so a record added in between still wakes the pump.
        let added = signal.notified();
        tokio::pin!(added);
        added.as_mut().enable();
        let records = outbox.take(TAKE);
        if records.is_empty() {
            added.await;
            continue;
        }
        for record in records {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let deliveries = deliveries.clone();
            tokio::spawn(async move {
                let what = describe(&record);
                retry(&what, || deliveries.on_record(record.clone())).await;
                drop(slot);
            });
        }
    }
}

/// Hands every due job of the in-memory retry queue to `deliveries`, until the queue is gone.
pub async fn pump_jobs(mut jobs: mpsc::Receiver<DeliveryJob>, deliveries: Arc<dyn Deliveries>) {
    let slots = Arc::new(Semaphore::new(CONCURRENT));
    while let Some(job) = jobs.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let deliveries = deliveries.clone();
        tokio::spawn(async move {
            let what = format!(
                "job {} → {} (attempt {})",
                job.event_id, job.endpoint_id, job.attempt
            );
            retry(&what, || deliveries.on_job(job.clone())).await;
            drop(slot);
        });
    }
}

fn describe(record: &OutboxRecord) -> String {
    match record {
        OutboxRecord::Event(event) => format!("event {}", event.id),
        OutboxRecord::Resend { event_id, .. } => format!("resend of {event_id}"),
    }
}

async fn retry<F, Fut>(what: &str, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), paygate_shared::notify::NotifyError>>,
{
    let mut wait = Duration::from_millis(200);
    for tried in 1..=TRIES {
        match attempt().await {
            Ok(()) => return,
            Err(err) if tried < TRIES => {
                tracing::warn!(what, error = %err, "webhook delivery step failed; trying again");
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
            Err(err) => {
                tracing::error!(what, error = %err, "webhook delivery step failed {TRIES} times: given up");
            }
        }
    }
}
