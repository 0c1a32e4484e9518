//! The expire function: on a schedule, releases the holds of pending payments whose
//! confirmation window has closed. Each release is its own atomic write conditioned on the
//! payment still being pending, so a sweep racing a confirm or a cancel changes nothing twice.
//! Each release is counted (`PaymentEvents`, `expired`), and each sweep's DynamoDB round trips
//! (`DynamoDbRoundTrips`, function `expire`).

use paygate_shared::{
    PaymentError, ReleaseReason, StoreError,
    metrics::{PaymentEvent, count_round_trips},
};
use serde::Serialize;

/// What a sweep is built from (and `expire_deps_from_env`, its production wiring).
pub use paygate_shared::wiring::ExpireDeps;

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "expire";

/// Payments read per store call.
pub const BATCH: usize = 100;
/// Batches per invocation, keeping one sweep well inside the function timeout; the next
/// scheduled run continues where this one stopped.
pub const MAX_BATCHES: usize = 20;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Holds released now.
    pub expired: usize,
    /// Settled by someone else between the listing and the release.
    pub already_settled: usize,
    /// Whether overdue payments were left for the next run.
    pub more: bool,
}

/// Releases every overdue hold (up to [`MAX_BATCHES`] batches), and records the round trips
/// it took, failed or not.
///
/// # Errors
/// The store's error when it cannot be read or written; the schedule retries.
pub async fn sweep(deps: &ExpireDeps) -> Result<Sweep, StoreError> {
    let (swept, round_trips) = count_round_trips(release_overdue(deps)).await;
    deps.metrics
        .round_trips(FUNCTION, round_trips, deps.clock.now());
    swept
}

async fn release_overdue(deps: &ExpireDeps) -> Result<Sweep, StoreError> {
    let mut done = Sweep::default();
    for _ in 0..MAX_BATCHES {
        let now = deps.clock.now();
        let overdue = deps.store.overdue_payments(now, BATCH).await?;
        let full = overdue.len() == BATCH;
        let mut progressed = false;
        for payment in overdue {
            match deps
                .store
                .release(&payment, ReleaseReason::Expired, now)
                .await
            {
                Ok(expired) => {
                    deps.metrics
                        .payment_event(PaymentEvent::Expired, expired.amount, now);
                    done.expired += 1;
                    progressed = true;
                }
                Err(StoreError::Payment(PaymentError::NotPending(_))) => done.already_settled += 1,
                Err(e) => return Err(e),
            }
        }
        if !full || !progressed {
            tracing::info!(
                expired = done.expired,
                already_settled = done.already_settled,
                "sweep done"
            );
            return Ok(done);
        }
    }
    done.more = true;
    tracing::info!(expired = done.expired, "sweep stopped at its batch limit");
    Ok(done)
}
