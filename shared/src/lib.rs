//! paygate's common crate: the money and ledger domain, the store traits with their DynamoDB and
//! in-memory adapters, and the small pieces every function shares (clock, ids).
//!
//! The domain speaks the payments domain's own words: an [`Account`] has a posted `balance` and an
//! `available` balance (posted minus holds); a [`Payment`] holds funds while `pending` and is then
//! captured (`succeeded`), `canceled` or `expired`; a capture posts exactly one debit and one
//! credit [`LedgerEntry`], and so does each [`Refund`] of a captured payment. Money is created
//! only by funding from the per-currency treasury, so the
//! sum of all balances, treasury included, is always exactly zero.

pub mod account;
#[cfg(feature = "http")]
pub mod api;
#[cfg(feature = "auth")]
pub mod auth;
#[cfg(any(feature = "dynamodb", feature = "secrets"))]
pub mod aws;
pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod ids;
pub mod ledger;
pub mod listing;
#[cfg(feature = "logging")]
pub mod logging;
pub mod metrics;
pub mod money;
#[cfg(feature = "notify")]
pub mod notify;
pub mod payment;
pub mod poster;
pub mod refund;
pub mod risk;
pub mod spelling;
pub mod store;
pub mod timefmt;
pub mod unposted;
pub mod views;
pub mod webhook;
pub mod wiring;

pub use account::{Account, AccountError, AccountKind, AccountLimits, AccountStatus, PostingMode};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{StoreError, StoreFailure};
pub use event::{Event, EventType};
pub use idempotency::{Fingerprint, IdempotencyError, IdempotencyKey, IdempotencyRecord};
pub use ids::{AccountId, ClientId, EntryId, EventId, PaymentId, RefundId, WebhookEndpointId};
pub use ledger::{Direction, EntryCursor, EntryPage, EntryQuery, InvalidCursor, LedgerEntry};
pub use listing::{
    AccountCursor, AccountPage, AccountQuery, PaymentCursor, PaymentPage, PaymentQuery,
};
pub use money::{AmountPolicy, Currency, Money, MoneyError};
pub use payment::{
    NewPayment, Party, Payment, PaymentError, PaymentKind, PaymentStatus, ReleaseReason,
    ReviewDecision, ReviewOutcome,
};
pub use refund::{Refund, RefundReason, RefundStatus};
pub use risk::{Decision, RiskAssessment, RiskError, RiskReason, RiskRules};
