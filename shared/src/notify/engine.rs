//! The notifier: turns outbox records (new events, resend requests) and retry jobs into
//! delivery attempts, and each attempt into its next step and its delivery record.
//!
//! At least once, never lost. Each attempt goes: POST → enqueue the next attempt (if one is
//! due) → write the delivery record. A crash before the record is written leaves the outbox
//! record (or the retry job) unacknowledged, so it comes back and the attempt is repeated: a
//! duplicate, never a loss. A record that exists therefore means the next step is already
//! queued, which is why a duplicate outbox record skips every endpoint that has one, and a
//! duplicate retry job every delivery that already has its attempt.
//!
//! Endpoints are attempted concurrently, so a receiver that never answers costs the others
//! nothing (each attempt is bounded by [`super::http::DELIVERY_TIMEOUT`]).

mod attempt;

use std::sync::Arc;

use futures_util::future::join_all;

use super::{
    DeliveryJob, NotifyError, RetryQueue, RetrySchedule, http::WebhookClient, ssrf::UrlPolicy,
};
use crate::{
    ClientId, Clock, Event, EventId, WebhookEndpointId,
    clock::truncate_to_millis,
    event::{Delivery, DeliveryStatus, OutboxRecord},
    metrics::Metrics,
    store::NotificationStore,
    webhook::{EndpointStatus, SecretSealer, WebhookEndpoint},
};

use attempt::Kind;

/// Delivers events to webhook endpoints. Build one per process and share it.
pub struct Notifier {
    pub store: Arc<dyn NotificationStore>,
    pub queue: Arc<dyn RetryQueue>,
    pub sealer: Arc<dyn SecretSealer>,
    pub policy: UrlPolicy,
    pub schedule: RetrySchedule,
    pub clock: Arc<dyn Clock>,
    /// Makes the POSTs (the platform's root certificates in production).
    pub client: WebhookClient,
    /// Each attempt's outcome (`WebhookDeliveries`); off unless set.
    pub metrics: Metrics,
}

impl Notifier {
    /// A notifier posting through a client that trusts the platform's root certificates,
    /// recording no metrics.
    pub fn new(
        store: Arc<dyn NotificationStore>,
        queue: Arc<dyn RetryQueue>,
        sealer: Arc<dyn SecretSealer>,
        policy: UrlPolicy,
        schedule: RetrySchedule,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            queue,
            sealer,
            policy,
            schedule,
            clock,
            client: WebhookClient::with_platform_roots(),
            metrics: Metrics::off(),
        }
    }

    /// Handles one outbox record: a new event's first attempt to every enabled endpoint of its
    /// recipient subscribed to its type (an endpoint that already has a delivery record is
    /// skipped: this record is a duplicate); or a resend's one manual attempt.
    ///
    /// # Errors
    /// A store, queue or secret failure; the record must then be handed in again (attempts
    /// already recorded are not repeated).
    pub async fn on_record(&self, record: &OutboxRecord) -> Result<(), NotifyError> {
        match record {
            OutboxRecord::Event(event) => {
                let targets = self.subscribed(&event.recipient, event).await?;
                if targets.is_empty() {
                    return Ok(());
                }
                let recorded = self.deliveries(event.id).await?;
                // An endpoint hears of what happens from its registration on (to the
                // millisecond, as events are stamped); a resend may send it older events.
                let fresh = targets.iter().filter(|e| {
                    truncate_to_millis(e.created_at) <= event.created_at
                        && !recorded.iter().any(|d| d.endpoint_id == e.id)
                });
                let body = event.body();
                all(fresh
                    .map(|endpoint| self.attempt(event, body, endpoint, None, Kind::Scheduled(1))))
                .await
            }
            OutboxRecord::Resend {
                event_id,
                recipient,
                endpoint,
                requested_at,
            } => {
                let Some((event, recorded)) = self.store.event(*event_id).await? else {
                    tracing::info!(event_id = %event_id, "resend of an event past retention");
                    return Ok(());
                };
                if event.recipient != *recipient {
                    tracing::warn!(event_id = %event_id, "resend for another recipient ignored");
                    return Ok(());
                }
                let targets = match endpoint {
                    Some(id) => self.endpoint(recipient, *id).await?.into_iter().collect(),
                    None => self.subscribed(recipient, &event).await?,
                };
                let body = event.body();
                all(targets.iter().filter_map(|endpoint| {
                    let previous = recorded.iter().find(|d| d.endpoint_id == endpoint.id);
                    // A manual attempt made after the request served it (a duplicate record).
                    let served = previous.is_some_and(|d| {
                        d.attempts.iter().any(|a| a.manual && a.at >= *requested_at)
                    });
                    (!served).then(|| self.attempt(&event, body, endpoint, previous, Kind::Manual))
                }))
                .await
            }
        }
    }

    /// Handles one retry job: not due yet → queued again for the rest of its wait; the
    /// delivery already has this attempt (a duplicate job) or is settled → nothing; the
    /// endpoint is gone or disabled → the delivery ends `failed`; else the attempt.
    ///
    /// # Errors
    /// As [`Self::on_record`]; the job must then be handed in again.
    pub async fn on_job(&self, job: &DeliveryJob) -> Result<(), NotifyError> {
        let now = self.clock.now();
        if job.not_before > now {
            return self.queue.schedule(job, now).await;
        }
        let Some((event, recorded)) = self.store.event(job.event_id).await? else {
            tracing::info!(event_id = %job.event_id, "retry of an event past retention");
            return Ok(());
        };
        let previous = recorded.iter().find(|d| d.endpoint_id == job.endpoint_id);
        let kind = if job.manual {
            Kind::Manual
        } else {
            if previous.is_some_and(|d| {
                d.status != DeliveryStatus::Pending || scheduled_attempts(d) >= job.attempt
            }) {
                return Ok(());
            }
            Kind::Scheduled(job.attempt)
        };
        match self.endpoint(&job.recipient, job.endpoint_id).await? {
            Some(endpoint) => {
                self.attempt(&event, event.body(), &endpoint, previous, kind)
                    .await
            }
            None => {
                self.end_without_endpoint(&event, job.endpoint_id, previous)
                    .await
            }
        }
    }

    /// The recipient's enabled endpoints subscribed to `event`'s type.
    async fn subscribed(
        &self,
        recipient: &ClientId,
        event: &Event,
    ) -> Result<Vec<WebhookEndpoint>, NotifyError> {
        let mut endpoints = self.store.endpoints_of(recipient).await?;
        endpoints.retain(|e| e.status == EndpointStatus::Enabled && e.subscribed(event.event_type));
        Ok(endpoints)
    }

    /// One enabled endpoint of `owner` (a disabled or deleted one is None).
    async fn endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, NotifyError> {
        let endpoint = self.store.endpoint(owner, id).await?;
        Ok(endpoint.filter(|e| e.status == EndpointStatus::Enabled))
    }

    async fn deliveries(&self, id: EventId) -> Result<Vec<Delivery>, NotifyError> {
        Ok(self
            .store
            .event(id)
            .await?
            .map(|(_, d)| d)
            .unwrap_or_default())
    }
}

/// How many of a delivery's attempts were the schedule's (manual resends not counted).
fn scheduled_attempts(delivery: &Delivery) -> u32 {
    let count = delivery.attempts.iter().filter(|a| !a.manual).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Runs `attempts` concurrently, each to its end, and reports the first failure.
async fn all(
    attempts: impl Iterator<Item = impl Future<Output = Result<(), NotifyError>>>,
) -> Result<(), NotifyError> {
    join_all(attempts).await.into_iter().collect()
}

#[cfg(test)]
mod tests;
