//! Bounded, jittered backoff for transactions that lost a race (a `TransactionConflict`, or an
//! optimistic `ledger_head` condition that another writer invalidated), and the loop that
//! re-runs an operation's attempt until it reaches a verdict.

use std::time::Duration;

use crate::StoreError;

/// Attempts per operation, the first included. Eight attempts with full jitter between 5 ms and
/// 200 ms wait about half a second in the worst case: well inside a Lambda's budget.
const MAX_ATTEMPTS: u32 = 8;
const BASE: Duration = Duration::from_millis(5);
const CAP: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub(crate) struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// Waits before the next attempt; `false` when the attempts are used up.
    pub async fn wait(&mut self) -> bool {
        self.attempt += 1;
        if self.attempt >= MAX_ATTEMPTS {
            return false;
        }
        let ceiling = BASE.saturating_mul(1 << self.attempt.min(10)).min(CAP);
        let jittered = rand::random_range(0..=ceiling.as_micros() as u64);
        tokio::time::sleep(Duration::from_micros(jittered)).await;
        true
    }
}

/// What one attempt of an operation concluded.
pub(crate) enum Verdict<T> {
    Done(Result<T, StoreError>),
    /// Lost a race: read again and retry.
    Retry,
}

/// Runs `attempt` until it reaches a verdict, backing off between lost races; too many lost
/// races in a row are a [`StoreError::Conflict`].
pub(crate) async fn with_retries<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Verdict<T>, StoreError>>,
{
    let mut backoff = Backoff::default();
    loop {
        match attempt().await? {
            Verdict::Done(result) => return result,
            Verdict::Retry if backoff.wait().await => {}
            Verdict::Retry => return Err(StoreError::Conflict),
        }
    }
}
