//! A store that fails every call with a chosen error: for proving that an unreachable or broken
//! backend becomes a clean problem response (503 with `Retry-After`, or a generic 500), never a
//! panic or a leak of internals.

use async_trait::async_trait;
use paygate_shared::{
    Account, AccountId, AccountPage, AccountQuery, ClientId, EntryPage, EntryQuery,
    IdempotencyRecord, Money, Payment, PaymentId, PaymentPage, PaymentQuery, PostingMode, Refund,
    ReleaseReason, ReviewOutcome, RiskRules, StoreError,
    client::ClientRecord,
    listing::reviews::{ReviewPage, ReviewQuery},
    store::{
        AccountStore, Balance, ClientStore, LedgerStore, PaymentOutcome, PaymentStore, Posted,
        PostingStore, RefundOutcome, RiskWrite,
    },
    unposted::UnpostedCredit,
};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct FailingStore(pub StoreError);

#[async_trait]
impl AccountStore for FailingStore {
    async fn create_account(&self, _: &Account) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    async fn account(&self, _: AccountId) -> Result<Option<Account>, StoreError> {
        Err(self.0.clone())
    }
    async fn account_owner(&self, _: AccountId) -> Result<Option<ClientId>, StoreError> {
        Err(self.0.clone())
    }
    async fn accounts_of(&self, _: &ClientId, _: &AccountQuery) -> Result<AccountPage, StoreError> {
        Err(self.0.clone())
    }
}

#[async_trait]
impl ClientStore for FailingStore {
    async fn create_client(&self, _: &ClientRecord) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    async fn client(&self, _: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        Err(self.0.clone())
    }
    async fn set_risk_rules(
        &self,
        _: &ClientId,
        _: Option<&RiskRules>,
    ) -> Result<Option<ClientRecord>, StoreError> {
        Err(self.0.clone())
    }
}

#[async_trait]
impl PaymentStore for FailingStore {
    async fn payment(&self, _: PaymentId) -> Result<Option<Payment>, StoreError> {
        Err(self.0.clone())
    }
    async fn create_assessed_payment(
        &self,
        _: &Payment,
        _: &IdempotencyRecord,
        _: &RiskWrite,
        _: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        Err(self.0.clone())
    }
    async fn review(
        &self,
        _: &Payment,
        _: &ReviewOutcome,
        _: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        Err(self.0.clone())
    }
    async fn reviews(&self, _: &ReviewQuery) -> Result<ReviewPage, StoreError> {
        Err(self.0.clone())
    }
    async fn capture(
        &self,
        _: &Payment,
        _: Money,
        _: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        Err(self.0.clone())
    }
    async fn create_refund(
        &self,
        _: &Payment,
        _: &Refund,
        _: &IdempotencyRecord,
        _: OffsetDateTime,
    ) -> Result<RefundOutcome, StoreError> {
        Err(self.0.clone())
    }
    async fn payment_with_refunds(
        &self,
        _: PaymentId,
    ) -> Result<Option<(Payment, Vec<Refund>)>, StoreError> {
        Err(self.0.clone())
    }
    async fn release(
        &self,
        _: &Payment,
        _: ReleaseReason,
        _: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        Err(self.0.clone())
    }
    async fn overdue_payments(
        &self,
        _: OffsetDateTime,
        _: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        Err(self.0.clone())
    }
    async fn payments(&self, _: &PaymentQuery) -> Result<PaymentPage, StoreError> {
        Err(self.0.clone())
    }
}

#[async_trait]
impl LedgerStore for FailingStore {
    async fn fund(&self, _: AccountId, _: Money, _: OffsetDateTime) -> Result<Payment, StoreError> {
        Err(self.0.clone())
    }
    async fn entries(&self, _: AccountId, _: &EntryQuery) -> Result<EntryPage, StoreError> {
        Err(self.0.clone())
    }
}

#[async_trait]
impl PostingStore for FailingStore {
    async fn balance(&self, _: AccountId) -> Result<Option<Balance>, StoreError> {
        Err(self.0.clone())
    }
    async fn set_posting(
        &self,
        _: AccountId,
        _: PostingMode,
        _: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        Err(self.0.clone())
    }
    async fn post_credits(
        &self,
        _: AccountId,
        _: usize,
        _: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        Err(self.0.clone())
    }
    async fn post_known(
        &self,
        _: AccountId,
        _: &[UnpostedCredit],
        _: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        Err(self.0.clone())
    }
    async fn unposted(&self, _: AccountId, _: usize) -> Result<Vec<UnpostedCredit>, StoreError> {
        Err(self.0.clone())
    }
    async fn batched_accounts(
        &self,
        _: Option<AccountId>,
        _: usize,
    ) -> Result<Vec<AccountId>, StoreError> {
        Err(self.0.clone())
    }
}
