//! A DynamoDB Streams record in the two forms the local notifier needs: the item of its new
//! image (for `outbox_record_from_item`, in-process) and the record of a Lambda DynamoDB-stream
//! event (for the template's filters, and for the `notify` function under `cargo lambda
//! watch`), as the event source mapping would hand it over.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue as TableValue;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, Record};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Map, Value, json};

/// An item as the DynamoDB adapter reads it.
pub type Item = HashMap<String, TableValue>;

/// The record's new image as an item (`None` for a record without one: a REMOVE).
pub fn new_image(record: &Record) -> Option<Item> {
    let image = record.dynamodb()?.new_image()?;
    Some(
        image
            .iter()
            .map(|(name, value)| (name.clone(), table_value(value)))
            .collect(),
    )
}

/// The sequence number, which orders the records of one shard.
pub fn sequence_number(record: &Record) -> Option<&str> {
    record.dynamodb()?.sequence_number()
}

/// The partition key of the record's item, when it is a string.
pub fn partition_key<'a>(record: &'a Record, name: &str) -> Option<&'a str> {
    match record.dynamodb()?.keys()?.get(name)? {
        StreamValue::S(text) => Some(text),
        _ => None,
    }
}

/// The record as a Lambda DynamoDB-stream event carries it (`Records[]` entry).
pub fn lambda_record(record: &Record, stream_arn: &str, region: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(stream) = record.dynamodb() {
        if let Some(created) = stream.approximate_creation_date_time() {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(created.secs()));
        }
        for (name, image) in [
            ("Keys", stream.keys()),
            ("NewImage", stream.new_image()),
            ("OldImage", stream.old_image()),
        ] {
            if let Some(image) = image {
                dynamodb.insert(name.into(), image_json(image));
            }
        }
        if let Some(sequence) = stream.sequence_number() {
            dynamodb.insert("SequenceNumber".into(), json!(sequence));
        }
        if let Some(size) = stream.size_bytes() {
            dynamodb.insert("SizeBytes".into(), json!(size));
        }
        if let Some(view) = stream.stream_view_type() {
            dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    json!({
        "eventID": record.event_id().unwrap_or_default(),
        "eventName": record.event_name().map(|n| n.as_str()).unwrap_or_default(),
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or(region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}

/// An image in DynamoDB JSON (`{"pk": {"S": "…"}}`).
fn image_json(image: &HashMap<String, StreamValue>) -> Value {
    Value::Object(
        image
            .iter()
            .map(|(name, value)| (name.clone(), value_json(value)))
            .collect(),
    )
}

fn value_json(value: &StreamValue) -> Value {
    let blobs = |blobs: &[aws_smithy_types::Blob]| -> Vec<String> {
        blobs.iter().map(|b| STANDARD.encode(b.as_ref())).collect()
    };
    match value {
        StreamValue::S(s) => json!({"S": s}),
        StreamValue::N(n) => json!({"N": n}),
        StreamValue::B(b) => json!({"B": STANDARD.encode(b.as_ref())}),
        StreamValue::Bool(b) => json!({"BOOL": b}),
        StreamValue::Null(n) => json!({"NULL": n}),
        StreamValue::Ss(ss) => json!({"SS": ss}),
        StreamValue::Ns(ns) => json!({"NS": ns}),
        StreamValue::Bs(bs) => json!({"BS": blobs(bs)}),
        StreamValue::L(items) => json!({"L": items.iter().map(value_json).collect::<Vec<_>>()}),
        StreamValue::M(map) => json!({"M": image_json(map)}),
        _ => Value::Null,
    }
}

/// The same value in the table API's type (the streams SDK has its own).
fn table_value(value: &StreamValue) -> TableValue {
    match value {
        StreamValue::S(s) => TableValue::S(s.clone()),
        StreamValue::N(n) => TableValue::N(n.clone()),
        StreamValue::B(b) => TableValue::B(b.clone()),
        StreamValue::Bool(b) => TableValue::Bool(*b),
        StreamValue::Ss(ss) => TableValue::Ss(ss.clone()),
        StreamValue::Ns(ns) => TableValue::Ns(ns.clone()),
        StreamValue::Bs(bs) => TableValue::Bs(bs.clone()),
        StreamValue::L(items) => TableValue::L(items.iter().map(table_value).collect()),
        StreamValue::M(map) => TableValue::M(
            map.iter()
                .map(|(name, value)| (name.clone(), table_value(value)))
                .collect(),
        ),
        // `Null`, and any type a later SDK adds.
        _ => TableValue::Null(true),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord, StreamViewType};
    use aws_smithy_types::{Blob, DateTime};

    use super::*;

    fn record() -> Record {
        let image: HashMap<String, StreamValue> = [
            ("pk", StreamValue::S("EVENT#evt_1".into())),
            ("attempts", StreamValue::N("2".into())),
            ("raw", StreamValue::B(Blob::new(vec![0, 1, 2]))),
            ("ok", StreamValue::Bool(true)),
            ("tags", StreamValue::Ss(vec!["a".into()])),
            (
                "nested",
                StreamValue::M(
                    [(
                        "l".to_owned(),
                        StreamValue::L(vec![StreamValue::Null(true)]),
                    )]
                    .into(),
                ),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Record::builder()
            .event_id("e1")
            .event_name(OperationType::Insert)
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(DateTime::from_secs(1_700_000_000))
                    .keys("pk", StreamValue::S("EVENT#evt_1".into()))
                    .set_new_image(Some(image))
                    .sequence_number("000100")
                    .size_bytes(42)
                    .stream_view_type(StreamViewType::NewImage)
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_stream_record_as_lambda_receives_it() {
        let event = lambda_record(&record(), "arn:stream", "us-east-1");
        assert_eq!(event["eventID"], "e1");
        assert_eq!(event["eventName"], "INSERT");
        assert_eq!(event["eventSource"], "aws:dynamodb");
        assert_eq!(event["awsRegion"], "us-east-1");
        assert_eq!(event["eventSourceARN"], "arn:stream");
        let dynamodb = &event["dynamodb"];
        assert_eq!(dynamodb["ApproximateCreationDateTime"], 1_700_000_000);
        assert_eq!(dynamodb["Keys"], json!({"pk": {"S": "EVENT#evt_1"}}));
        assert_eq!(dynamodb["SequenceNumber"], "000100");
        assert_eq!(dynamodb["SizeBytes"], 42);
        assert_eq!(dynamodb["StreamViewType"], "NEW_IMAGE");
        assert_eq!(
            dynamodb["NewImage"],
            json!({
                "pk": {"S": "EVENT#evt_1"}, "attempts": {"N": "2"}, "raw": {"B": "AAEC"},
                "ok": {"BOOL": true}, "tags": {"SS": ["a"]},
                "nested": {"M": {"l": {"L": [{"NULL": true}]}}}
            })
        );
        assert!(dynamodb.get("OldImage").is_none());
    }

    #[test]
    fn the_new_image_as_an_item() {
        let record = record();
        let item = new_image(&record).expect("an image");
        assert_eq!(item["pk"], TableValue::S("EVENT#evt_1".into()));
        assert_eq!(item["attempts"], TableValue::N("2".into()));
        assert_eq!(item["raw"], TableValue::B(Blob::new(vec![0, 1, 2])));
        assert_eq!(
            item["nested"],
            TableValue::M([("l".to_owned(), TableValue::L(vec![TableValue::Null(true)]))].into())
        );
        assert_eq!(sequence_number(&record), Some("000100"));
        assert_eq!(partition_key(&record, "pk"), Some("EVENT#evt_1"));
        assert_eq!(partition_key(&record, "sk"), None);
    }
}
