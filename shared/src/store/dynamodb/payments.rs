//! Payments on DynamoDB: the hold, the one-step payment, capture, release and the overdue
//! sweep's query. Each balance change is one `TransactWriteItems`, which also puts the events
//! the change emits (`payment.created`, `payment.succeeded`); see the module docs of [`super`]
//! for the round trips each costs.

use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    DynamoStore, explain,
    expr::put_new,
    items::{idempotency_from, payment_from, payment_item},
    keys::{idempotency_key, idempotency_pk, payment_key},
    reads::found_account,
    retry::{Verdict, with_retries},
    risk::{
        counter_writes, counts_found, counts_reported, day_counter_key, hour_counter_key,
        payee_check, payee_key, payee_write, pk_of,
    },
    tx::{Role, Transaction, TxOutcome},
    updates::{AccountUpdate, idempotency_put, payment_capture},
};
use crate::{
    Event, EventType, IdempotencyRecord, Money, Payment, PaymentError, PaymentId, PaymentPage,
    PaymentQuery, PaymentStatus, Refund, ReleaseReason, ReviewOutcome, RiskError, StoreError,
    listing::reviews::{ReviewPage, ReviewQuery},
    risk::velocity::{self, Counts, VelocityPlan, Windows},
    store::{PayeeCheck, PaymentOutcome, PaymentStore, RefundOutcome, RiskWrite},
    unposted::Settlement,
};

impl Transaction {
    /// What a new payment's write adds for risk control: the velocity counters' updates, the
    /// payee record's check or put, and the payment's events (with a `risk.alert` per limit it
    /// takes past 80 %).
    fn with_risk(
        self,
        transactions: &str,
        payment: &Payment,
        risk: &RiskWrite,
        velocity: &VelocityPlan,
        windows: &Windows,
        now: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        self.with_all(counter_writes(
            transactions,
            payment.source,
            &risk.velocity,
            velocity,
            payment.amount.amount,
            windows,
        )?)
        .with_all(payee_write(transactions, payment, risk.payee)?)
        .with_events(
            transactions,
            &Event::for_creation(payment, &velocity.alerts, now),
        )
    }
}

impl DynamoStore {
    /// A payment that waits for its capture (pending, or in review): the hold on the source, a
    /// check that the destination can receive, the payment, the idempotency record, the
    /// velocity counters and the payee record, in one transaction.
    async fn hold(
        &self,
        payment: &Payment,
        record: &IdempotencyRecord,
        risk: &RiskWrite,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        // The hold's day is the payment's own, so its release finds the same day's budget.
        let today = payment.created_at.date();
        let currency = payment.amount.currency.code();
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        let windows = Windows::at(payment.created_at);
        let guess = Mutex::new(self.guesses.get(payment.source, &windows));
        with_retries(|| async {
            let counts = guess.lock().map(|g| *g).unwrap_or_default();
            let velocity = match velocity::plan(
                &risk.velocity,
                payment.source,
                counts,
                payment.amount.amount,
                &windows,
            ) {
                Ok(plan) => plan,
                // The guess (this sandbox's last sight of the counters, which only grow) says
                // no: read before refusing, so that a retry of a created payment replays it and
                // a source that is not the caller's is refused as such, telling nothing of it.
                Err(_) => {
                    return self
                        .refuse_over_limit(payment, record, risk, (&guess, &windows), now)
                        .await;
                }
            };
            let tx = Transaction::new()
                .with(
                    Role::Source,
                    AccountUpdate::of(payment.source)
                        .hold(payment, today)
                        .update(accounts)?,
                )
                .with(
                    Role::Destination,
                    AccountUpdate::of(payment.destination)
                        .receiving(currency)
                        .owned_by(&payment.payee)
                        .check(accounts)?,
                )
                .with(Role::Payment, put_new(transactions, payment_item(payment))?)
                .with(
                    Role::IdempotencyRecord,
                    idempotency_put(transactions, record, now)?,
                )
                .with_risk(transactions, payment, risk, &velocity, &windows, now)?;
            self.create(tx, payment, record, risk, (&guess, counts, &windows))
                .await
        })
        .await
    }

    /// A hold the sandbox's guess of the counters refuses, decided on a read of the idempotency
    /// record, the source account and the counters (one `BatchGetItem`): a replay, the
    /// source's own refusal, or the velocity refusal by the counters as they are (or, if they
    /// allow it after all, a retry with them as the guess).
    async fn refuse_over_limit(
        &self,
        payment: &Payment,
        record: &IdempotencyRecord,
        risk: &RiskWrite,
        (guess, windows): (&Mutex<Counts>, &Windows),
        now: OffsetDateTime,
    ) -> Result<Verdict<PaymentOutcome>, StoreError> {
        let mut keys = vec![idempotency_key(&record.key)];
        if risk.velocity.counts_hour() {
            keys.push(hour_counter_key(payment.source, windows));
        }
        if risk.velocity.counts_day() {
            keys.push(day_counter_key(payment.source, windows));
        }
        let found = self.batch_get(&[payment.source], keys).await?;
        if let Some(previous) = found
            .get(&idempotency_pk(&record.key))
            .map(idempotency_from)
            .transpose()?
            && previous.is_live(now)
        {
            return Ok(explain::previous_request(previous, record, || {
                PaymentOutcome::Created(payment.clone())
            }));
        }
        let source = found_account(&found, payment.source)?;
        source.check_hold(
            &payment.client_id,
            payment.amount,
            payment.created_at.date(),
        )?;
        let counts = counts_found(&found, payment.source, windows)?;
        self.guesses.set(payment.source, windows, counts);
        if let Ok(mut guess) = guess.lock() {
            *guess = counts;
        }
        match velocity::plan(
            &risk.velocity,
            payment.source,
            counts,
            payment.amount.amount,
            windows,
        ) {
            Err(e) => Ok(Verdict::Done(Err(RiskError::from(e).into()))),
            Ok(_) => Ok(Verdict::Retry),
        }
    }

    /// Runs a new payment's transaction and explains a cancellation, in the order a client
    /// would want to hear it: the idempotency record, the accounts' rules, then the velocity
    /// counters (their values as they are become the next attempt's guess, and the sandbox's)
    /// and the payee record.
    async fn create(
        &self,
        tx: Transaction,
        payment: &Payment,
        record: &IdempotencyRecord,
        risk: &RiskWrite,
        (guess, counts, windows): (&Mutex<Counts>, Counts, &Windows),
    ) -> Result<Verdict<PaymentOutcome>, StoreError> {
        let today = payment.created_at.date();
        let created = || PaymentOutcome::Created(payment.clone());
        let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
            if !risk.velocity.is_empty() {
                let after = counts.after(payment.amount.amount, &risk.velocity);
                self.guesses.set(payment.source, windows, after);
            }
            return Ok(Verdict::Done(Ok(created())));
        };
        if explain::committed_before(&reasons) {
            return Ok(Verdict::Done(Ok(created())));
        }
        if let Some(verdict) = explain::record(&reasons, record, created) {
            return Ok(verdict);
        }
        if reasons.condition_failed(Role::Payment).is_some() {
            return Ok(Verdict::Done(Err(StoreError::DuplicateId(
                payment.id.to_string(),
            ))));
        }
        // Account conditions that fail only on the ledger head mean a concurrent posting: the
        // next attempt re-reads and re-plans.
        if let Some(e) = explain::parties(&reasons, payment, today) {
            return Ok(Verdict::Done(Err(e)));
        }
        if let Some(actual) = counts_reported(&reasons, counts)? {
            if let Ok(mut guess) = guess.lock() {
                *guess = actual;
            }
            self.guesses.set(payment.source, windows, actual);
            return Ok(Verdict::Retry);
        }
        if reasons.condition_failed(Role::PayeeRecord).is_some() {
            let known = risk.payee == PayeeCheck::New;
            return Ok(Verdict::Done(Err(
                RiskError::PayeeAssumption { known }.into()
            )));
        }
        Ok(explain::retry_or_fail(&reasons))
    }

    /// A payment risk control declined: recorded with its idempotency record (the 422 it was
    /// answered with) and its `payment.declined` event; nothing is held.
    async fn record_declined(
        &self,
        payment: &Payment,
        record: &IdempotencyRecord,
        check: PayeeCheck,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        let currency = payment.amount.currency;
        with_retries(|| async {
            let tx = Transaction::new()
                .with(
                    Role::Source,
                    AccountUpdate::of(payment.source)
                        .receiving(currency.code())
                        .owned_by(&payment.client_id)
                        .check(accounts)?,
                )
                .with(
                    Role::Destination,
                    AccountUpdate::of(payment.destination)
                        .receiving(currency.code())
                        .owned_by(&payment.payee)
                        .check(accounts)?,
                )
                .with(Role::Payment, put_new(transactions, payment_item(payment))?)
                .with(
                    Role::IdempotencyRecord,
                    idempotency_put(transactions, record, now)?,
                )
                .with_all(payee_check(transactions, payment, check)?)
                .with_events(transactions, &Event::for_creation(payment, &[], now))?;
            let created = || PaymentOutcome::Created(payment.clone());
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(created())));
            };
            if explain::committed_before(&reasons) {
                return Ok(Verdict::Done(Ok(created())));
            }
            if let Some(verdict) = explain::record(&reasons, record, created) {
                return Ok(verdict);
            }
            if reasons.condition_failed(Role::Payment).is_some() {
                return Ok(Verdict::Done(Err(StoreError::DuplicateId(
                    payment.id.to_string(),
                ))));
            }
            let source = reasons.condition_failed(Role::Source).and_then(|old| {
                explain::account(old, payment.source, |a| {
                    a.check_party(&payment.client_id, currency)
                })
            });
            let destination = reasons.condition_failed(Role::Destination).and_then(|old| {
                explain::account(old, payment.destination, |a| {
                    a.check_payee(&payment.payee, currency)
                })
            });
            if let Some(e) = source.or(destination) {
                return Ok(Verdict::Done(Err(e)));
            }
            if reasons.condition_failed(Role::PayeeRecord).is_some() {
                let known = check == PayeeCheck::New;
                return Ok(Verdict::Done(Err(
                    RiskError::PayeeAssumption { known }.into()
                )));
            }
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }

    /// A one-step payment: read both accounts (with the idempotency record, the velocity
    /// counters and the payee record), then hold and capture in one transaction conditioned on
    /// both ledger heads.
    async fn pay_at_once(
        &self,
        payment: &Payment,
        record: &IdempotencyRecord,
        risk: &RiskWrite,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        // The hold's day is the payment's own, so its release finds the same day's budget.
        let today = payment.created_at.date();
        let currency = payment.amount.currency.code();
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        let windows = Windows::at(payment.created_at);
        let guess = Mutex::new(Counts::default());
        with_retries(|| async {
            let parties = [payment.source, payment.destination];
            let mut keys = vec![idempotency_key(&record.key)];
            if risk.velocity.counts_hour() {
                keys.push(hour_counter_key(payment.source, &windows));
            }
            if risk.velocity.counts_day() {
                keys.push(day_counter_key(payment.source, &windows));
            }
            let payee = payee_key(payment.source, payment.destination);
            if risk.payee != PayeeCheck::Unchecked {
                keys.push(payee.clone());
            }
            let found = self.batch_get(&parties, keys).await?;
            let previous = found.get(&idempotency_pk(&record.key));
            if let Some(previous) = previous.map(idempotency_from).transpose()?
                && previous.is_live(now)
            {
                return Ok(explain::previous_request(previous, record, || {
                    PaymentOutcome::Created(payment.clone())
                }));
            }
            let source = found_account(&found, payment.source)?;
            source.check_hold(&payment.client_id, payment.amount, today)?;
            let destination = found_account(&found, payment.destination)?;
            destination.check_payee(&payment.payee, payment.amount.currency)?;
            let counts = counts_found(&found, payment.source, &windows)?;
            let velocity = match velocity::plan(
                &risk.velocity,
                payment.source,
                counts,
                payment.amount.amount,
                &windows,
            ) {
                Ok(plan) => plan,
                Err(e) => return Ok(Verdict::Done(Err(RiskError::from(e).into()))),
            };
            let known = found.contains_key(&pk_of(&payee));
            match risk.payee {
                PayeeCheck::Known if !known => {
                    return Ok(Verdict::Done(Err(RiskError::PayeeAssumption {
                        known: false,
                    }
                    .into())));
                }
                PayeeCheck::New if known => {
                    return Ok(Verdict::Done(Err(RiskError::PayeeAssumption {
                        known: true,
                    }
                    .into())));
                }
                _ => {}
            }
            let settlement = Settlement::plan(payment, &source, &destination, now)?;
            let tx = Transaction::new()
                .with(
                    Role::Source,
                    AccountUpdate::of(payment.source)
                        .hold(payment, today)
                        .debit_held(settlement.debit(), &source)
                        .update(accounts)?,
                )
                .with_settlement(
                    &settlement,
                    Role::Destination,
                    AccountUpdate::of(payment.destination)
                        .receiving(currency)
                        .owned_by(&payment.payee),
                    &destination,
                    (accounts, transactions),
                )?
                .with(Role::Payment, put_new(transactions, payment_item(payment))?)
                .with(
                    Role::IdempotencyRecord,
                    idempotency_put(transactions, record, now)?,
                )
                .with_risk(transactions, payment, risk, &velocity, &windows, now)?;
            self.create(tx, payment, record, risk, (&guess, counts, &windows))
                .await
        })
        .await
    }

    /// Captures `amount` of `payment` and releases the rest of its hold: `Ok(Err(overdue))`
    /// when its window has closed (the hold is then still to be released).
    async fn try_capture(
        &self,
        payment: &Payment,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Result<Payment, Payment>, StoreError> {
        let rest = payment.amount.amount - amount.amount;
        let hold_day = payment.created_at.date();
        let restore_budget = hold_day == now.date();
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        with_retries(|| async {
            // The caller's read of the payment stands in for a fresh one: the write below is
            // conditioned on it still being pending, and a failed condition returns the
            // stored payment to explain. Only the accounts are read, for exact balances.
            let captured = match payment.capture(amount, now) {
                Ok(captured) => captured,
                Err(PaymentError::Expired(_)) => {
                    return Ok(Verdict::Done(Ok(Err(payment.clone()))));
                }
                // The copy may be stale (captured, canceled or refunded since it was read): the
                // stored payment decides, as it does in the memory store.
                Err(_) => {
                    let current = self
                        .payment(payment.id)
                        .await?
                        .ok_or(PaymentError::NotFound(payment.id))?;
                    let refusal = current
                        .capture(amount, now)
                        .err()
                        .unwrap_or_else(|| PaymentError::NotPending(Box::new(current)));
                    return Ok(Verdict::Done(Err(refusal.into())));
                }
            };
            let found = self
                .batch_get(&[payment.source, payment.destination], Vec::new())
                .await?;
            let source = found_account(&found, payment.source)?;
            let destination = found_account(&found, payment.destination)?;
            let settlement = Settlement::plan(&captured, &source, &destination, now)?;
            let tx = Transaction::new()
                .with(
                    Role::Payment,
                    payment_capture(transactions, payment.id, amount.amount, now)?,
                )
                .with(
                    Role::Source,
                    AccountUpdate::of(payment.source)
                        .debit_held(settlement.debit(), &source)
                        .release_rest(rest, hold_day, restore_budget)
                        .update(accounts)?,
                )
                .with_settlement(
                    &settlement,
                    Role::Destination,
                    AccountUpdate::of(payment.destination),
                    &destination,
                    (accounts, transactions),
                )?
                .with_events(
                    transactions,
                    &Event::for_payment(EventType::PaymentSucceeded, &captured, now),
                )?;
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(Ok(captured))));
            };
            if explain::committed_before(&reasons) {
                return Ok(Verdict::Done(Ok(Ok(captured))));
            }
            if let Some(e) = explain::payment(&reasons, payment.id, |p| p.capture(amount, now)) {
                return Ok(Verdict::Done(Err(e)));
            }
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }
}

#[async_trait]
impl PaymentStore for DynamoStore {
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        self.get(self.transactions_table(), payment_key(id))
            .await?
            .as_ref()
            .map(payment_from)
            .transpose()
    }

    async fn create_assessed_payment(
        &self,
        payment: &Payment,
        idempotency: &IdempotencyRecord,
        risk: &RiskWrite,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        match payment.status() {
            PaymentStatus::Pending | PaymentStatus::RequiresReview => {
                self.hold(payment, idempotency, risk, now).await
            }
            PaymentStatus::Succeeded => self.pay_at_once(payment, idempotency, risk, now).await,
            PaymentStatus::Declined => {
                self.record_declined(payment, idempotency, risk.payee, now)
                    .await
            }
            other => Err(StoreError::internal(format!(
                "cannot create a payment in state {}",
                other.as_str()
            ))),
        }
    }

    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        match self.try_capture(payment, amount, now).await? {
            Ok(captured) => Ok(captured),
            // Confirmed too late: release the hold now rather than wait for the sweep.
            Err(overdue) => {
                self.release(&overdue, ReleaseReason::Expired, now).await?;
                Err(PaymentError::Expired(overdue.id).into())
            }
        }
    }

    async fn create_refund(
        &self,
        payment: &Payment,
        refund: &Refund,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<RefundOutcome, StoreError> {
        self.refund(payment, refund, idempotency, now).await
    }

    async fn payment_with_refunds(
        &self,
        id: PaymentId,
    ) -> Result<Option<(Payment, Vec<Refund>)>, StoreError> {
        self.payment_and_refunds(id).await
    }

    async fn release(
        &self,
        payment: &Payment,
        reason: ReleaseReason,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        self.release_hold(payment, reason, now).await
    }

    async fn review(
        &self,
        payment: &Payment,
        outcome: &ReviewOutcome,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        self.review_payment(payment, outcome, now).await
    }

    async fn reviews(&self, query: &ReviewQuery) -> Result<ReviewPage, StoreError> {
        self.list_reviews(query).await
    }

    async fn overdue_payments(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.overdue(now, limit).await
    }

    async fn payments(&self, query: &PaymentQuery) -> Result<PaymentPage, StoreError> {
        self.list_payments(query).await
    }
}
