//! Events on DynamoDB: a recipient's pages through the `events-by-recipient` index, an event
//! with its delivery records (one query of its partition), the delivery records' conditional
//! writes, and resend requests. Events themselves are written by the operations whose changes
//! they report ([`super::outbox`]).

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::put_item::PutItemError,
    types::{AttributeValue, ReturnValuesOnConditionCheckFailure},
};
use time::{Duration, OffsetDateTime};

use super::{
    DynamoStore,
    attrs::{Item, Reader, attr_number, attr_string, timestamp},
    keys::{DELIVERY_SORT_PREFIX, EVENT_SORT_KEY, delivery_key, event_pk},
    outbox::{event_from, resend_item},
    schema::{EVENTS_INDEX, TTL_ATTRIBUTE},
    tx::sdk_error,
};
use crate::{
    Event, EventId, StoreError, WebhookEndpointId,
    event::{Attempt, Delivery, DeliveryStatus, EVENT_RETENTION_DAYS, EventPage, EventQuery},
    store::EventStore,
};

impl DynamoStore {
    /// One page of a recipient's events: one `Query` of the index, newest first, the window
    /// and the cursor as the key range, the types as a `FilterExpression`, `Limit` = the events
    /// the page may examine.
    async fn list_events(&self, query: &EventQuery) -> Result<EventPage, StoreError> {
        query.check_cursor()?;
        let low = query.oldest_id();
        let high = match &query.after {
            // Strictly below the cursor: its id minus one is the highest key left.
            Some(cursor) => match cursor.last.ulid().0.checked_sub(1) {
                Some(below) => EventId::from_ulid(ulid::Ulid(below)),
                None => return Ok(EventPage::cut(query, Vec::new(), None)),
            },
            None => EventId::from_ulid(ulid::Ulid(u128::MAX)),
        };
        if high < low {
            return Ok(EventPage::cut(query, Vec::new(), None));
        }
        let mut request = self
            .client
            .query()
            .table_name(self.transactions_table())
            .index_name(EVENTS_INDEX)
            .key_condition_expression("#recipient = :recipient AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#recipient", "recipient")
            .expression_attribute_names("#sk", "recipient_sk")
            .expression_attribute_values(":recipient", attr_string(query.recipient.as_str()))
            .expression_attribute_values(":low", attr_string(low.to_string()))
            .expression_attribute_values(":high", attr_string(high.to_string()))
            .scan_index_forward(false)
            .limit(i32::try_from(query.examine_limit()).unwrap_or(i32::MAX));
        let mut types: Vec<&str> = query.types.iter().map(|t| t.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        if !types.is_empty() {
            let mut placeholders = Vec::new();
            for (i, event_type) in types.into_iter().enumerate() {
                let placeholder = format!(":type{i}");
                request =
                    request.expression_attribute_values(&placeholder, attr_string(event_type));
                placeholders.push(placeholder);
            }
            request = request
                .expression_attribute_names("#event_type", "event_type")
                .filter_expression(format!("#event_type IN ({})", placeholders.join(", ")));
        }
        let output = request.send().await.map_err(sdk_error)?;
        let matched = output
            .items
            .unwrap_or_default()
            .iter()
            .map(event_from)
            .collect::<Result<Vec<_>, _>>()?;
        let more_after = output
            .last_evaluated_key
            .filter(|key| !key.is_empty())
            .map(|key| {
                Reader(&key).parse::<EventId>("recipient_sk").map_err(|_| {
                    StoreError::internal(format!("the index {EVENTS_INDEX} returned a bad key"))
                })
            })
            .transpose()?;
        Ok(EventPage::cut(query, matched, more_after))
    }

    /// The event and its delivery records: one consistent query of its partition (more only
    /// past 1 MB of delivery records, far more than 16 endpoints make).
    async fn event_with_deliveries(
        &self,
        id: EventId,
    ) -> Result<Option<(Event, Vec<Delivery>)>, StoreError> {
        let mut event = None;
        let mut deliveries = Vec::new();
        for item in self.partition(event_pk(id)).await? {
            match item.get("sk") {
                Some(AttributeValue::S(sk)) if sk == EVENT_SORT_KEY => {
                    event = Some(event_from(&item)?);
                }
                Some(AttributeValue::S(sk)) if sk.starts_with(DELIVERY_SORT_PREFIX) => {
                    deliveries.push(delivery_from(&item)?);
                }
                // Resend requests: for the stream, not for readers.
                _ => {}
            }
        }
        Ok(event.map(|event| (event, deliveries)))
    }
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn events(&self, query: &EventQuery) -> Result<EventPage, StoreError> {
        self.list_events(query).await
    }

    async fn event(&self, id: EventId) -> Result<Option<(Event, Vec<Delivery>)>, StoreError> {
        self.event_with_deliveries(id).await
    }

    async fn record_delivery(
        &self,
        delivery: &Delivery,
        _now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let attempts = i64::try_from(delivery.attempts.len()).unwrap_or(i64::MAX);
        let item = delivery_item(delivery)?;
        let result = self
            .client
            .put_item()
            .table_name(self.transactions_table())
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(#pk) OR #attempts < :attempts")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_values(":attempts", attr_number(attempts))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                // The stored record is exactly this one: this call's own write, sent again by
                // the SDK after its answer was lost, not a newer state.
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(failed.item.as_ref() == Some(&item))
                }
                _ => Err(sdk_error(e)),
            },
        }
    }

    async fn request_resend(
        &self,
        event: &Event,
        endpoint: Option<WebhookEndpointId>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(self.transactions_table())
            .set_item(Some(resend_item(event, endpoint, now)))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

/// The delivery of an event to one endpoint, under the event's partition. It expires with the
/// event (an event id carries its creation time).
pub(crate) fn delivery_item(d: &Delivery) -> Result<Item, StoreError> {
    let log = serde_json::to_string(&d.attempts).map_err(StoreError::internal)?;
    let created = OffsetDateTime::UNIX_EPOCH
        + Duration::milliseconds(i64::try_from(d.event_id.ulid().timestamp_ms()).unwrap_or(0));
    let expire_at = created + Duration::days(EVENT_RETENTION_DAYS);
    let mut item = delivery_key(d.event_id, d.endpoint_id);
    item.extend([
        ("type".to_owned(), attr_string("delivery")),
        ("event_id".to_owned(), attr_string(d.event_id.to_string())),
        (
            "endpoint_id".to_owned(),
            attr_string(d.endpoint_id.to_string()),
        ),
        ("status".to_owned(), attr_string(d.status.as_str())),
        (
            "attempts".to_owned(),
            attr_number(i64::try_from(d.attempts.len()).unwrap_or(i64::MAX)),
        ),
        ("attempt_log".to_owned(), attr_string(log)),
        (
            TTL_ATTRIBUTE.to_owned(),
            attr_number(expire_at.unix_timestamp()),
        ),
    ]);
    if let Some(next) = d.next_attempt_at {
        item.insert("next_attempt_at".to_owned(), attr_string(timestamp(next)));
    }
    Ok(item)
}

pub(crate) fn delivery_from(item: &Item) -> Result<Delivery, StoreError> {
    let r = Reader(item);
    let attempts: Vec<Attempt> = serde_json::from_str(r.str("attempt_log")?)
        .map_err(|_| StoreError::internal("stored item has a malformed attribute `attempt_log`"))?;
    Ok(Delivery {
        event_id: r.parse("event_id")?,
        endpoint_id: r.parse("endpoint_id")?,
        status: r.enumerated("status", DeliveryStatus::parse)?,
        attempts,
        next_attempt_at: match r.opt_str("next_attempt_at")? {
            None => None,
            Some(_) => Some(r.time("next_attempt_at")?),
        },
    })
}
