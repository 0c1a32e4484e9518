//! Request units of recorded DynamoDB calls under the on-demand rules ("DynamoDB read and write
//! operations", docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
//! a strongly consistent read is 1 RRU per 4 KB (eventually consistent 0.5), each item of a
//! `BatchGetItem` rounded up on its own, a `Query` the sum of the items returned rounded up once;
//! a write 1 WRU per 1 KB of the larger of the item before and after, 2 in a transaction; a
//! global secondary index write (projection ALL: the whole item) 1 WRU per 1 KB, two when its
//! key changes, one to delete when the item leaves a sparse index; a KEYS_ONLY index is written
//! only when an item's key attributes enter, change or leave it (its items are under 1 KB).

use std::collections::HashMap;

use serde_json::Value;

use super::{
    recorder::Call,
    size::{Item, item_size},
};

/// `(table, pk, sk)`: an item's identity across snapshots and wire JSON.
pub type ItemKey = (String, String, String);

/// Every item of the tables at one moment.
pub type Snapshot = HashMap<ItemKey, Item>;

/// An index's key attributes.
#[derive(Debug, Clone)]
pub struct Index {
    pub hash: String,
    pub range: Option<String>,
    /// Projection KEYS_ONLY: an index item is only its keys (under 1 KB), and a write that
    /// changes no key attribute writes nothing to it.
    pub keys_only: bool,
}

/// What one call cost.
#[derive(Debug, Clone, Default)]
pub struct Units {
    pub operation: String,
    /// "Update account 297 B", "Get payment 412 B (consistent)", ...
    pub items: Vec<String>,
    pub rru: f64,
    pub wru: f64,
    pub index_wru: f64,
}

fn units(size: usize, unit: usize) -> f64 {
    size.div_ceil(unit).max(1) as f64
}

fn key_of(table: &str, key: &Value) -> ItemKey {
    let text = |name: &str| key[name]["S"].as_str().unwrap_or_default().to_owned();
    (table.to_owned(), text("pk"), text("sk"))
}

fn kind(item: Option<&Item>) -> String {
    match item.and_then(|i| i.get("type")).and_then(|t| t.as_s().ok()) {
        Some(kind) if kind == "payment" => {
            let status = item
                .and_then(|i| i.get("status"))
                .and_then(|s| s.as_s().ok())
                .map_or("", String::as_str);
            format!("payment ({status})")
        }
        Some(kind) => kind.clone(),
        None => "absent".to_owned(),
    }
}

/// The index key an item has in `index`, if it is in it (sparse indexes skip items without).
fn index_key(item: Option<&Item>, index: &Index) -> Option<(String, String)> {
    let item = item?;
    let hash = format!("{:?}", item.get(&index.hash)?);
    let range = match &index.range {
        Some(range) => format!("{:?}", item.get(range)?),
        None => String::new(),
    };
    Some((hash, range))
}

fn index_writes(before: Option<&Item>, after: Option<&Item>, indexes: &[Index]) -> f64 {
    indexes
        .iter()
        .map(|index| {
            let size = |item: Option<&Item>| match item {
                Some(_) if index.keys_only => 1,
                item => item.map_or(0, item_size),
            };
            match (index_key(before, index), index_key(after, index)) {
                (Some(old), Some(new)) if old == new => {
                    if before == after || index.keys_only {
                        0.0
                    } else {
                        units(size(before).max(size(after)), 1024)
                    }
                }
                (Some(_), Some(_)) => units(size(before), 1024) + units(size(after), 1024),
                (Some(_), None) => units(size(before), 1024),
                (None, Some(_)) => units(size(after), 1024),
                (None, None) => 0.0,
            }
        })
        .sum()
}

/// Costs `call`, made between the `before` and `after` snapshots.
pub fn cost(
    call: &Call,
    before: &Snapshot,
    after: &Snapshot,
    indexes: &HashMap<String, Vec<Index>>,
) -> Units {
    let mut out = Units {
        operation: call.operation.clone(),
        ..Units::default()
    };
    let request = &call.request;
    let read = |out: &mut Units, table: &str, key: &Value, consistent: bool| {
        let item = before.get(&key_of(table, key));
        let size = item.map_or(0, item_size);
        out.rru += units(size, 4096) * if consistent { 1.0 } else { 0.5 };
        out.items.push(format!(
            "{} {size} B{}",
            kind(item),
            if consistent { "" } else { " (eventual)" }
        ));
    };
    let write = |out: &mut Units, table: &str, key: &Value, verb: &str, factor: f64| {
        let key = key_of(table, key);
        let (old, new) = (before.get(&key), after.get(&key));
        let size = old.map_or(0, item_size).max(new.map_or(0, item_size));
        out.wru += units(size, 1024) * factor;
        if verb != "ConditionCheck" {
            out.index_wru +=
                index_writes(old, new, indexes.get(table).map_or(&[][..], Vec::as_slice));
        }
        out.items
            .push(format!("{verb} {} {size} B", kind(old.or(new))));
    };
    let consistent = |v: &Value| v["ConsistentRead"].as_bool().unwrap_or(false);
    match call.operation.as_str() {
        "GetItem" => {
            let table = request["TableName"].as_str().unwrap_or_default();
            read(&mut out, table, &request["Key"], consistent(request));
        }
        "BatchGetItem" => {
            for (table, keys) in request["RequestItems"].as_object().into_iter().flatten() {
                for key in keys["Keys"].as_array().into_iter().flatten() {
                    read(&mut out, table, key, consistent(keys));
                }
            }
        }
        "Query" | "Scan" => {
            let table = request["TableName"].as_str().unwrap_or_default();
            let returned = call.response["Items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total: usize = returned
                .iter()
                .map(|key| before.get(&key_of(table, key)).map_or(0, item_size))
                .sum();
            out.rru = units(total, 4096) * if consistent(request) { 1.0 } else { 0.5 };
            // Each kind returned, in the order first returned (a payment's partition holds
            // the payment and its refunds).
            let mut kinds: Vec<(String, usize)> = Vec::new();
            for key in &returned {
                let k = kind(before.get(&key_of(table, key)));
                match kinds.iter_mut().find(|(seen, _)| *seen == k) {
                    Some((_, n)) => *n += 1,
                    None => kinds.push((k, 1)),
                }
            }
            let kinds = if kinds.is_empty() {
                format!("0 × {}", kind(None))
            } else {
                kinds
                    .iter()
                    .map(|(k, n)| format!("{n} × {k}"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            out.items.push(format!(
                "{kinds} ({total} B{})",
                if consistent(request) {
                    ""
                } else {
                    ", eventual"
                }
            ));
        }
        "TransactWriteItems" => {
            for action in request["TransactItems"].as_array().into_iter().flatten() {
                let Some((verb, body)) = action.as_object().and_then(|a| a.iter().next()) else {
                    continue;
                };
                let table = body["TableName"].as_str().unwrap_or_default();
                let key = if verb == "Put" {
                    &body["Item"]
                } else {
                    &body["Key"]
                };
                // ConditionCheck is costed as a transactional write of the checked item (the
                // conservative reading; the developer guide does not price it separately).
                write(&mut out, table, key, verb, 2.0);
            }
        }
        "PutItem" | "UpdateItem" | "DeleteItem" => {
            let table = request["TableName"].as_str().unwrap_or_default();
            let key = if call.operation == "PutItem" {
                &request["Item"]
            } else {
                &request["Key"]
            };
            let verb = call.operation.trim_end_matches("Item");
            write(&mut out, table, key, verb, 1.0);
        }
        _ => {}
    }
    out
}
