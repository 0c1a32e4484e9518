//! The embedded store's retry queue: in-process timers that hand each job to the notifier's
//! receiver when it falls due. Nothing survives a restart, and nothing needs to: the embedded
//! store's events and deliveries do not either.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::notify::{DeliveryJob, NotifyError, RetryQueue};

/// Jobs waiting to be handed over at once, beyond which a due job's timer waits for room.
const CAPACITY: usize = 1024;

/// A [`RetryQueue`] of tokio timers feeding one [`mpsc::Receiver`].
#[derive(Debug, Clone)]
pub struct MemoryRetryQueue {
    due: mpsc::Sender<DeliveryJob>,
}

impl MemoryRetryQueue {
    /// The queue and the receiver its jobs arrive on when due (the runtime's retry loop).
    pub fn new() -> (Self, mpsc::Receiver<DeliveryJob>) {
        let (due, receiver) = mpsc::channel(CAPACITY);
        (Self { due }, receiver)
    }
}

#[async_trait]
impl RetryQueue for MemoryRetryQueue {
    async fn schedule(&self, job: &DeliveryJob, now: OffsetDateTime) -> Result<(), NotifyError> {
        if self.due.is_closed() {
            return Err(NotifyError::Queue("the retry receiver is gone".to_owned()));
        }
        let wait = Duration::try_from(job.not_before - now).unwrap_or(Duration::ZERO);
        let (due, job) = (self.due.clone(), job.clone());
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            // A closed receiver means the runtime is shutting down: the job dies with it, as
            // every other in-memory state does.
            let _ = due.send(job).await;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::{ClientId, EventId, WebhookEndpointId};

    const NOW: OffsetDateTime = datetime!(2026-11-30 04:00:00 UTC);

    fn job(attempt: u32, wait: time::Duration) -> DeliveryJob {
        DeliveryJob {
            event_id: EventId::generate(NOW),
            recipient: "acme".parse::<ClientId>().unwrap(),
            endpoint_id: WebhookEndpointId::generate(NOW),
            attempt,
            not_before: NOW + wait,
            manual: false,
        }
    }

    // Paused time: the timers fire exactly when tokio's clock passes them.
    #[tokio::test(start_paused = true)]
    async fn jobs_arrive_when_due_and_not_before() {
        let (queue, mut due) = MemoryRetryQueue::new();
        let later = job(3, time::Duration::minutes(10));
        let now = job(2, time::Duration::ZERO);
        let overdue = job(4, time::Duration::seconds(-5));
        for job in [&later, &now, &overdue] {
            queue.schedule(job, NOW).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        let first = [due.try_recv().unwrap(), due.try_recv().unwrap()];
        assert!(first.contains(&now) && first.contains(&overdue));
        tokio::time::sleep(Duration::from_secs(599)).await;
        assert!(due.try_recv().is_err(), "not before its time");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(due.recv().await, Some(later));
        drop(due);
        let refused = queue.schedule(&now, NOW).await;
        assert!(matches!(refused, Err(NotifyError::Queue(_))));
    }
}
