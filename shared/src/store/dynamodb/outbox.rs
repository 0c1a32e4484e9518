//! The transactional outbox on DynamoDB: the items of events (put in the same
//! `TransactWriteItems` as the change they report, under [`Role::Event`]) and of resend
//! requests, and [`outbox_record_from_item`], which turns the new image of a stream record back
//! into what the notifier acts on. Shapes in `docs/data-model.md`, "Events".

use aws_sdk_dynamodb::types::AttributeValue;
use time::{Duration, OffsetDateTime};

use super::{
    attrs::{Item, Reader, attr_number, attr_string, timestamp},
    expr::put_new,
    keys::{EVENT_SORT_KEY, RESEND_SORT_PREFIX, event_pk},
    schema::TTL_ATTRIBUTE,
    tx::{Role, Transaction},
};
use crate::{
    Event, EventId, EventType, StoreError, WebhookEndpointId,
    event::{EVENT_RETENTION_DAYS, OutboxRecord},
};

/// How long a resend request stays in the table: the stream has carried it long before.
const RESEND_RETENTION: Duration = Duration::days(1);

impl Transaction {
    /// Adds a put of each of `events`, `Role::Event(0)`, `Role::Event(1)`, …: the outbox
    /// writes that go with the change the transaction makes.
    pub(crate) fn with_events(mut self, table: &str, events: &[Event]) -> Result<Self, StoreError> {
        for (i, event) in events.iter().enumerate() {
            let role = u8::try_from(i)
                .map(Role::Event)
                .map_err(|_| StoreError::internal("more than 255 events in one write"))?;
            self = self.with(role, put_new(table, event_item(event))?);
        }
        Ok(self)
    }
}

/// Epoch seconds of `at` plus `keep`: when DynamoDB's TTL sweep may delete the item.
fn expiry(at: OffsetDateTime, keep: Duration) -> AttributeValue {
    attr_number((at + keep).unix_timestamp())
}

/// An event: its own partition (with its deliveries), its exact wire form in `body`, and the
/// keys of the `events-by-recipient` index.
pub(crate) fn event_item(e: &Event) -> Item {
    Item::from([
        ("pk".to_owned(), attr_string(event_pk(e.id))),
        ("sk".to_owned(), attr_string(EVENT_SORT_KEY)),
        ("type".to_owned(), attr_string("event")),
        ("event_id".to_owned(), attr_string(e.id.to_string())),
        ("event_type".to_owned(), attr_string(e.event_type.as_str())),
        ("recipient".to_owned(), attr_string(e.recipient.as_str())),
        ("recipient_sk".to_owned(), attr_string(e.id.to_string())),
        (
            "created_at".to_owned(),
            attr_string(timestamp(e.created_at)),
        ),
        ("body".to_owned(), attr_string(e.body())),
        (
            TTL_ATTRIBUTE.to_owned(),
            expiry(e.created_at, Duration::days(EVENT_RETENTION_DAYS)),
        ),
    ])
}

pub(crate) fn event_from(item: &Item) -> Result<Event, StoreError> {
    let r = Reader(item);
    Event::stored(
        r.parse("event_id")?,
        r.enumerated("event_type", EventType::parse)?,
        r.parse("recipient")?,
        r.time("created_at")?,
        r.str("body")?.to_owned(),
    )
    .map_err(StoreError::internal)
}

/// A client's request to deliver `event` again: a new item under the event's partition, which
/// the stream carries to the notifier like an event.
pub(crate) fn resend_item(
    event: &Event,
    endpoint: Option<WebhookEndpointId>,
    now: OffsetDateTime,
) -> Item {
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let request = ulid::Ulid::from_parts(millis, rand::random::<u128>());
    let mut item = Item::from([
        ("pk".to_owned(), attr_string(event_pk(event.id))),
        (
            "sk".to_owned(),
            attr_string(format!("{RESEND_SORT_PREFIX}{request}")),
        ),
        ("type".to_owned(), attr_string("resend")),
        ("event_id".to_owned(), attr_string(event.id.to_string())),
        (
            "recipient".to_owned(),
            attr_string(event.recipient.as_str()),
        ),
        ("created_at".to_owned(), attr_string(timestamp(now))),
        (TTL_ATTRIBUTE.to_owned(), expiry(now, RESEND_RETENTION)),
    ]);
    if let Some(endpoint) = endpoint {
        item.insert("endpoint_id".to_owned(), attr_string(endpoint.to_string()));
    }
    item
}

/// What a stream record's new image asks of the notifier: an event to deliver, a resend, or
/// (`None`) nothing, for every other item of the table (payments, deliveries, …).
///
/// # Errors
/// An event or resend item that does not decode (a bug or a corrupt item: the caller reports
/// the record as failed rather than drop it).
pub fn outbox_record_from_item(item: &Item) -> Result<Option<OutboxRecord>, StoreError> {
    let r = Reader(item);
    match r.opt_str("type")? {
        Some("event") => Ok(Some(OutboxRecord::Event(event_from(item)?))),
        Some("resend") => Ok(Some(OutboxRecord::Resend {
            event_id: r.parse::<EventId>("event_id")?,
            recipient: r.parse("recipient")?,
            endpoint: match r.opt_str("endpoint_id")? {
                None => None,
                Some(_) => Some(r.parse("endpoint_id")?),
            },
            requested_at: r.time("created_at")?,
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
