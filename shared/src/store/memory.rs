//! The embedded store: everything in one process, no dependencies. Each operation runs under one
//! lock from its first check to its last write, which gives it the same all-or-nothing semantics
//! the DynamoDB adapter gets from `TransactWriteItems`; the events a change emits are written
//! under the same lock (`events`).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Mutex, MutexGuard},
};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    AccountStore, ClientStore, LedgerStore, PayeeCheck, PaymentOutcome, PaymentStore,
    RefundOutcome, RiskWrite, check_funding,
};
use crate::{
    Account, AccountId, ClientId, EntryId, EntryPage, EntryQuery, Event, EventType, IdempotencyKey,
    IdempotencyRecord, LedgerEntry, Money, Payment, PaymentId, PaymentStatus, Refund, RefundId,
    ReleaseReason, ReviewOutcome, StoreError,
    account::AccountError,
    client::ClientRecord,
    idempotency::IdempotencyError,
    ledger::paginate,
    listing::{
        AccountPage, AccountQuery, PaymentPage, PaymentQuery,
        reviews::{ReviewPage, ReviewQuery, select_reviews},
        select_accounts, select_payments,
    },
    payment::PaymentError,
    risk::{
        RiskError,
        velocity::{self, Windows},
    },
    unposted::Settlement,
};

mod events;
mod posting;
mod refunds;
mod risk;
mod webhooks;

#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

/// The maps that grow with every payment are `BTreeMap`s: a `HashMap` doubles its table when
/// it fills, rehashing every entry under the store's one lock, and at a million payments that
/// stopped every request for over a second (the write path's tail; `docs/performance.md`). A
/// B-tree grows a node at a time.
#[derive(Debug, Default)]
struct State {
    accounts: HashMap<AccountId, Account>,
    payments: BTreeMap<PaymentId, Payment>,
    entries: BTreeMap<(AccountId, EntryId), LedgerEntry>,
    /// Refund ids are time-ordered, so each payment's refunds come out oldest first.
    refunds: BTreeMap<(PaymentId, RefundId), Refund>,
    idempotency: BTreeMap<IdempotencyKey, IdempotencyRecord>,
    clients: HashMap<ClientId, ClientRecord>,
    /// Events, written by the operations whose changes they report, and their deliveries.
    notifications: events::Notifications,
    /// Webhook endpoints by owner, each owner's oldest first.
    endpoints: BTreeMap<(ClientId, crate::WebhookEndpointId), crate::webhook::WebhookEndpoint>,
    /// Credits into batched accounts, waiting for the poster, and its work queue.
    posting: posting::Posting,
    /// Velocity counters and new-payee records.
    risk: risk::RiskState,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every operation validates before it mutates, so a panic cannot leave a half-write
        // behind and the state is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every account, for audits and tests.
    pub fn all_accounts(&self) -> Vec<Account> {
        self.state().accounts.values().cloned().collect()
    }

    /// Every payment, for audits and tests.
    pub fn all_payments(&self) -> Vec<Payment> {
        self.state().payments.values().cloned().collect()
    }
}

impl State {
    fn account(&self, id: AccountId) -> Result<&Account, StoreError> {
        self.accounts
            .get(&id)
            .ok_or(StoreError::Account(AccountError::NotFound(id)))
    }

    fn current_payment(&self, id: PaymentId) -> Result<&Payment, StoreError> {
        self.payments
            .get(&id)
            .ok_or(StoreError::Payment(PaymentError::NotFound(id)))
    }

    /// A live idempotency record of `key`: `Some(Ok(record))` to replay it, `Some(Err(_))` when
    /// the key was used for another request.
    fn previous(
        &self,
        record: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Option<Result<IdempotencyRecord, StoreError>> {
        let previous = self
            .idempotency
            .get(&record.key)
            .filter(|r| r.is_live(now))?;
        Some(if previous.matches(&record.fingerprint) {
            Ok(previous.clone())
        } else {
            Err(IdempotencyError::KeyReused.into())
        })
    }

    /// Applies a planned settlement: both entries, or the debit and an unposted credit. A debit
    /// lowers `available` too unless `debit_held` (a capture's debit: the hold already lowered
    /// it).
    fn settle(&mut self, settlement: Settlement, debit_held: bool) {
        match settlement {
            Settlement::Immediate(posting) => {
                self.apply_entry(posting.debit, debit_held);
                self.apply_entry(posting.credit, debit_held);
            }
            Settlement::Deferred(deferred) => {
                self.apply_entry(deferred.debit, debit_held);
                self.defer(deferred.credit);
            }
        }
    }

    /// Posts one entry to its account and the ledger.
    fn apply_entry(&mut self, entry: LedgerEntry, debit_held: bool) {
        if let Some(account) = self.accounts.get_mut(&entry.account_id) {
            account.balance = entry.balance_after;
            account.ledger_head = Some(entry.id);
            match entry.direction {
                crate::Direction::Credit => account.available += entry.amount.amount,
                crate::Direction::Debit if !debit_held => {
                    account.available -= entry.amount.amount;
                }
                crate::Direction::Debit => {}
            }
        }
        self.entries.insert((entry.account_id, entry.id), entry);
    }

    /// A hold acted on after its window closed (a late confirm or review): released as expired,
    /// with its event; the error to answer.
    fn expire_late(&mut self, current: &Payment, now: OffsetDateTime) -> StoreError {
        let expired = match current.release(ReleaseReason::Expired, now) {
            Ok(expired) => expired,
            Err(e) => return e.into(),
        };
        self.release_hold(current, current.amount.amount, now);
        self.emit(Event::for_payment(EventType::PaymentExpired, &expired, now));
        self.payments.insert(current.id, expired);
        PaymentError::Expired(current.id).into()
    }

    /// Gives `amount` of `payment`'s hold back to its source.
    fn release_hold(&mut self, payment: &Payment, amount: i64, now: OffsetDateTime) {
        if let Some(source) = self.accounts.get_mut(&payment.source) {
            source.apply_release(amount, payment.created_at.date(), now.date());
        }
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.accounts.contains_key(&account.id) {
            return Err(StoreError::DuplicateId(account.id.to_string()));
        }
        state.accounts.insert(account.id, account.clone());
        Ok(())
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.state().accounts.get(&id).cloned())
    }

    async fn accounts_of(
        &self,
        owner: &ClientId,
        query: &AccountQuery,
    ) -> Result<AccountPage, StoreError> {
        query.check_cursor(owner)?;
        Ok(select_accounts(
            owner,
            query,
            self.state().accounts.values(),
        ))
    }

    async fn account_owner(&self, id: AccountId) -> Result<Option<ClientId>, StoreError> {
        Ok(self.state().accounts.get(&id).map(|a| a.owner.clone()))
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.clients.contains_key(&client.client_id) {
            return Err(StoreError::DuplicateId(client.client_id.to_string()));
        }
        state
            .clients
            .insert(client.client_id.clone(), client.clone());
        Ok(())
    }

    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        Ok(self.state().clients.get(id).cloned())
    }

    async fn set_risk_rules(
        &self,
        id: &ClientId,
        rules: Option<&crate::RiskRules>,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let mut state = self.state();
        Ok(state.clients.get_mut(id).map(|client| {
            client.risk = rules.cloned();
            client.clone()
        }))
    }
}

#[async_trait]
impl PaymentStore for MemoryStore {
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.state().payments.get(&id).cloned())
    }

    async fn create_assessed_payment(
        &self,
        payment: &Payment,
        idempotency: &IdempotencyRecord,
        risk: &RiskWrite,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        let mut state = self.state();
        if let Some(previous) = state.previous(idempotency, now) {
            return previous.map(PaymentOutcome::Replayed);
        }
        if state.payments.contains_key(&payment.id) {
            return Err(StoreError::DuplicateId(payment.id.to_string()));
        }
        let pair = (payment.source, payment.destination);
        let known = state.risk.payees.contains(&pair);
        let assumed_wrong = match risk.payee {
            PayeeCheck::Known => !known,
            PayeeCheck::New => known,
            PayeeCheck::Unchecked => false,
        };
        if payment.status() == PaymentStatus::Declined {
            // Assessed on what is known of the payee, like any payment, but nothing is held or
            // recorded: the payment is kept for audit, with its answer. Its parties are still
            // the caller's and the payee's accounts.
            let currency = payment.amount.currency;
            state
                .account(payment.source)?
                .check_party(&payment.client_id, currency)?;
            state
                .account(payment.destination)?
                .check_payee(&payment.payee, currency)?;
            if assumed_wrong {
                return Err(RiskError::PayeeAssumption { known }.into());
            }
            state.payments.insert(payment.id, payment.clone());
            state
                .idempotency
                .insert(idempotency.key.clone(), idempotency.clone());
            state.emit(Event::for_creation(payment, &[], now));
            return Ok(PaymentOutcome::Created(payment.clone()));
        }
        // The hold's day is the payment's own, so its release finds the same day's budget.
        let today = payment.created_at.date();
        let source = state.account(payment.source)?;
        source.check_hold(&payment.client_id, payment.amount, today)?;
        let destination = state.account(payment.destination)?;
        destination.check_payee(&payment.payee, payment.amount.currency)?;
        let posting = match payment.status() {
            PaymentStatus::Pending | PaymentStatus::RequiresReview => None,
            PaymentStatus::Succeeded => Some(Settlement::plan(payment, source, destination, now)?),
            other => {
                return Err(StoreError::internal(format!(
                    "cannot create a payment in state {other}"
                )));
            }
        };
        let windows = Windows::at(payment.created_at);
        let velocity = velocity::plan(
            &risk.velocity,
            payment.source,
            state.risk.counts(payment.source, &windows),
            payment.amount.amount,
            &windows,
        )
        .map_err(RiskError::from)?;
        if assumed_wrong {
            return Err(RiskError::PayeeAssumption { known }.into());
        }
        if risk.payee != PayeeCheck::Unchecked {
            state.risk.payees.insert(pair);
        }
        state.risk.count(
            payment.source,
            &windows,
            &risk.velocity,
            payment.amount.amount,
        );
        if let Some(source) = state.accounts.get_mut(&payment.source) {
            source.apply_hold(payment.amount.amount, today);
        }
        if let Some(settlement) = posting {
            state.settle(settlement, true);
        }
        state.payments.insert(payment.id, payment.clone());
        state
            .idempotency
            .insert(idempotency.key.clone(), idempotency.clone());
        state.emit(Event::for_creation(payment, &velocity.alerts, now));
        Ok(PaymentOutcome::Created(payment.clone()))
    }

    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        let mut state = self.state();
        let current = state.current_payment(payment.id)?.clone();
        let captured = match current.capture(amount, now) {
            Err(PaymentError::Expired(_)) => return Err(state.expire_late(&current, now)),
            other => other?,
        };
        let settlement = Settlement::plan(
            &captured,
            state.account(captured.source)?,
            state.account(captured.destination)?,
            now,
        )?;
        state.settle(settlement, true);
        state.release_hold(&current, current.amount.amount - amount.amount, now);
        state.payments.insert(captured.id, captured.clone());
        state.emit(Event::for_payment(
            EventType::PaymentSucceeded,
            &captured,
            now,
        ));
        Ok(captured)
    }

    async fn create_refund(
        &self,
        payment: &Payment,
        refund: &Refund,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<RefundOutcome, StoreError> {
        self.state().refund(payment.id, refund, idempotency, now)
    }

    async fn payment_with_refunds(
        &self,
        id: PaymentId,
    ) -> Result<Option<(Payment, Vec<Refund>)>, StoreError> {
        Ok(self.state().payment_with_refunds(id))
    }

    async fn release(
        &self,
        payment: &Payment,
        reason: ReleaseReason,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        let mut state = self.state();
        let current = state.current_payment(payment.id)?.clone();
        let released = current.release(reason, now)?;
        state.release_hold(&current, current.amount.amount, now);
        state.payments.insert(released.id, released.clone());
        state.emit(Event::for_payment(
            EventType::released(reason),
            &released,
            now,
        ));
        Ok(released)
    }

    async fn review(
        &self,
        payment: &Payment,
        outcome: &ReviewOutcome,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        let mut state = self.state();
        let current = state.current_payment(payment.id)?.clone();
        let reviewed = match current.reviewed(outcome.clone(), now) {
            Err(PaymentError::Expired(_)) => return Err(state.expire_late(&current, now)),
            other => other?,
        };
        match reviewed.status() {
            PaymentStatus::Succeeded => {
                let settlement = Settlement::plan(
                    &reviewed,
                    state.account(reviewed.source)?,
                    state.account(reviewed.destination)?,
                    now,
                )?;
                state.settle(settlement, true);
            }
            PaymentStatus::Declined => {
                state.release_hold(&current, current.amount.amount, now);
            }
            _ => {}
        }
        state.payments.insert(reviewed.id, reviewed.clone());
        state.emit(Event::for_review(&reviewed, now));
        Ok(reviewed)
    }

    async fn reviews(&self, query: &ReviewQuery) -> Result<ReviewPage, StoreError> {
        Ok(select_reviews(query, self.state().payments.values()))
    }

    async fn overdue_payments(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let state = self.state();
        let mut overdue: Vec<Payment> = state
            .payments
            .values()
            .filter(|p| p.is_overdue(now))
            .cloned()
            .collect();
        overdue.sort_by_key(|p| (p.expires_at, p.id));
        overdue.truncate(limit);
        Ok(overdue)
    }

    async fn payments(&self, query: &PaymentQuery) -> Result<PaymentPage, StoreError> {
        query.check_cursor()?;
        Ok(select_payments(query, self.state().payments.values()))
    }
}

#[async_trait]
impl LedgerStore for MemoryStore {
    async fn fund(
        &self,
        account: AccountId,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        let mut state = self.state();
        let destination = state.account(account)?;
        check_funding(destination, amount)?;
        let treasury_id = Account::treasury_id(amount.currency);
        let treasury = state
            .accounts
            .entry(treasury_id)
            .or_insert_with(|| Account::treasury(amount.currency, now))
            .clone();
        let payment = Payment::funding(treasury_id, account, amount, now);
        let settlement = Settlement::plan(&payment, &treasury, state.account(account)?, now)?;
        if let Some(treasury) = state.accounts.get_mut(&treasury_id) {
            // The treasury holds nothing back: its available always equals its balance.
            treasury.available = settlement.debit().balance_after;
        }
        state.settle(settlement, true);
        state.payments.insert(payment.id, payment.clone());
        Ok(payment)
    }

    async fn entries(
        &self,
        account: AccountId,
        query: &EntryQuery,
    ) -> Result<EntryPage, StoreError> {
        let state = self.state();
        let Some((low, high)) = query.id_range() else {
            return Ok(EntryPage::empty());
        };
        let entries = state
            .entries
            .range((account, low)..=(account, high))
            .rev()
            .take(usize::from(query.limit) + 1)
            .map(|(_, entry)| entry.clone())
            .collect();
        Ok(paginate(account, entries, query.limit))
    }
}
