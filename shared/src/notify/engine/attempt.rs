//! One attempt and what follows from its answer: signed with every active secret, posted,
//! then (in this order) the endpoint disabled on `410`, the next attempt queued, the delivery
//! record written, and the attempt's outcome counted (`WebhookDeliveries`): only once its
//! record is written, so an attempt repeated after a failure before that counts once.

use time::OffsetDateTime;

use super::Notifier;
use crate::{
    Event, WebhookEndpointId,
    event::{Attempt, AttemptOutcome, Delivery, DeliveryStatus},
    metrics::DeliveryOutcome,
    notify::{
        DeliveryJob, NotifyError,
        http::{Answer, Message},
        signing::sign,
    },
    webhook::{WebhookEndpoint, WebhookError, WebhookSecret},
};

/// Which attempt this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The schedule's attempt number n (1 for the first).
    Scheduled(u32),
    /// A resend the client asked for: one attempt, outside the schedule.
    Manual,
}

/// What an attempt leads to.
struct Next {
    status: DeliveryStatus,
    next_attempt_at: Option<OffsetDateTime>,
    /// The attempt's outcome, as its metric counts it.
    outcome: DeliveryOutcome,
}

impl Notifier {
    /// Makes one attempt to deliver `event` (whose wire form is `body`) to `endpoint`, and
    /// records it after `previous`.
    pub(super) async fn attempt(
        &self,
        event: &Event,
        body: &str,
        endpoint: &WebhookEndpoint,
        previous: Option<&Delivery>,
        kind: Kind,
    ) -> Result<(), NotifyError> {
        let at = self.clock.now();
        let secrets = self.active_secrets(endpoint, at)?;
        let id = event.id.to_string();
        let timestamp = at.unix_timestamp();
        let signature = sign(&secrets, &id, timestamp, body)?;
        let message = Message {
            id: &id,
            timestamp,
            signature: &signature,
            body,
        };
        let sent = self
            .client
            .send(&self.policy, &endpoint.url, &message, at)
            .await;
        let done = self.clock.now();
        let outcome = match &sent {
            Ok(answer) => AttemptOutcome::Status(answer.status),
            Err(failure) => AttemptOutcome::Error(failure.to_string()),
        };
        tracing::info!(
            event_id = %event.id,
            endpoint_id = %endpoint.id,
            outcome = ?outcome,
            "webhook attempt"
        );
        let next = match sent {
            Ok(Answer { status, .. }) if (200..300).contains(&status) => {
                Next::settled(DeliveryStatus::Delivered, DeliveryOutcome::Delivered)
            }
            Ok(Answer { status: 410, .. }) => {
                self.store
                    .disable_endpoint(&endpoint.owner, endpoint.id, done)
                    .await?;
                tracing::warn!(endpoint_id = %endpoint.id, "webhook endpoint disabled: it answered 410 Gone");
                Next::settled(DeliveryStatus::Failed, DeliveryOutcome::Disabled)
            }
            answered => {
                let retry_after = match answered {
                    Ok(Answer {
                        status: 429 | 503,
                        retry_after,
                    }) => retry_after,
                    _ => None,
                };
                match kind {
                    Kind::Scheduled(n) => self.retry(event, endpoint, n, retry_after, done).await?,
                    // A failed resend leaves the delivery where it stood.
                    Kind::Manual => previous.map_or_else(
                        || Next::settled(DeliveryStatus::Failed, DeliveryOutcome::Failed),
                        |d| Next {
                            status: d.status,
                            next_attempt_at: d.next_attempt_at,
                            outcome: DeliveryOutcome::Failed,
                        },
                    ),
                }
            }
        };
        let mut attempts = previous.map(|d| d.attempts.clone()).unwrap_or_default();
        attempts.push(Attempt {
            number: next_number(&attempts),
            at,
            outcome,
            manual: kind == Kind::Manual,
        });
        let delivery = Delivery {
            event_id: event.id,
            endpoint_id: endpoint.id,
            status: next.status,
            attempts,
            next_attempt_at: next.next_attempt_at,
        };
        self.store.record_delivery(&delivery, done).await?;
        self.metrics.webhook_delivery(next.outcome, done);
        Ok(())
    }

    /// Queues attempt `n + 1` after the schedule's wait (at least `retry_after`), or, after the
    /// last attempt, ends the delivery `failed`.
    async fn retry(
        &self,
        event: &Event,
        endpoint: &WebhookEndpoint,
        n: u32,
        retry_after: Option<std::time::Duration>,
        now: OffsetDateTime,
    ) -> Result<Next, NotifyError> {
        let Some(wait) = self.schedule.wait_after(n) else {
            return Ok(self.failed(event, endpoint.id));
        };
        let wait = retry_after.map_or(wait, |asked| wait.max(asked));
        let not_before = now + wait;
        let job = DeliveryJob {
            event_id: event.id,
            recipient: event.recipient.clone(),
            endpoint_id: endpoint.id,
            attempt: n + 1,
            not_before,
            manual: false,
        };
        self.queue.schedule(&job, now).await?;
        Ok(Next {
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(not_before),
            outcome: DeliveryOutcome::Failed,
        })
    }

    /// Ends a delivery whose endpoint was deleted or disabled while a retry waited: the
    /// delivery is `failed`, its log saying why (no request was made).
    pub(super) async fn end_without_endpoint(
        &self,
        event: &Event,
        endpoint: WebhookEndpointId,
        previous: Option<&crate::event::Delivery>,
    ) -> Result<(), NotifyError> {
        let Some(previous) = previous.filter(|d| d.status == DeliveryStatus::Pending) else {
            return Ok(());
        };
        let at = self.clock.now();
        let mut attempts = previous.attempts.clone();
        attempts.push(Attempt {
            number: next_number(&attempts),
            at,
            outcome: AttemptOutcome::Error("endpoint_disabled_or_deleted".to_owned()),
            manual: false,
        });
        let delivery = Delivery {
            status: DeliveryStatus::Failed,
            attempts,
            next_attempt_at: None,
            ..previous.clone()
        };
        self.store.record_delivery(&delivery, at).await?;
        self.metrics.webhook_delivery(DeliveryOutcome::Disabled, at);
        tracing::info!(event_id = %event.id, endpoint_id = %endpoint, "webhook delivery ended: endpoint disabled or deleted");
        Ok(())
    }

    /// A delivery out of attempts: `failed`, and the one log line the failure metric counts.
    fn failed(&self, event: &Event, endpoint: WebhookEndpointId) -> Next {
        tracing::warn!(
            event_id = %event.id,
            endpoint_id = %endpoint,
            "webhook delivery failed"
        );
        Next::settled(DeliveryStatus::Failed, DeliveryOutcome::Exhausted)
    }

    /// The endpoint's secrets that sign now, opened: the current one and any rotated-out one
    /// within its 24 hours, newest first.
    fn active_secrets(
        &self,
        endpoint: &WebhookEndpoint,
        now: OffsetDateTime,
    ) -> Result<Vec<WebhookSecret>, NotifyError> {
        let secrets = endpoint
            .secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|expires| expires > now))
            .map(|s| self.sealer.open(&s.sealed, endpoint.id))
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(
                WebhookError::Sealing("the endpoint has no active secret".to_owned()).into(),
            );
        }
        Ok(secrets)
    }
}

impl Next {
    fn settled(status: DeliveryStatus, outcome: DeliveryOutcome) -> Self {
        Self {
            status,
            next_attempt_at: None,
            outcome,
        }
    }
}

/// The number of the attempt after `attempts`.
fn next_number(attempts: &[Attempt]) -> u32 {
    u32::try_from(attempts.len()).map_or(u32::MAX, |n| n.saturating_add(1))
}
