//! Events: what happened to a payment or a refund, addressed to one client. They are written in
//! the same atomic write as the change they describe (a transactional outbox), listed by
//! `GET /events`, and delivered to the client's webhook endpoints as Standard Webhooks.
//!
//! An event's wire form ([`Event::body`]) is fixed when it is written: every delivery attempt and
//! `GET /events/{id}` show the same bytes.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{
    ClientId, EventId, Payment, Refund, WebhookEndpointId,
    spelling::spelled,
    timefmt::format_rfc3339_millis,
    views::{PaymentView, RefundView},
};

/// How long events (and their delivery records) are kept and listed.
pub const EVENT_RETENTION_DAYS: i64 = 30;

spelled! {
    /// What an event says happened.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum EventType {
        /// A payment was created (pending, or just before its immediate capture).
        PaymentCreated => "payment.created",
        /// A payment was captured (also a one-step payment).
        PaymentSucceeded => "payment.succeeded",
        /// Its payer canceled a pending payment.
        PaymentCanceled => "payment.canceled",
        /// A pending payment's window closed before its capture.
        PaymentExpired => "payment.expired",
        /// A refund of a captured payment was made.
        RefundSucceeded => "refund.succeeded",
    }
}

/// One event, addressed to one client.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub event_type: EventType,
    /// The client it is for (and whose endpoints receive it).
    pub recipient: ClientId,
    pub created_at: OffsetDateTime,
    /// The object as the API shows it right after the change (`data.object` on the wire).
    pub data: Value,
}

impl Event {
    /// The exact JSON sent to endpoints and shown by `GET /events/{id}`:
    /// `{"id","object":"event","type","created_at","data":{"object":…}}`.
    pub fn body(&self) -> String {
        json!({
            "id": self.id.to_string(),
            "object": "event",
            "type": self.event_type.as_str(),
            "created_at": format_rfc3339_millis(self.created_at),
            "data": {"object": self.data},
        })
        .to_string()
    }

    /// The events of `event_type` about `payment` as it stands after the change: one per
    /// recipient the issue's table names (the payer; for `payment.succeeded` also the payee), one
    /// only when a client is both, none for the system client (fundings).
    pub fn for_payment(event_type: EventType, payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        let data = serde_json::to_value(PaymentView::from(payment)).unwrap_or(Value::Null);
        let mut recipients = vec![&payment.client_id];
        if event_type == EventType::PaymentSucceeded {
            recipients.push(&payment.payee);
        }
        Self::addressed(event_type, &recipients, &data, now)
    }

    /// The `refund.succeeded` events of `refund` of `payment`: to the payee (who refunded) and
    /// the payer (who got the money back), one when they are the same client.
    pub fn for_refund(refund: &Refund, payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        let data = serde_json::to_value(RefundView::from(refund)).unwrap_or(Value::Null);
        Self::addressed(
            EventType::RefundSucceeded,
            &[&payment.payee, &payment.client_id],
            &data,
            now,
        )
    }

    /// One event per distinct, non-system recipient, with ids that increase in recipient order.
    fn addressed(
        event_type: EventType,
        recipients: &[&ClientId],
        data: &Value,
        now: OffsetDateTime,
    ) -> Vec<Self> {
        let mut events: Vec<Self> = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            if recipient.is_system() || events.iter().any(|e| &e.recipient == *recipient) {
                continue;
            }
            events.push(Self {
                id: next_id(events.last().map(|e| e.id), now),
                event_type,
                recipient: (*recipient).clone(),
                created_at: now,
                data: data.clone(),
            });
        }
        events
    }
}

/// A fresh id at `now`, strictly after `previous` (ids of one write sort in writing order even
/// within one millisecond).
pub fn next_id(previous: Option<EventId>, now: OffsetDateTime) -> EventId {
    let fresh = EventId::generate(now);
    match previous {
        Some(previous) if fresh <= previous => previous
            .ulid()
            .increment()
            .map_or(fresh, EventId::from_ulid),
        _ => fresh,
    }
}

spelled! {
    /// Where the delivery of one event to one endpoint stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DeliveryStatus {
        /// Not delivered yet; another attempt is scheduled.
        Pending => "pending",
        /// An attempt was answered 2xx.
        Delivered => "delivered",
        /// Every scheduled attempt failed (or the endpoint is gone).
        Failed => "failed",
    }
}

/// What one attempt got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The endpoint answered with this HTTP status.
    Status(u16),
    /// No answer: a short class of what went wrong (`timeout`, `connection_refused`,
    /// `address_not_allowed`, …), never an address list or a secret.
    Error(String),
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub at: OffsetDateTime,
    pub outcome: AttemptOutcome,
    /// A resend asked for by the client, outside the automatic schedule.
    #[serde(default)]
    pub manual: bool,
}

/// The delivery of one event to one endpoint: every attempt so far and what comes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: EventId,
    pub endpoint_id: WebhookEndpointId,
    pub status: DeliveryStatus,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next automatic attempt is due (`pending` only).
    pub next_attempt_at: Option<OffsetDateTime>,
}

/// What the outbox carries to the notifier: a new event, or a client's request to deliver one
/// again.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxRecord {
    Event(Event),
    Resend {
        event_id: EventId,
        recipient: ClientId,
        /// One endpoint, or every endpoint of the recipient subscribed to the event's type.
        endpoint: Option<WebhookEndpointId>,
        requested_at: OffsetDateTime,
    },
}

/// Where a page of events starts: below the last event of the previous page. Opaque to clients
/// and bound to the query it was issued for (the outbox's encode/decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCursor {
    /// The last event of the previous page.
    pub last: EventId,
    /// The binding of the query that issued it.
    pub binding: [u8; 16],
}

/// `GET /events`: one recipient's events, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub recipient: ClientId,
    /// Empty: every type.
    pub types: Vec<EventType>,
    /// 1..=100.
    pub limit: u16,
    pub after: Option<EventCursor>,
    /// Events created before `now - 30 days` are past retention and not listed.
    pub now: OffsetDateTime,
}

/// One page of events.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub next_cursor: Option<EventCursor>,
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn ids_of_one_write_increase_even_within_a_millisecond() {
        let now = datetime!(2026-11-30 04:00:00 UTC);
        let mut previous = None;
        for _ in 0..1000 {
            let id = next_id(previous, now);
            assert!(previous.is_none_or(|p| id > p));
            previous = Some(id);
        }
    }

    #[test]
    fn spellings_are_the_issue_s() {
        let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "payment.created",
                "payment.succeeded",
                "payment.canceled",
                "payment.expired",
                "refund.succeeded"
            ]
        );
    }
}
