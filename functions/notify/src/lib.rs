//! The notify function: the transactions table's stream (new events and resend requests,
//! filtered by the event source mapping) and the retry queue (delivery jobs) both invoke it; it
//! hands each record to the [`Notifier`](paygate_shared::notify::engine::Notifier) and answers
//! which records failed, so only those come back (`{"batchItemFailures": [...]}`).
//!
//! A record fails only when the notifier could not finish it (a store, queue or secret
//! failure) or it cannot be read; a receiver's bad answer is not a failure here, it is retried
//! through the queue. Records are handled concurrently: one receiver that never answers holds
//! up nothing but its own attempt. Each invocation's DynamoDB round trips are recorded
//! (`DynamoDbRoundTrips`, function `notify`), as the notifier records each attempt's outcome.

mod records;

use futures_util::future::join_all;
use paygate_shared::metrics::count_round_trips;
use serde_json::{Value, json};

/// What the function is built from (and `notify_deps_from_env`, its production wiring).
pub use paygate_shared::wiring::NotifyDeps;
pub use records::{BatchRecord, Source, parse_batch};

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "notify";

/// Handles one Lambda event (a DynamoDB stream batch or an SQS batch) and answers the partial
/// batch failures: the `SequenceNumber` or `messageId` of each record to retry.
pub async fn handle(deps: &NotifyDeps, event: Value) -> Value {
    let (answer, round_trips) = count_round_trips(handle_batch(deps, event)).await;
    let notifier = &deps.notifier;
    notifier
        .metrics
        .round_trips(FUNCTION, round_trips, notifier.clock.now());
    answer
}

async fn handle_batch(deps: &NotifyDeps, event: Value) -> Value {
    let records = parse_batch(&event);
    let notifier = &deps.notifier;
    // New events before resends of the same batch: a resend then finds the first attempt's
    // delivery record instead of racing it.
    let (events, rest): (Vec<_>, Vec<_>) = records.into_iter().partition(BatchRecord::is_event);
    let mut failed = Vec::new();
    for group in [events, rest] {
        let outcomes = join_all(group.iter().map(|record| async move {
            let outcome = match &record.source {
                Source::Outbox(Ok(Some(outbox))) => notifier.on_record(outbox).await,
                // Not an outbox item (the mapping's filter lets none through): nothing to do.
                Source::Outbox(Ok(None)) => Ok(()),
                Source::Job(Ok(job)) => notifier.on_job(job).await,
                Source::Outbox(Err(why)) | Source::Job(Err(why)) | Source::Unknown(why) => {
                    tracing::error!(record = %record.id, why = %why, "unreadable record");
                    return false;
                }
            };
            match outcome {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(record = %record.id, error = %e, "record not handled; it will be retried");
                    false
                }
            }
        }))
        .await;
        failed.extend(
            group
                .iter()
                .zip(outcomes)
                .filter(|(_, handled)| !handled)
                .map(|(record, _)| json!({"itemIdentifier": record.id})),
        );
    }
    json!({"batchItemFailures": failed})
}
