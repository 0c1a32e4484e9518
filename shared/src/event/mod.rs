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
    ClientId, EventId, Payment, Refund, ReleaseReason, WebhookEndpointId,
    clock::truncate_to_millis,
    spelling::spelled,
    timefmt::format_rfc3339_millis,
    views::{PaymentView, RefundView},
};

mod cursor;
mod query;

pub use query::select_events;

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
        /// Risk control sent a new payment to review: its funds are held until an operator
        /// decides.
        PaymentReviewRequired => "payment.review_required",
        /// Risk control declined a payment, at its creation or in review.
        PaymentDeclined => "payment.declined",
        /// An operator approved a payment in review: it is pending (or captured, if it was
        /// created with `confirm: true`).
        PaymentReviewApproved => "payment.review_approved",
        /// A source account crossed 80 % of one of its velocity limits.
        RiskAlert => "risk.alert",
    }
}

impl EventType {
    /// What a hold's release reports: its cancellation or its expiry.
    pub fn released(reason: ReleaseReason) -> Self {
        match reason {
            ReleaseReason::Canceled => Self::PaymentCanceled,
            ReleaseReason::Expired => Self::PaymentExpired,
        }
    }
}

/// One event, addressed to one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub event_type: EventType,
    /// The client it is for (and whose endpoints receive it).
    pub recipient: ClientId,
    pub created_at: OffsetDateTime,
    /// The wire form, fixed when the event is made and kept as stored: never re-serialized, so
    /// the bytes do not depend on how the reading binary orders JSON keys.
    body: String,
}

impl Event {
    /// An event showing `object` (the API's view of the payment or refund) as `data.object`.
    pub fn new(
        id: EventId,
        event_type: EventType,
        recipient: ClientId,
        created_at: OffsetDateTime,
        object: &Value,
    ) -> Self {
        let body = json!({
            "id": id.to_string(),
            "object": "event",
            "type": event_type.as_str(),
            "created_at": format_rfc3339_millis(created_at),
            "data": {"object": object},
        })
        .to_string();
        Self {
            id,
            event_type,
            recipient,
            created_at,
            body,
        }
    }

    /// An event read back from the store, with the wire form it was written with.
    ///
    /// # Errors
    /// When `body` is not a JSON object with `data.object` (a corrupt item).
    pub fn stored(
        id: EventId,
        event_type: EventType,
        recipient: ClientId,
        created_at: OffsetDateTime,
        body: String,
    ) -> Result<Self, &'static str> {
        let parsed: Value =
            serde_json::from_str(&body).map_err(|_| "the stored event body is not JSON")?;
        if parsed.get("data").and_then(|d| d.get("object")).is_none() {
            return Err("the stored event body has no `data.object`");
        }
        Ok(Self {
            id,
            event_type,
            recipient,
            created_at,
            body,
        })
    }

    /// The exact JSON sent to endpoints and shown by `GET /events/{id}`:
    /// `{"id","object":"event","type","created_at","data":{"object":…}}`.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// `data.object` of the body: the payment or refund as the change left it.
    pub fn object(&self) -> Value {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|mut body| body.get_mut("data").map(|d| d["object"].take()))
            .unwrap_or(Value::Null)
    }

    /// The events of `event_type` about `payment` as it stands after the change: one per
    /// recipient the table names (the payer; for `payment.succeeded` also the payee), one
    /// only when a client is both, none for the system client (fundings).
    pub fn for_payment(event_type: EventType, payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        Self::after(None, event_type, payment, now)
    }

    /// The events of a one-step payment's write: `payment.created` then `payment.succeeded`
    /// (both showing the payment as the write leaves it, captured), ids in that order.
    pub fn for_one_step(payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        let mut events = Self::for_payment(EventType::PaymentCreated, payment, now);
        let last = events.last().map(|e| e.id);
        events.extend(Self::after(last, EventType::PaymentSucceeded, payment, now));
        events
    }

    /// The events of a new payment's write, ids in this order: `payment.created` (then
    /// `payment.succeeded` for a one-step payment, `payment.review_required` for one sent to
    /// review), or only `payment.declined` for a declined one; then a `risk.alert` to the payer
    /// for each velocity limit this payment took past 80 %.
    pub fn for_creation(
        payment: &Payment,
        alerts: &[crate::risk::velocity::Alert],
        now: OffsetDateTime,
    ) -> Vec<Self> {
        use crate::PaymentStatus as S;
        let kinds: &[EventType] = match payment.status() {
            S::Succeeded => &[EventType::PaymentCreated, EventType::PaymentSucceeded],
            S::RequiresReview => &[EventType::PaymentCreated, EventType::PaymentReviewRequired],
            S::Declined => &[EventType::PaymentDeclined],
            _ => &[EventType::PaymentCreated],
        };
        let mut events = Self::sequence(kinds, payment, now);
        for alert in alerts {
            let data = json!({
                "object": "risk_alert",
                "account_id": payment.source.to_string(),
                "payment_id": payment.id.to_string(),
                "rule": alert.rule.as_str(),
                "limit": alert.limit,
                "used": alert.used,
                "window_start": format_rfc3339_millis(alert.window_start),
            });
            let previous = events.last().map(|e| e.id);
            events.extend(Self::addressed(
                previous,
                EventType::RiskAlert,
                &[&payment.client_id],
                &data,
                now,
            ));
        }
        events
    }

    /// The events of a review's write about `payment` as it left it: `payment.review_approved`
    /// (then `payment.succeeded` if the approval captured it), or `payment.declined`.
    pub fn for_review(payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        use crate::PaymentStatus as S;
        let kinds: &[EventType] = match payment.status() {
            S::Declined => &[EventType::PaymentDeclined],
            S::Succeeded => &[
                EventType::PaymentReviewApproved,
                EventType::PaymentSucceeded,
            ],
            _ => &[EventType::PaymentReviewApproved],
        };
        Self::sequence(kinds, payment, now)
    }

    /// The events of `kinds` about `payment`, ids in that order.
    fn sequence(kinds: &[EventType], payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        let mut events: Vec<Self> = Vec::new();
        for kind in kinds {
            let previous = events.last().map(|e| e.id);
            events.extend(Self::after(previous, *kind, payment, now));
        }
        events
    }

    /// [`Event::for_payment`] with ids after `previous`.
    fn after(
        previous: Option<EventId>,
        event_type: EventType,
        payment: &Payment,
        now: OffsetDateTime,
    ) -> Vec<Self> {
        let data = serde_json::to_value(PaymentView::from(payment)).unwrap_or(Value::Null);
        let mut recipients = vec![&payment.client_id];
        if event_type == EventType::PaymentSucceeded {
            recipients.push(&payment.payee);
        }
        Self::addressed(previous, event_type, &recipients, &data, now)
    }

    /// The `refund.succeeded` events of `refund` of `payment`: to the payee (who refunded) and
    /// the payer (who got the money back), one when they are the same client.
    pub fn for_refund(refund: &Refund, payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        let data = serde_json::to_value(RefundView::from(refund)).unwrap_or(Value::Null);
        Self::addressed(
            None,
            EventType::RefundSucceeded,
            &[&payment.payee, &payment.client_id],
            &data,
            now,
        )
    }

    /// One event per distinct, non-system recipient, with ids that increase in recipient order
    /// (after `previous`). Times are kept to the millisecond, as the wire form shows them, so an
    /// event read back from its body equals the one written.
    fn addressed(
        previous: Option<EventId>,
        event_type: EventType,
        recipients: &[&ClientId],
        data: &Value,
        now: OffsetDateTime,
    ) -> Vec<Self> {
        let now = truncate_to_millis(now);
        let mut events: Vec<Self> = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            if recipient.is_system() || events.iter().any(|e| &e.recipient == *recipient) {
                continue;
            }
            events.push(Self::new(
                next_id(events.last().map(|e| e.id).or(previous), now),
                event_type,
                (*recipient).clone(),
                now,
                data,
            ));
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
mod tests;
