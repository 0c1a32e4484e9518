//! `--upstream`: the `notify` function runs under `cargo lambda watch`, and the pollers invoke it
//! with the events the mappings would send, a DynamoDB-stream event for stream batches and an
//! SQS event for retry messages; its `batchItemFailures` name the records to retry.

use async_trait::async_trait;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde_json::{Value, json};

use super::sink::{JobSink, StreamItem, StreamSink};
use crate::upstream::Upstream;

/// The `notify` function at the upstream.
pub struct Function {
    pub upstream: Upstream,
    /// The binary the template names (`notify`).
    pub binary: String,
    pub region: String,
    /// The retry queue's ARN, as SQS events name their source.
    pub queue_arn: String,
}

impl Function {
    /// Invokes the function; the identifiers it reported failed (every one when the invocation
    /// itself failed, as Lambda retries the whole batch then).
    async fn invoke(&self, event: &Value, all: &[&str]) -> Vec<String> {
        match self.upstream.invoke(&self.binary, event).await {
            Ok(result) => failed_items(&result),
            Err(err) => {
                tracing::warn!(function = %self.binary, error = %err, "invoking the notifier");
                all.iter().map(|id| (*id).to_owned()).collect()
            }
        }
    }
}

/// `{"batchItemFailures": [{"itemIdentifier": …}]}`; none for any other answer (a function
/// that answers nothing succeeded with the whole batch).
pub fn failed_items(result: &Value) -> Vec<String> {
    result
        .get("batchItemFailures")
        .and_then(Value::as_array)
        .map(|failures| {
            failures
                .iter()
                .filter_map(|f| f.get("itemIdentifier")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn indices<'a>(ids: impl Iterator<Item = &'a str>, failed: &[String]) -> Vec<usize> {
    ids.enumerate()
        .filter(|(_, id)| failed.iter().any(|f| f == id))
        .map(|(i, _)| i)
        .collect()
}

#[async_trait]
impl StreamSink for Function {
    async fn handle(&self, batch: &[StreamItem]) -> Vec<usize> {
        let event = json!({"Records": batch.iter().map(|i| &i.lambda).collect::<Vec<_>>()});
        let ids: Vec<&str> = batch.iter().map(|i| i.sequence_number.as_str()).collect();
        let failed = self.invoke(&event, &ids).await;
        indices(ids.into_iter(), &failed)
    }
}

#[async_trait]
impl JobSink for Function {
    async fn handle(&self, batch: &[Message]) -> Vec<usize> {
        let records: Vec<Value> = batch
            .iter()
            .map(|m| sqs_record(m, &self.queue_arn, &self.region))
            .collect();
        let ids: Vec<&str> = batch
            .iter()
            .map(|m| m.message_id().unwrap_or_default())
            .collect();
        let failed = self.invoke(&json!({"Records": records}), &ids).await;
        indices(ids.into_iter(), &failed)
    }
}

/// A message as an SQS event of Lambda carries it.
pub fn sqs_record(message: &Message, queue_arn: &str, region: &str) -> Value {
    let attributes: serde_json::Map<String, Value> = message
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(name, value): (&MessageSystemAttributeName, &String)| {
                    (name.as_str().to_owned(), json!(value))
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "messageId": message.message_id().unwrap_or_default(),
        "receiptHandle": message.receipt_handle().unwrap_or_default(),
        "body": message.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": message.md5_of_body().unwrap_or_default(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn batch_item_failures_name_the_records_to_retry() {
        let result =
            json!({"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "9"}]});
        let failed = failed_items(&result);
        assert_eq!(failed, ["2", "9"]);
        assert_eq!(indices(["1", "2", "3"].into_iter(), &failed), [1]);
        assert!(failed_items(&json!(null)).is_empty());
        assert!(failed_items(&json!({"batchItemFailures": []})).is_empty());
    }

    #[test]
    fn a_message_as_an_sqs_event_record() {
        let message = Message::builder()
            .message_id("m-1")
            .receipt_handle("r-1")
            .body("{\"attempt\":2}")
            .md5_of_body("abc")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .build();
        let record = sqs_record(
            &message,
            "arn:aws:sqs:us-east-1:123456789012:q",
            "us-east-1",
        );
        assert_eq!(record["messageId"], "m-1");
        assert_eq!(record["receiptHandle"], "r-1");
        assert_eq!(record["body"], "{\"attempt\":2}");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(
            record["eventSourceARN"],
            "arn:aws:sqs:us-east-1:123456789012:q"
        );
    }
}
