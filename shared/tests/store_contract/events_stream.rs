//! The outbox as the notifier sees it on DynamoDB: the transactions table's stream (read with
//! DynamoDB Streams, as the event source mapping and `paygate-local` do) carries exactly the
//! event items the changes wrote, in order, and nothing of a refused write; every new image
//! decodes with `outbox_record_from_item` (events and resends; nothing for other items).

#[allow(unused_imports)]
use super::*;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue as TableValue;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use paygate_shared::store::dynamodb::sdk_config_for_endpoint;

/// A stream image's value as the table's SDK spells it (what the notifier converts too).
fn table_value(value: &StreamValue) -> TableValue {
    match value {
        StreamValue::S(s) => TableValue::S(s.clone()),
        StreamValue::N(n) => TableValue::N(n.clone()),
        StreamValue::Bool(b) => TableValue::Bool(*b),
        StreamValue::Null(n) => TableValue::Null(*n),
        StreamValue::Ss(v) => TableValue::Ss(v.clone()),
        StreamValue::Ns(v) => TableValue::Ns(v.clone()),
        StreamValue::L(v) => TableValue::L(v.iter().map(table_value).collect()),
        StreamValue::M(m) => {
            TableValue::M(m.iter().map(|(k, v)| (k.clone(), table_value(v))).collect())
        }
        other => panic!("an attribute the store never writes: {other:?}"),
    }
}

/// Every record of the table's stream so far, decoded: `(event name, outbox record)`.
async fn stream_records(fx: &Fixture) -> Vec<(String, Option<OutboxRecord>)> {
    let store = fx.dynamo_store().expect("a DynamoDB fixture");
    let table = &store.tables().transactions;
    let described = store
        .client()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe table");
    let arn = described
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the transactions table has a stream");
    let endpoint = tokio::task::block_in_place(support::moto::endpoint);
    let config = sdk_config_for_endpoint(&endpoint, "us-east-1", true).await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("describe stream")
        .stream_description
        .map(|d| d.shards.unwrap_or_default())
        .unwrap_or_default();
    let mut records = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().expect("a shard id"))
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("shard iterator")
            .shard_iterator;
        while let Some(current) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .expect("records");
            let batch = page.records.unwrap_or_default();
            let done = batch.is_empty();
            for record in batch {
                let name = record.event_name().map(|n| n.as_str().to_owned());
                let image: Option<HashMap<String, TableValue>> =
                    record.dynamodb().and_then(|d| d.new_image()).map(|image| {
                        image
                            .iter()
                            .map(|(k, v)| (k.clone(), table_value(v)))
                            .collect()
                    });
                let decoded = match image {
                    Some(item) => outbox_record_from_item(&item).expect("decodes"),
                    None => None,
                };
                records.push((name.unwrap_or_default(), decoded));
            }
            iterator = if done { None } else { page.next_shard_iterator };
        }
    }
    records
}

pub(crate) async fn the_stream_carries_exactly_the_events_written(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let p = transfer(&alice, a, b, cny(400), T0);
    must_create(s, &p, T0).await;
    // Refused: more than alice has left. Its cancelled transaction leaves no record.
    let broke = transfer(&alice, a, b, cny(900), T0);
    assert!(create(s, &broke, "st-broke", "x", T0).await.is_err());
    let captured = s
        .capture(&p, p.amount, T0 + minutes(1))
        .await
        .expect("capture");
    let (_, refunded) = refund_as(s, &captured, 100, "st-r", "100", T0 + minutes(2)).await;
    assert!(matches!(refunded, Ok(RefundOutcome::Created { .. })));
    let q = transfer(&alice, a, b, cny(10), T0 + minutes(3));
    must_create(s, &q, q.created_at).await;
    s.release(&q, ReleaseReason::Canceled, T0 + minutes(4))
        .await
        .expect("cancel");

    let mut written: Vec<Event> = Vec::new();
    for client in [&alice, &bob] {
        written.extend(events_of(&fx, client, T0).await);
    }
    written.sort_by_key(|e| e.id);
    // hold 1, capture 2, refund 2, hold 1, cancel 1.
    assert_eq!(written.len(), 7, "{written:?}");
    let first = written[0].clone();
    fx.events()
        .request_resend(&first, None, T0 + minutes(5))
        .await
        .expect("resend");

    let records = stream_records(&fx).await;
    let outbox: Vec<&OutboxRecord> = records.iter().filter_map(|(_, r)| r.as_ref()).collect();
    let mut expected: Vec<OutboxRecord> = written.into_iter().map(OutboxRecord::Event).collect();
    expected.push(OutboxRecord::Resend {
        event_id: first.id,
        recipient: first.recipient.clone(),
        endpoint: None,
        requested_at: T0 + minutes(5),
    });
    assert_eq!(outbox, expected.iter().collect::<Vec<_>>());
    // Every event and resend arrives as an INSERT (what the event source mapping filters on).
    assert!(
        records
            .iter()
            .filter(|(_, r)| r.is_some())
            .all(|(name, _)| name == "INSERT"),
        "{records:?}"
    );
    // The refused payment is nowhere in the stream.
    let refused = format!("{}", broke.id);
    assert!(
        !format!("{records:?}").contains(&refused),
        "a refused write left a record"
    );
}
