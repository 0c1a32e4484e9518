//! Store traits, one small trait per capability, and their two adapters side by side:
//! [`memory::MemoryStore`] (the embedded default) and, with the `dynamodb` feature,
//! [`dynamodb::DynamoStore`]. Both keep the same promises, held to them by one contract suite:
//!
//! - every balance change is one atomic write that either fully happens or not at all;
//! - no account but a treasury ever has a negative `available`; holds respect the per-payment
//!   and daily outflow limits even under concurrency;
//! - a payment moves out of `pending` exactly once, capturing at most what it held;
//! - the refunds of a payment never add up to more than it captured, and never overdraw the
//!   payee;
//! - each account's `balance` equals the sum of its ledger entries, and all balances of a
//!   currency, treasury included, sum to zero.
//!
//! Operations take `now` from the caller's injected clock rather than reading time themselves.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{
    Account, AccountId, AccountPage, AccountQuery, ClientId, EntryPage, EntryQuery, Event, EventId,
    IdempotencyRecord, Money, Payment, PaymentId, PaymentPage, PaymentQuery, PostingMode, Refund,
    ReleaseReason, ReviewOutcome, StoreError, WebhookEndpointId,
    client::ClientRecord,
    event::{Delivery, EventPage, EventQuery},
    listing::reviews::{ReviewPage, ReviewQuery},
    risk::VelocityLimits,
    unposted::UnpostedCredit,
    webhook::WebhookEndpoint,
};

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod memory;

/// What creating a payment led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The payment was written, with its hold (or its capture, for a one-step payment).
    Created(Payment),
    /// The idempotency key was used before with the same request: answer as it was answered.
    Replayed(IdempotencyRecord),
}

/// What risk control asks of a new payment's write. A declined payment holds nothing and
/// ignores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RiskWrite {
    /// The limits the source account's velocity counters enforce, in the same write as the
    /// hold.
    pub velocity: VelocityLimits,
    /// What the payment's assessment assumed about its payee.
    pub payee: PayeeCheck,
}

/// Whether the source account has paid the destination before: the new-payee record
/// (`PAYEE#`), written with the first hold from one to the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PayeeCheck {
    /// Neither checked nor written (payments made outside the API's assessment: tools, tests).
    #[default]
    Unchecked,
    /// Assessed as a known payee: the record must exist
    /// ([`RiskError::PayeeAssumption`](crate::RiskError) otherwise, nothing written).
    Known,
    /// Assessed as a new payee: the record must not exist yet, and is written.
    New,
}

/// What refunding a payment led to. (One per request, moved once: its size does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The refund was posted; `payment` is the payment with its new refunded total.
    Created { refund: Refund, payment: Payment },
    /// The idempotency key was used before with the same request: answer as it was answered.
    Replayed(IdempotencyRecord),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// # Errors
    /// [`StoreError::DuplicateId`] if the id is taken.
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;

    /// One consistent read. Callers check ownership on what comes back.
    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;

    /// One page of `owner`'s customer accounts, with their balances, in id order
    /// ([`crate::listing::select_accounts`] defines the page). DynamoDB: one `Query` of the
    /// owner index, eventually consistent (an account opened a moment ago may be missing).
    ///
    /// # Errors
    /// [`StoreError::InvalidCursor`] when the query's cursor belongs to another owner.
    async fn accounts_of(
        &self,
        owner: &ClientId,
        query: &AccountQuery,
    ) -> Result<AccountPage, StoreError>;

    /// The owner of an account (accounts never change owner, so adapters may cache it). None if
    /// missing.
    async fn account_owner(&self, id: AccountId) -> Result<Option<ClientId>, StoreError>;
}

#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// One consistent read.
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError>;

    /// [`PaymentStore::create_assessed_payment`] with no velocity limit and no assumption about
    /// the payee.
    async fn create_payment(
        &self,
        payment: &Payment,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        self.create_assessed_payment(payment, idempotency, &RiskWrite::default(), now)
            .await
    }

    /// Writes `payment` with its idempotency record and its events in one atomic operation: a
    /// `pending` or `requires_review` payment places a hold on its source; a `succeeded` one (a
    /// one-step payment) is held and captured at once; a `declined` one is only recorded. A
    /// hold also moves the source's velocity counters within `risk.velocity` and checks or
    /// writes the new-payee record as `risk.payee` says (emitting a `risk.alert` for each limit
    /// it takes past 80 %). The source must belong to `payment.client_id`, the destination to
    /// `payment.payee`.
    ///
    /// # Errors
    /// A live record for the same key with another fingerprint gives
    /// [`IdempotencyError::KeyReused`](crate::IdempotencyError::KeyReused); otherwise every rule
    /// of [`Account::check_hold`] and [`Account::check_receive`], then
    /// [`RiskError::VelocityLimitExceeded`](crate::RiskError) and
    /// [`RiskError::PayeeAssumption`](crate::RiskError).
    async fn create_assessed_payment(
        &self,
        payment: &Payment,
        idempotency: &IdempotencyRecord,
        risk: &RiskWrite,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError>;

    /// Captures `amount` (1 to the held amount) of a pending payment (`payment` is the caller's
    /// read of it; the stored state decides): one debit, one credit, both balances, and the
    /// release of the rest of the hold (with its share of the day's outflow budget),
    /// atomically.
    ///
    /// # Errors
    /// [`PaymentError::NotPending`](crate::PaymentError::NotPending) with the payment as it
    /// stands, [`PaymentError::Expired`](crate::PaymentError::Expired) after releasing the hold
    /// of an overdue payment, [`PaymentError::CaptureExceedsHold`](crate::PaymentError) above
    /// the held amount.
    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError>;

    /// Posts `refund` of `payment` (the caller's read; the stored state decides) with its
    /// idempotency record, atomically: a debit of the payee's (destination) account, a credit
    /// of the payer's source account, the payment's refunded total and the refund item.
    ///
    /// # Errors
    /// The idempotency rules of [`PaymentStore::create_payment`];
    /// [`PaymentError::NotCaptured`](crate::PaymentError::NotCaptured) unless succeeded;
    /// [`PaymentError::RefundExceedsPayment`](crate::PaymentError::RefundExceedsPayment) with
    /// what is left; every rule of [`Account::check_refund`] on the payee's account and of
    /// [`Account::check_receive`] on the payer's.
    async fn create_refund(
        &self,
        payment: &Payment,
        refund: &Refund,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<RefundOutcome, StoreError>;

    /// The payment and its refunds, oldest first (DynamoDB: one Query on the payment's
    /// partition).
    async fn payment_with_refunds(
        &self,
        id: PaymentId,
    ) -> Result<Option<(Payment, Vec<Refund>)>, StoreError>;

    /// Releases the hold of a pending payment: canceled by its owner, or expired when overdue.
    ///
    /// # Errors
    /// [`PaymentError::NotPending`](crate::PaymentError::NotPending) with the payment as it
    /// stands.
    async fn release(
        &self,
        payment: &Payment,
        reason: ReleaseReason,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError>;

    /// Applies an operator's review to a payment in review (`payment` is the caller's read;
    /// the stored state decides), atomically and exactly once, with its events: approved, it
    /// becomes pending (or, created with `confirm: true`, is captured whole as a confirm would
    /// capture it); declined, its hold is released as a cancel releases it.
    ///
    /// # Errors
    /// [`PaymentError::NotInReview`](crate::PaymentError::NotInReview) with the payment as it
    /// stands (a second decision); [`PaymentError::Expired`](crate::PaymentError::Expired)
    /// after releasing the hold of an overdue one.
    async fn review(
        &self,
        payment: &Payment,
        outcome: &ReviewOutcome,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError>;

    /// One page of the payments in review across all clients, oldest first. DynamoDB: one
    /// `Query` of the sparse reviews index (eventually consistent).
    async fn reviews(&self, query: &ReviewQuery) -> Result<ReviewPage, StoreError>;

    /// Pending payments whose window closed at or before `now`, oldest deadline first.
    async fn overdue_payments(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError>;

    /// One page of a client's payments as payer or payee, newest first
    /// ([`crate::listing::select_payments`] defines the page). DynamoDB: one `Query` of the
    /// party's index (none for an empty time range), eventually consistent (a payment made or
    /// settled a moment ago may be missing or show its previous status).
    ///
    /// # Errors
    /// [`StoreError::InvalidCursor`] when the query's cursor was issued for another client,
    /// role or filters.
    async fn payments(&self, query: &PaymentQuery) -> Result<PaymentPage, StoreError>;
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Moves `amount` from the currency's treasury into `account` (a funding payment with its
    /// debit and credit), creating the treasury on first use.
    async fn fund(
        &self,
        account: AccountId,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError>;

    /// One page of the account's ledger entries, newest first. Ownership is the caller's check.
    async fn entries(
        &self,
        account: AccountId,
        query: &EntryQuery,
    ) -> Result<EntryPage, StoreError>;
}

/// An account with what it has coming: one consistent cut of the account and the sum of its
/// unposted credits (0 for an immediate account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub account: Account,
    /// Captured into the account but not posted yet: not in `balance`, not spendable.
    pub incoming: i64,
}

/// What one posting write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// How many credits it posted (0: there were none).
    pub credits: usize,
    /// When the oldest credit posted was captured (the posting lag is measured from it).
    pub oldest: Option<OffsetDateTime>,
    /// Whether the account has more unposted credits than this write took.
    pub more: bool,
}

/// Batched credit posting ([`crate::unposted`]): the poster's reads and writes, the balance
/// view with what is incoming, and the posting mode.
#[async_trait]
pub trait PostingStore: Send + Sync {
    /// The account and its incoming credits as of one instant: a credit is counted either in
    /// `balance` or in `incoming`, never in both or neither. DynamoDB: an immediate account is
    /// one `GetItem`; a batched one is a `GetItem`, one `Query` per credit shard, and a second
    /// `GetItem` that proves no posting happened in between (repeated if one did).
    async fn balance(&self, id: AccountId) -> Result<Option<Balance>, StoreError>;

    /// Sets the account's posting mode. A credit deferred on a read from before a switch to
    /// `immediate` is still posted by the poster.
    ///
    /// # Errors
    /// [`AccountError::NotFound`](crate::AccountError::NotFound) for a missing account or a
    /// treasury.
    /// Switching to `immediate` posts what was waiting.
    async fn set_posting(
        &self,
        id: AccountId,
        mode: PostingMode,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError>;

    /// Posts up to `max` (at most [`MAX_BATCH_CREDITS`](crate::unposted::MAX_BATCH_CREDITS)) of
    /// the account's oldest unposted credits in one atomic write: one credit entry each, with
    /// exact `balance_after`, and each credit deleted. Exactly once: racing posters and repeated
    /// calls never post a credit twice. DynamoDB: a `GetItem` with the shard `Query`s
    /// concurrently, then one `TransactWriteItems` (a lost race re-reads).
    async fn post_credits(
        &self,
        id: AccountId,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError>;

    /// Posts `credits` (the account's, as a trigger named them: a stream record carries the
    /// whole credit) in one write, in key order, without reading the credit shards; the
    /// trigger's credits are the account's newest. If any of them is gone already (another
    /// poster took it), posts from a fresh read instead, as [`PostingStore::post_credits`] with
    /// `max` = their number. DynamoDB: a `GetItem` and one `TransactWriteItems`.
    async fn post_known(
        &self,
        id: AccountId,
        credits: &[UnpostedCredit],
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError>;

    /// Up to `max` of the account's unposted credits, oldest key first (consistent).
    async fn unposted(&self, id: AccountId, max: usize) -> Result<Vec<UnpostedCredit>, StoreError>;

    /// Up to `limit` batched accounts in id order after `after`: what a sweep walks. DynamoDB:
    /// one `Query` of the sparse posting index (eventually consistent).
    async fn batched_accounts(
        &self,
        after: Option<AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, StoreError>;
}

/// OAuth client registrations, read by the token endpoint.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// # Errors
    /// [`StoreError::DuplicateId`] if the client id is taken.
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError>;

    /// One consistent read.
    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError>;

    /// Sets (or, with `None`, removes) a client's own risk rules: the client as it now stands,
    /// `None` if there is no such client (nothing written). DynamoDB: one conditional
    /// `UpdateItem`.
    async fn set_risk_rules(
        &self,
        id: &ClientId,
        rules: Option<&crate::RiskRules>,
    ) -> Result<Option<ClientRecord>, StoreError>;
}

/// Events, as the outbox wrote them with the changes they describe, and their deliveries.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// One page of `query.recipient`'s events, newest first, created within the last 30 days.
    /// DynamoDB: one `Query` of the `events-by-recipient` index.
    ///
    /// # Errors
    /// [`StoreError::InvalidCursor`] when the cursor was issued for another recipient or types.
    async fn events(&self, query: &EventQuery) -> Result<EventPage, StoreError>;

    /// The event with every endpoint's delivery record. DynamoDB: one `Query` of the event's
    /// partition.
    async fn event(&self, id: EventId) -> Result<Option<(Event, Vec<Delivery>)>, StoreError>;

    /// Writes `delivery` unless the stored record already has at least as many attempts (a
    /// slower duplicate worker never overwrites a newer state): `Ok(false)` when skipped
    /// (`Ok(true)` also when the stored record is exactly `delivery`). DynamoDB: one
    /// conditional `PutItem`.
    async fn record_delivery(
        &self,
        delivery: &Delivery,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Asks the notifier to deliver `event` again now, to one endpoint or to all of the
    /// recipient's: an outbox record (DynamoDB: a `resend` item its stream carries).
    async fn request_resend(
        &self,
        event: &Event,
        endpoint: Option<WebhookEndpointId>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// What registering a webhook endpoint led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointOutcome {
    Created(WebhookEndpoint),
    /// The idempotency key was used before with the same request: answer as it was answered.
    Replayed(IdempotencyRecord),
}

/// Clients' webhook endpoints.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Writes the endpoint and the idempotency record atomically; at most
    /// [`MAX_ENDPOINTS_PER_CLIENT`](crate::webhook::MAX_ENDPOINTS_PER_CLIENT) live endpoints per
    /// owner, enforced in the write.
    ///
    /// # Errors
    /// [`WebhookError::TooManyEndpoints`](crate::webhook::WebhookError::TooManyEndpoints); the
    /// idempotency rules of [`PaymentStore::create_payment`].
    async fn create_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<EndpointOutcome, StoreError>;

    /// One of `owner`'s endpoints (another client's is `None`, like a missing one).
    async fn endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Every live (not deleted) endpoint of `owner`, oldest first. DynamoDB: one `Query`.
    async fn endpoints_of(&self, owner: &ClientId) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Stores the rotated secrets of `endpoint` (as the caller changed them), conditioned on
    /// the stored endpoint being the one the caller read.
    async fn rotate_secret(
        &self,
        endpoint: &WebhookEndpoint,
        now: OffsetDateTime,
    ) -> Result<WebhookEndpoint, StoreError>;

    /// Stops deliveries to an endpoint that answered `410 Gone`. Idempotent.
    async fn disable_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Deleted by its owner: gone from lists and deliveries. `Ok(false)` if there was none.
    async fn delete_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// What the notifier and the webhook endpoints run on.
pub trait NotificationStore: EventStore + WebhookStore {}

impl<T: EventStore + WebhookStore> NotificationStore for T {}

/// Everything the endpoints need, as one object to inject.
pub trait Store: AccountStore + PaymentStore + LedgerStore + PostingStore + ClientStore {}

impl<T: AccountStore + PaymentStore + LedgerStore + PostingStore + ClientStore> Store for T {}

/// Validates a funding amount: positive, in the account's currency.
pub(crate) fn check_funding(account: &Account, amount: Money) -> Result<(), StoreError> {
    if amount.amount <= 0 {
        return Err(crate::MoneyError::NotPositive.into());
    }
    Ok(account.check_receive(amount.currency)?)
}
