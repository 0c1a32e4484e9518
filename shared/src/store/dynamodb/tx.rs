//! Running one `TransactWriteItems`: its writes are added under the [`Role`] each plays, and a
//! cancellation comes back as [`Reasons`] addressed by those roles, never by position. Also the
//! mapping of SDK failures to store errors.

use aws_sdk_dynamodb::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
    operation::transact_write_items::TransactWriteItemsError,
    types::{CancellationReason, TransactWriteItem},
};

use super::{DynamoStore, attrs::Item};
use crate::StoreError;

/// Error codes that mean "not now": the request may succeed later, so they surface as 503s.
const UNAVAILABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// Maps an SDK error, kept whole as the failure's cause: unreachable, timed out or throttling →
/// `Unavailable`; anything else is a bug on our side (a malformed request) → `Internal`.
pub(crate) fn sdk_error<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown");
            UNAVAILABLE_CODES.contains(&code) || context.raw().status().is_server_error()
        }
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(err)
    } else {
        StoreError::internal(err)
    }
}

/// The part a write plays in a transaction: what its cancellation reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The paying account (a customer's, or a treasury that funds).
    Source,
    /// The receiving account.
    Destination,
    /// The payment item.
    Payment,
    /// The refund item.
    Refund,
    /// The source's ledger entry.
    DebitEntry,
    /// The destination's ledger entry.
    CreditEntry,
    /// The idempotency record of the request.
    IdempotencyRecord,
    /// The `i`-th event the change emits (the transactional outbox: an event is written in the
    /// same transaction as the change it reports, or not at all).
    Event(u8),
    /// A credit into a batched account, waiting for the poster.
    UnpostedCredit,
    /// The `i`-th credit entry of a posting batch.
    Entry(u8),
    /// The delete of the `i`-th unposted credit of a posting batch.
    Credit(u8),
    /// A webhook endpoint item.
    Endpoint,
    /// The count of a client's live webhook endpoints.
    EndpointCount,
    /// The source account's velocity counter of the hour.
    HourCounter,
    /// The source account's velocity counter of the day.
    DayCounter,
    /// The record that the source has paid the destination before.
    PayeeRecord,
}

/// The writes of one transaction, each under its role.
#[derive(Debug, Default)]
pub(crate) struct Transaction {
    writes: Vec<(Role, TransactWriteItem)>,
}

impl Transaction {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds writes, each under its role.
    pub fn with_all(self, writes: Vec<(Role, TransactWriteItem)>) -> Self {
        writes
            .into_iter()
            .fold(self, |tx, (role, write)| tx.with(role, write))
    }

    /// Adds the write that plays `role` (each role at most once).
    pub fn with(mut self, role: Role, write: TransactWriteItem) -> Self {
        debug_assert!(
            self.writes.iter().all(|(r, _)| *r != role),
            "{role:?} written twice"
        );
        self.writes.push((role, write));
        self
    }
}

/// The item a failed condition was evaluated against (DynamoDB's `ALL_OLD`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OldItem {
    /// There was no item with that key.
    Missing,
    Existing(Item),
}

/// Why one write of a cancelled transaction did (or did not) stop it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reason {
    /// This write did not stop the transaction.
    Fine,
    /// Its condition failed on the item as it was.
    ConditionFailed(OldItem),
    /// Another transaction was touching the item.
    Conflict,
    /// DynamoDB throttled the write: the code it gave.
    Throttled(String),
    /// Anything else: the code and message DynamoDB gave (a bug on our side, or a new code).
    Other(String),
}

impl Reason {
    /// Decodes one of DynamoDB's cancellation reasons.
    fn decode(reason: &CancellationReason) -> Self {
        match reason.code().unwrap_or("None") {
            "None" => Self::Fine,
            "ConditionalCheckFailed" => Self::ConditionFailed(match reason.item() {
                Some(item) => OldItem::Existing(item.clone()),
                None => OldItem::Missing,
            }),
            "TransactionConflict" => Self::Conflict,
            code @ ("ThrottlingError" | "ProvisionedThroughputExceeded") => {
                Self::Throttled(code.to_owned())
            }
            code => Self::Other(format!("{code}: {}", reason.message().unwrap_or_default())),
        }
    }
}

/// The reasons of a cancelled transaction, by the role of the write each is about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reasons(Vec<(Role, Reason)>);

impl Reasons {
    /// The reason about the write playing `role` (None if the transaction had no such write).
    pub fn get(&self, role: Role) -> Option<&Reason> {
        self.0
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, reason)| reason)
    }

    /// The old item, if the write playing `role` failed its condition.
    pub fn condition_failed(&self, role: Role) -> Option<&OldItem> {
        match self.get(role) {
            Some(Reason::ConditionFailed(old)) => Some(old),
            _ => None,
        }
    }

    /// Every reason, in the order of the writes.
    pub fn iter(&self) -> impl Iterator<Item = &Reason> {
        self.0.iter().map(|(_, reason)| reason)
    }
}

/// How a transaction ended.
#[derive(Debug)]
pub(crate) enum TxOutcome {
    Committed,
    Cancelled(Reasons),
}

impl DynamoStore {
    /// Runs one `TransactWriteItems`: one round trip, all or nothing.
    pub(crate) async fn transact(&self, tx: Transaction) -> Result<TxOutcome, StoreError> {
        let (roles, writes): (Vec<Role>, Vec<TransactWriteItem>) = tx.writes.into_iter().unzip();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(TxOutcome::Committed),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(sdk_error(err));
        };
        let reasons = cancelled.cancellation_reasons();
        // DynamoDB gives one reason per write, in order; anything else cannot be attributed.
        if reasons.len() != roles.len() {
            return Err(StoreError::internal(format!(
                "a cancelled transaction of {} writes came back with {} reasons",
                roles.len(),
                reasons.len()
            )));
        }
        Ok(TxOutcome::Cancelled(Reasons(
            roles
                .into_iter()
                .zip(reasons.iter().map(Reason::decode))
                .collect(),
        )))
    }
}
