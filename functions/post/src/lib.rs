//! The post function. Two triggers, one engine ([`Poster`](paygate_shared::poster::Poster)):
//!
//! - the transactions table's stream, filtered by the event source mapping to new unposted
//!   credits: each account's credits in the batch are posted from the records themselves (a
//!   `GetItem` and one write per 49; the credit shards are read only when one of them turns out
//!   to be posted already), at most [`CONCURRENT_ACCOUNTS`] accounts at once; an account whose
//!   posting failed reports its records in `batchItemFailures`, so the mapping retries them (a
//!   retry posts only what is still there);
//! - a schedule (`{"detail-type": "Scheduled Event", …}`): the sweep drains every batched
//!   account whose oldest credit is older than
//!   [`SWEEP_MIN_AGE`](paygate_shared::poster::SWEEP_MIN_AGE), and logs the oldest age it saw
//!   (the posting-lag alarm's datapoint) on every run. A failed sweep fails the invocation.
//!
//! A record's credit is posted only by the write that deletes it (conditioned on it existing),
//! so a redelivered record or a duplicate trigger posts nothing twice. Each invocation's
//! DynamoDB round trips are recorded (`DynamoDbRoundTrips`, function `post`).

use std::time::Duration;

use futures_util::{StreamExt, stream};
use paygate_shared::{
    AccountId, StoreError,
    metrics::count_round_trips,
    poster::SWEEP_MIN_AGE,
    store::dynamodb::{image::item_from_json, unposted_credit_from_item},
    unposted::UnpostedCredit,
};
use serde_json::{Value, json};

/// What the function is built from (and `post_deps_from_env`, its production wiring).
pub use paygate_shared::wiring::PostDeps;

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "post";

/// Accounts drained at once from one stream batch.
pub const CONCURRENT_ACCOUNTS: usize = 8;
/// Time for one account's drain (of the function's 60 s timeout): what is left after it is the
/// next trigger's, or the sweep's.
pub const DRAIN_BUDGET: Duration = Duration::from_secs(45);
/// Time for one sweep.
pub const SWEEP_BUDGET: Duration = Duration::from_secs(40);

/// Handles one Lambda event: a stream batch (answered with its partial batch failures) or a
/// scheduled sweep (answered with what it did).
///
/// # Errors
/// The store's, for a sweep only (a stream batch reports failures per record instead).
pub async fn handle(deps: &PostDeps, event: Value) -> Result<Value, StoreError> {
    let (answer, round_trips) = count_round_trips(post(deps, event)).await;
    deps.metrics
        .round_trips(FUNCTION, round_trips, deps.poster.clock().now());
    answer
}

async fn post(deps: &PostDeps, event: Value) -> Result<Value, StoreError> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        let swept = deps.poster.sweep(SWEEP_MIN_AGE, SWEEP_BUDGET).await?;
        return Ok(json!({
            "accounts": swept.accounts,
            "drained": swept.drained,
            "credits": swept.credits,
        }));
    };
    let mut failed: Vec<String> = Vec::new();
    let mut accounts: Vec<(AccountId, Vec<String>, Vec<UnpostedCredit>)> = Vec::new();
    for record in records {
        let id = record
            .pointer("/dynamodb/SequenceNumber")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match credit_of(record) {
            Ok(Some(credit)) => match accounts
                .iter_mut()
                .find(|(a, _, _)| *a == credit.account_id)
            {
                Some((_, ids, credits)) => {
                    ids.push(id);
                    credits.push(credit);
                }
                None => accounts.push((credit.account_id, vec![id], vec![credit])),
            },
            // Not an unposted credit (the mapping's filter lets none through): nothing to do.
            Ok(None) => {}
            Err(why) => {
                tracing::error!(record = %id, why = %why, "unreadable record");
                failed.push(id);
            }
        }
    }
    let poster = &deps.poster;
    let outcomes: Vec<(Vec<String>, bool)> = stream::iter(accounts)
        .map(|(account, ids, credits)| async move {
            match poster.post_known(account, credits, DRAIN_BUDGET).await {
                Ok(_) => (ids, true),
                Err(e) => {
                    tracing::error!(account = %account, error = %e, "credits not posted; the records will be retried");
                    (ids, false)
                }
            }
        })
        .buffer_unordered(CONCURRENT_ACCOUNTS)
        .collect()
        .await;
    for (ids, posted) in outcomes {
        if !posted {
            failed.extend(ids);
        }
    }
    Ok(json!({
        "batchItemFailures": failed
            .into_iter()
            .map(|id| json!({"itemIdentifier": id}))
            .collect::<Vec<_>>()
    }))
}

/// The unposted credit a stream record's new image is, if it is one.
fn credit_of(record: &Value) -> Result<Option<UnpostedCredit>, String> {
    let image = record
        .pointer("/dynamodb/NewImage")
        .ok_or_else(|| "no NewImage (the stream must carry new images)".to_owned())?;
    let item = item_from_json(image).map_err(|e| e.to_string())?;
    unposted_credit_from_item(&item).map_err(|e| e.to_string())
}
