//! The one error type of the ledger: every rule a payment can break, every way a store can fail.
//! Both adapters return exactly these variants for exactly the same situations (the contract
//! tests hold them to it); the HTTP layer maps each to one problem response.

use crate::{
    AccountId, AccountStatus, Payment, PaymentId, ids::IdError, money::Currency, money::MoneyError,
};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Missing, or owned by someone else: the two are indistinguishable on purpose.
    #[error("account {0} was not found")]
    AccountNotFound(AccountId),
    #[error("payment {0} was not found")]
    PaymentNotFound(PaymentId),
    #[error("account {account} is {status}", status = status.as_str())]
    AccountInactive {
        account: AccountId,
        status: AccountStatus,
    },
    #[error(
        "account {account} holds {account_currency}, not {payment_currency}",
        account_currency = account_currency.code(),
        payment_currency = payment_currency.code()
    )]
    CurrencyMismatch {
        account: AccountId,
        account_currency: Currency,
        payment_currency: Currency,
    },
    #[error("the source and destination are the same account {0}")]
    SameAccount(AccountId),
    #[error("account {account} has {available} available, {requested} requested")]
    InsufficientFunds {
        account: AccountId,
        available: i64,
        requested: i64,
    },
    #[error("account {account} accepts payments of at most {limit}, {requested} requested")]
    PerPaymentLimitExceeded {
        account: AccountId,
        limit: i64,
        requested: i64,
    },
    #[error("account {account} has {remaining} of its daily outflow left, {requested} requested")]
    DailyLimitExceeded {
        account: AccountId,
        remaining: i64,
        requested: i64,
    },
    /// The payment has already reached a final state (carried, so a retried confirm can answer
    /// with the payment as it stands).
    #[error("payment {} is {}, not pending", .0.id, .0.status().as_str())]
    PaymentNotPending(Box<Payment>),
    /// Confirmed after its window closed: the hold has been released.
    #[error("payment {0} expired before it was confirmed")]
    PaymentExpired(PaymentId),
    #[error("the idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this idempotency key is still being processed")]
    IdempotencyKeyInFlight,
    #[error("an item with id {0} already exists")]
    DuplicateId(String),
    #[error("the cursor is malformed or belongs to another listing")]
    InvalidCursor,
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Id(#[from] IdError),
    /// Too much contention on the same accounts: safe to retry later.
    #[error("the accounts are busy; retry the request")]
    Conflict,
    /// The backing store cannot be reached or is throttling: safe to retry later.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data: logged once, never shown to a client.
    #[error("internal store error: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether the same request may succeed if simply sent again later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Conflict | Self::Unavailable(_) | Self::IdempotencyKeyInFlight
        )
    }
}
