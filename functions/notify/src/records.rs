//! The records of a Lambda event, read into what the notifier takes: a DynamoDB stream
//! record's `NewImage` (DynamoDB JSON) into an outbox record, an SQS message's body into a
//! delivery job. Each keeps the id Lambda's partial batch response names it by.

use paygate_shared::{
    event::OutboxRecord,
    notify::{DeliveryJob, stream::item_from_json},
    store::dynamodb::outbox_record_from_item,
};
use serde_json::Value;

/// One record of a batch.
#[derive(Debug)]
pub struct BatchRecord {
    /// `dynamodb.SequenceNumber` (stream) or `messageId` (SQS): the `itemIdentifier` to retry.
    pub id: String,
    pub source: Source,
}

/// What a record carries, or why it cannot be read.
#[derive(Debug)]
pub enum Source {
    /// A stream record: an outbox item (None: another item type).
    Outbox(Result<Option<OutboxRecord>, String>),
    /// A retry queue message.
    Job(Result<DeliveryJob, String>),
    /// Neither `aws:dynamodb` nor `aws:sqs`.
    Unknown(String),
}

impl BatchRecord {
    /// Whether it is a new event (handled before the batch's resends).
    pub fn is_event(&self) -> bool {
        matches!(
            self.source,
            Source::Outbox(Ok(Some(OutboxRecord::Event(_))))
        )
    }
}

/// The records of `event` (`Records[]`), in order; none for an event without them.
pub fn parse_batch(event: &Value) -> Vec<BatchRecord> {
    let records = event.get("Records").and_then(Value::as_array);
    records.into_iter().flatten().map(parse_record).collect()
}

fn parse_record(record: &Value) -> BatchRecord {
    let text = |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or_default().to_owned();
    match record.get("eventSource").and_then(Value::as_str) {
        Some("aws:dynamodb") => {
            let stream = record.get("dynamodb");
            BatchRecord {
                id: text(stream.and_then(|s| s.get("SequenceNumber"))),
                source: Source::Outbox(outbox_record(stream)),
            }
        }
        Some("aws:sqs") => BatchRecord {
            id: text(record.get("messageId")),
            source: Source::Job(
                record
                    .get("body")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "no body".to_owned())
                    .and_then(|body| {
                        serde_json::from_str(body).map_err(|e| format!("not a delivery job: {e}"))
                    }),
            ),
        },
        other => BatchRecord {
            id: text(record.get("messageId").or_else(|| record.get("eventID"))),
            source: Source::Unknown(format!("unknown event source {other:?}")),
        },
    }
}

fn outbox_record(stream: Option<&Value>) -> Result<Option<OutboxRecord>, String> {
    let image = stream
        .and_then(|s| s.get("NewImage"))
        .ok_or_else(|| "no NewImage (the stream must carry new images)".to_owned())?;
    let item = item_from_json(image).map_err(|e| e.to_string())?;
    outbox_record_from_item(&item).map_err(|e| e.to_string())
}
