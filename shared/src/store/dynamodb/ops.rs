//! The store operations on DynamoDB. Each balance change is one `TransactWriteItems`; see the
//! module docs of [`super`] for the round trips each costs.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::put_item::PutItemError,
    types::{AttributeValue, KeysAndAttributes},
};
use time::{Date, Duration, OffsetDateTime};

use super::{
    DynamoStore,
    items::{
        self, Item, account_from, account_item, account_key, account_pk, client_from, client_item,
        client_key, entry_from, entry_item, entry_sort_key, idempotency_from, idempotency_item,
        idempotency_key, idempotency_pk, n, outflow_attribute, payment_from, payment_item,
        payment_key, s, timestamp,
    },
    retry::Backoff,
    schema::{PENDING_INDEX, PENDING_SHARDS},
    tx::{Expr, Reason, TxOutcome, failed_at, put_new, residual, sdk_error},
};
use crate::{
    Account, AccountId, AccountKind, ClientId, EntryPage, EntryQuery, IdempotencyRecord, Money,
    Payment, PaymentId, PaymentStatus, ReleaseReason, StoreError,
    account::AccountError,
    client::ClientRecord,
    idempotency::IdempotencyError,
    ledger::{Posting, paginate},
    payment::PaymentError,
    store::{AccountStore, ClientStore, LedgerStore, PaymentOutcome, PaymentStore, check_funding},
};

/// What one attempt of an operation concluded.
enum Verdict<T> {
    Done(Result<T, StoreError>),
    /// Lost a race: read again and retry.
    Retry,
}

/// Days of stale outflow attributes dropped by each hold. Starting two days back (not one) means
/// that a release on the hold's day always finds that day's attribute, even across a clock skew
/// of a day between sandboxes.
const OUTFLOW_PRUNE_FROM_DAYS_AGO: i64 = 2;
const OUTFLOW_PRUNE_DAYS: i64 = 7;

const HOLD_CONDITION: &str = "attribute_exists(#pk) AND #owner = :client AND #kind = :customer \
    AND #currency = :currency AND #status = :active AND #per_payment_limit >= :amount \
    AND #available >= :amount \
    AND ((attribute_not_exists(#out) AND #daily_limit >= :amount) OR #out >= :amount)";
const RECEIVE_CONDITION: &str =
    "attribute_exists(#pk) AND #kind = :customer AND #currency = :currency AND #status = :active";

/// Condition that the account's ledger is where we read it: `balance_after` stays exact.
fn head_condition(account: &Account) -> (&'static str, AttributeValue) {
    match account.ledger_head {
        Some(head) => ("#ledger_head = :head", s(head.to_string())),
        None => (
            "attribute_not_exists(#ledger_head) AND :head = :head",
            s(""),
        ),
    }
}

fn receive_values(expr: Expr, currency: &str) -> Expr {
    expr.value(":customer", s(AccountKind::Customer.as_str()))
        .value(":currency", s(currency))
        .value(":active", s(crate::AccountStatus::Active.as_str()))
}

impl DynamoStore {
    fn accounts_table(&self) -> &str {
        &self.tables.accounts
    }

    fn transactions_table(&self) -> &str {
        &self.tables.transactions
    }

    async fn get(&self, table: &str, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.item)
    }

    /// One consistent `BatchGetItem` across both tables (more only if DynamoDB leaves keys
    /// unprocessed under throttling). Returns the items found, keyed by `pk`.
    async fn batch_get(
        &self,
        accounts: &[AccountId],
        transactions: Vec<Item>,
    ) -> Result<HashMap<String, Item>, StoreError> {
        let mut request = HashMap::new();
        let keys = |keys: Vec<Item>| {
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(StoreError::internal)
        };
        let mut account_keys: Vec<Item> = accounts.iter().map(|id| account_key(*id)).collect();
        account_keys.dedup();
        if !account_keys.is_empty() {
            request.insert(self.accounts_table().to_owned(), keys(account_keys)?);
        }
        if !transactions.is_empty() {
            request.insert(self.transactions_table().to_owned(), keys(transactions)?);
        }
        let mut found = HashMap::new();
        let mut backoff = Backoff::default();
        while !request.is_empty() {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(sdk_error)?;
            for item in output.responses.unwrap_or_default().into_values().flatten() {
                if let Some(AttributeValue::S(pk)) = item.get("pk") {
                    found.insert(pk.clone(), item);
                }
            }
            request = output.unprocessed_keys.unwrap_or_default();
            if !request.is_empty() && !backoff.wait().await {
                return Err(StoreError::unavailable("batch reads left unprocessed"));
            }
        }
        Ok(found)
    }

    /// Runs `attempt` until it reaches a verdict, backing off between lost races.
    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Verdict<T>, StoreError>>,
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

    /// The update that places a hold on the source account: every rule of
    /// [`Account::check_hold`] as a condition, the daily budget drawn down in the same write.
    fn hold_update(
        &self,
        payment: &Payment,
        today: Date,
        extra_set: &str,
        extra_condition: &str,
        extra: impl FnOnce(Expr) -> Expr,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let mut expr = receive_values(Expr::new(), payment.amount.currency.code())
            .value(":client", s(payment.client_id.as_str()))
            .value(":amount", n(payment.amount.amount))
            .alias("#out", outflow_attribute(today));
        let mut removes = Vec::new();
        for i in 0..OUTFLOW_PRUNE_DAYS {
            let placeholder = format!("#stale{i}");
            let day = today - Duration::days(OUTFLOW_PRUNE_FROM_DAYS_AGO + i);
            expr = expr.alias(&placeholder, outflow_attribute(day));
            removes.push(placeholder);
        }
        let update = format!(
            "SET #available = #available - :amount, #out = if_not_exists(#out, #daily_limit) - :amount{extra_set} REMOVE {}",
            removes.join(", ")
        );
        extra(expr).update(
            self.accounts_table(),
            account_key(payment.source),
            &update,
            &format!("{HOLD_CONDITION}{extra_condition}"),
        )
    }

    /// The idempotency record's put: refused while a live record holds the key.
    fn idempotency_put(
        &self,
        record: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        Expr::new().value(":now", s(timestamp(now))).put(
            self.transactions_table(),
            idempotency_item(record),
            "attribute_not_exists(#pk) OR #expires_at <= :now",
        )
    }

    /// What the idempotency record's reason (item `index`) says, if anything: a replay, a
    /// reused key, or a key whose first request is being written this very moment.
    fn explain_record(
        reasons: &[Reason],
        index: usize,
        record: &IdempotencyRecord,
    ) -> Option<Verdict<PaymentOutcome>> {
        if let Some(old) = failed_at(reasons, index) {
            return Some(Self::explain_idempotency(old, record));
        }
        matches!(reasons.get(index), Some(Reason::Conflict))
            .then_some(Verdict::Done(Err(IdempotencyError::KeyInFlight.into())))
    }

    /// Explains a failed idempotency condition: a replay, or a reused key.
    fn explain_idempotency(
        old: Option<&Item>,
        record: &IdempotencyRecord,
    ) -> Verdict<PaymentOutcome> {
        match old.map(idempotency_from) {
            Some(Ok(previous)) if previous.matches(&record.fingerprint) => {
                Verdict::Done(Ok(PaymentOutcome::Replayed(previous)))
            }
            Some(Ok(_)) => Verdict::Done(Err(IdempotencyError::KeyReused.into())),
            Some(Err(e)) => Verdict::Done(Err(e)),
            None => Verdict::Retry,
        }
    }

    /// Explains failed conditions on a payment's source (item 0) and destination (item 1): the
    /// first rule the stored accounts break, if any (else the failure was a lost race).
    fn explain_parties(reasons: &[Reason], payment: &Payment, today: Date) -> Option<StoreError> {
        let source = failed_at(reasons, 0).and_then(|old| {
            let check = |a: &Account| a.check_hold(&payment.client_id, payment.amount, today);
            Self::explain_account(old, payment.source, check)
        });
        source.or_else(|| {
            failed_at(reasons, 1).and_then(|old| {
                let check = |a: &Account| a.check_receive(payment.amount.currency);
                Self::explain_account(old, payment.destination, check)
            })
        })
    }

    /// Explains a failed source/destination condition with the domain's own checks.
    fn explain_account<E: Into<StoreError>>(
        old: Option<&Item>,
        id: AccountId,
        check: impl FnOnce(&Account) -> Result<(), E>,
    ) -> Option<StoreError> {
        let Some(old) = old else {
            return Some(AccountError::NotFound(id).into());
        };
        match account_from(old) {
            Ok(account) => check(&account).err().map(Into::into),
            Err(e) => Some(e),
        }
    }

    async fn hold(
        &self,
        payment: &Payment,
        record: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        // The hold's day is the payment's own, so its release finds the same day's budget.
        let today = payment.created_at.date();
        let currency = payment.amount.currency.code();
        self.with_retries(|| async {
            let items = vec![
                self.hold_update(payment, today, "", "", |e| e)?,
                receive_values(Expr::new(), currency).check(
                    self.accounts_table(),
                    account_key(payment.destination),
                    RECEIVE_CONDITION,
                )?,
                put_new(self.transactions_table(), payment_item(payment))?,
                self.idempotency_put(record, now)?,
            ];
            let TxOutcome::Cancelled(reasons) = self.transact(items).await? else {
                return Ok(Verdict::Done(Ok(PaymentOutcome::Created(payment.clone()))));
            };
            if let Some(verdict) = Self::explain_record(&reasons, 3, record) {
                return Ok(verdict);
            }
            if let Some(e) = Self::explain_parties(&reasons, payment, today) {
                return Ok(Verdict::Done(Err(e)));
            }
            if failed_at(&reasons, 2).is_some() {
                return Ok(Verdict::Done(Err(StoreError::DuplicateId(
                    payment.id.to_string(),
                ))));
            }
            Ok(residual(&reasons).map_or(Verdict::Retry, |e| Verdict::Done(Err(e))))
        })
        .await
    }

    /// A one-step payment: read both accounts (and the idempotency record), then hold and
    /// capture in one transaction conditioned on both ledger heads.
    async fn pay_at_once(
        &self,
        payment: &Payment,
        record: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        // The hold's day is the payment's own, so its release finds the same day's budget.
        let today = payment.created_at.date();
        let currency = payment.amount.currency.code();
        self.with_retries(|| async {
            let found = self
                .batch_get(&[payment.source, payment.destination], vec![idempotency_key(&record.key)])
                .await?;
            if let Some(previous) = found.get(&idempotency_pk(&record.key)).map(idempotency_from).transpose()?
                && previous.is_live(now)
            {
                    return Ok(Self::explain_idempotency(Some(&idempotency_item(&previous)), record));
            }
            let source = self.found_account(&found, payment.source)?;
            source.check_hold(&payment.client_id, payment.amount, today)?;
            let destination = self.found_account(&found, payment.destination)?;
            destination.check_receive(payment.amount.currency)?;
            let posting = Posting::plan(payment, &source, &destination, now)?;
            let (source_head, source_head_value) = head_condition(&source);
            let (dest_head, dest_head_value) = head_condition(&destination);
            let items = vec![
                self.hold_update(
                    payment,
                    today,
                    ", #balance = :balance, #ledger_head = :entry",
                    &format!(" AND {source_head}"),
                    |e| {
                        e.value(":balance", n(posting.debit.balance_after))
                            .value(":entry", s(posting.debit.id.to_string()))
                            .value(":head", source_head_value)
                    },
                )?,
                receive_values(Expr::new(), currency)
                    .value(":balance", n(posting.credit.balance_after))
                    .value(":amount", n(payment.amount.amount))
                    .value(":entry", s(posting.credit.id.to_string()))
                    .value(":head", dest_head_value)
                    .update(
                        self.accounts_table(),
                        account_key(payment.destination),
                        "SET #balance = :balance, #available = #available + :amount, #ledger_head = :entry",
                        &format!("{RECEIVE_CONDITION} AND {dest_head}"),
                    )?,
                put_new(self.transactions_table(), payment_item(payment))?,
                put_new(self.transactions_table(), entry_item(&posting.debit))?,
                put_new(self.transactions_table(), entry_item(&posting.credit))?,
                self.idempotency_put(record, now)?,
            ];
            let TxOutcome::Cancelled(reasons) = self.transact(items).await? else {
                return Ok(Verdict::Done(Ok(PaymentOutcome::Created(payment.clone()))));
            };
            if let Some(verdict) = Self::explain_record(&reasons, 5, record) {
                return Ok(verdict);
            }
            if failed_at(&reasons, 2).is_some() {
                return Ok(Verdict::Done(Err(StoreError::DuplicateId(payment.id.to_string()))));
            }
            // Account conditions that fail only on the ledger head mean a concurrent posting:
            // the next attempt re-reads and re-plans.
            if let Some(e) = Self::explain_parties(&reasons, payment, today) {
                return Ok(Verdict::Done(Err(e)));
            }
            Ok(residual(&reasons).map_or(Verdict::Retry, |e| Verdict::Done(Err(e))))
        })
        .await
    }

    fn found_account(
        &self,
        found: &HashMap<String, Item>,
        id: AccountId,
    ) -> Result<Account, StoreError> {
        found
            .get(&account_pk(id))
            .map(account_from)
            .transpose()?
            .ok_or_else(|| AccountError::NotFound(id).into())
    }

    /// The payment's state-change update, conditioned on it still being pending.
    fn payment_transition(
        &self,
        payment: &Payment,
        to: PaymentStatus,
        now: OffsetDateTime,
        extra_condition: &str,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        Expr::new()
            .value(":pending", s(PaymentStatus::Pending.as_str()))
            .value(":to", s(to.as_str()))
            .value(":now", s(timestamp(now)))
            .update(
                self.transactions_table(),
                payment_key(payment.id),
                "SET #status = :to, #updated_at = :now REMOVE #gsi1pk, #gsi1sk",
                &format!("#status = :pending{extra_condition}"),
            )
    }

    /// Explains a failed payment condition by replaying the transition on the stored state.
    fn explain_payment<T>(
        old: Option<&Item>,
        id: PaymentId,
        transition: impl FnOnce(&Payment) -> Result<T, PaymentError>,
    ) -> Option<StoreError> {
        let Some(old) = old else {
            return Some(PaymentError::NotFound(id).into());
        };
        match payment_from(old) {
            Ok(current) => transition(&current).err().map(Into::into),
            Err(e) => Some(e),
        }
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        self.put_new_item(
            self.accounts_table(),
            account_item(account),
            account.id.to_string(),
        )
        .await
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.get(self.accounts_table(), account_key(id))
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }
}

#[async_trait]
impl ClientStore for DynamoStore {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        self.put_new_item(
            self.accounts_table(),
            client_item(client),
            client.client_id.to_string(),
        )
        .await
    }

    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        self.get(self.accounts_table(), client_key(id))
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
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

    async fn create_payment(
        &self,
        payment: &Payment,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<PaymentOutcome, StoreError> {
        match payment.status() {
            PaymentStatus::Pending => self.hold(payment, idempotency, now).await,
            PaymentStatus::Succeeded => self.pay_at_once(payment, idempotency, now).await,
            other => Err(StoreError::internal(format!(
                "cannot create a payment in state {}",
                other.as_str()
            ))),
        }
    }

    async fn capture(&self, payment: &Payment, now: OffsetDateTime) -> Result<Payment, StoreError> {
        let outcome = self
            .with_retries(|| async {
                // The caller's read of the payment stands in for a fresh one: the write below is
                // conditioned on it still being pending, and a failed condition returns the
                // stored payment to explain. Only the accounts are read, for exact balances.
                let captured = match payment.capture(now) {
                    Ok(captured) => captured,
                    Err(PaymentError::Expired(_)) => {
                        return Ok(Verdict::Done(Ok(Err(payment.clone()))));
                    }
                    Err(e) => return Ok(Verdict::Done(Err(e.into()))),
                };
                let found = self
                    .batch_get(&[payment.source, payment.destination], Vec::new())
                    .await?;
                let source = self.found_account(&found, payment.source)?;
                let destination = self.found_account(&found, payment.destination)?;
                let posting = Posting::plan(&captured, &source, &destination, now)?;
                let (source_head, source_head_value) = head_condition(&source);
                let (dest_head, dest_head_value) = head_condition(&destination);
                let items = vec![
                    self.payment_transition(payment, PaymentStatus::Succeeded, now, "")?,
                    Expr::new()
                        .value(":balance", n(posting.debit.balance_after))
                        .value(":entry", s(posting.debit.id.to_string()))
                        .value(":head", source_head_value)
                        .update(
                            self.accounts_table(),
                            account_key(payment.source),
                            "SET #balance = :balance, #ledger_head = :entry",
                            source_head,
                        )?,
                    Expr::new()
                        .value(":balance", n(posting.credit.balance_after))
                        .value(":amount", n(payment.amount.amount))
                        .value(":entry", s(posting.credit.id.to_string()))
                        .value(":head", dest_head_value)
                        .update(
                            self.accounts_table(),
                            account_key(payment.destination),
                            "SET #balance = :balance, #available = #available + :amount, #ledger_head = :entry",
                            dest_head,
                        )?,
                    put_new(self.transactions_table(), entry_item(&posting.debit))?,
                    put_new(self.transactions_table(), entry_item(&posting.credit))?,
                ];
                let TxOutcome::Cancelled(reasons) = self.transact(items).await? else {
                    return Ok(Verdict::Done(Ok(Ok(captured))));
                };
                if let Some(old) = failed_at(&reasons, 0)
                    && let Some(e) = Self::explain_payment(old, payment.id, |p| p.capture(now))
                {
                        return Ok(Verdict::Done(Err(e)));
                }
                Ok(residual(&reasons).map_or(Verdict::Retry, |e| Verdict::Done(Err(e))))
            })
            .await?;
        match outcome {
            Ok(captured) => Ok(captured),
            // Confirmed too late: release the hold now rather than wait for the sweep.
            Err(overdue) => {
                self.release(&overdue, ReleaseReason::Expired, now).await?;
                Err(PaymentError::Expired(overdue.id).into())
            }
        }
    }

    async fn release(
        &self,
        payment: &Payment,
        reason: ReleaseReason,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        // Final states never change, so a non-pending copy is already the answer. A pending
        // copy that cannot expire yet may be stale (captured or canceled since it was read):
        // the answer is then the payment as it stands.
        let released = match payment.release(reason, now) {
            Ok(released) => released,
            Err(PaymentError::NotPending(_)) if payment.status() == PaymentStatus::Pending => {
                let current = self
                    .payment(payment.id)
                    .await?
                    .ok_or(PaymentError::NotFound(payment.id))?;
                return Err(current
                    .release(reason, now)
                    .err()
                    .unwrap_or_else(|| PaymentError::NotPending(Box::new(current)))
                    .into());
            }
            Err(e) => return Err(e.into()),
        };
        let hold_day = payment.created_at.date();
        let restore_budget = hold_day == now.date();
        let expiry_condition = match reason {
            ReleaseReason::Expired => " AND #expires_at <= :now",
            ReleaseReason::Canceled => "",
        };
        self.with_retries(|| async {
            let mut source_update = "SET #available = #available + :amount".to_owned();
            if restore_budget {
                source_update.push_str(", #out = #out + :amount");
            }
            let items = vec![
                self.payment_transition(payment, released.status(), now, expiry_condition)?,
                Expr::new()
                    .value(":amount", n(payment.amount.amount))
                    .alias("#out", outflow_attribute(hold_day))
                    .update(
                        self.accounts_table(),
                        account_key(payment.source),
                        &source_update,
                        "attribute_exists(#pk)",
                    )?,
            ];
            let TxOutcome::Cancelled(reasons) = self.transact(items).await? else {
                return Ok(Verdict::Done(Ok(released.clone())));
            };
            if let Some(old) = failed_at(&reasons, 0)
                && let Some(e) = Self::explain_payment(old, payment.id, |p| p.release(reason, now))
            {
                return Ok(Verdict::Done(Err(e)));
            }
            if failed_at(&reasons, 1).is_some() {
                return Ok(Verdict::Done(Err(StoreError::internal(format!(
                    "payment {} holds funds on a missing account",
                    payment.id
                )))));
            }
            Ok(residual(&reasons).map_or(Verdict::Retry, |e| Verdict::Done(Err(e))))
        })
        .await
    }

    async fn overdue_payments(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        // Index keys are `<expires_at>#<id>`: everything below `<now>$` expired at or before now.
        let bound = format!("{}$", timestamp(now));
        let page = i32::try_from(limit).unwrap_or(i32::MAX).max(1);
        let mut overdue = Vec::new();
        for shard in 0..PENDING_SHARDS {
            let output = self
                .client
                .query()
                .table_name(self.transactions_table())
                .index_name(PENDING_INDEX)
                .key_condition_expression("#pk = :shard AND #sk < :bound")
                .expression_attribute_names("#pk", "gsi1pk")
                .expression_attribute_names("#sk", "gsi1sk")
                .expression_attribute_values(":shard", s(items::pending_shard_key(shard)))
                .expression_attribute_values(":bound", s(bound.clone()))
                .limit(page)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in output.items.unwrap_or_default() {
                let payment = payment_from(&item)?;
                // The index is eventually consistent: skip anything already settled.
                if payment.is_overdue(now) {
                    overdue.push(payment);
                }
            }
        }
        overdue.sort_by_key(|p| (p.expires_at, p.id));
        overdue.truncate(limit);
        Ok(overdue)
    }
}

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn fund(
        &self,
        account: AccountId,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        let treasury_id = Account::treasury_id(amount.currency);
        let currency = amount.currency.code();
        self.with_retries(|| async {
            let found = self.batch_get(&[treasury_id, account], Vec::new()).await?;
            let destination = self.found_account(&found, account)?;
            check_funding(&destination, amount)?;
            let Ok(treasury) = self.found_account(&found, treasury_id) else {
                self.create_treasury(amount.currency, now).await?;
                return Ok(Verdict::Retry);
            };
            let payment = Payment::funding(treasury_id, account, amount, now);
            let posting = Posting::plan(&payment, &treasury, &destination, now)?;
            let (treasury_head, treasury_head_value) = head_condition(&treasury);
            let (dest_head, dest_head_value) = head_condition(&destination);
            let items = vec![
                Expr::new()
                    .value(":balance", n(posting.debit.balance_after))
                    .value(":entry", s(posting.debit.id.to_string()))
                    .value(":head", treasury_head_value)
                    .update(
                        self.accounts_table(),
                        account_key(treasury_id),
                        "SET #balance = :balance, #available = :balance, #ledger_head = :entry",
                        treasury_head,
                    )?,
                receive_values(Expr::new(), currency)
                    .value(":balance", n(posting.credit.balance_after))
                    .value(":amount", n(amount.amount))
                    .value(":entry", s(posting.credit.id.to_string()))
                    .value(":head", dest_head_value)
                    .update(
                        self.accounts_table(),
                        account_key(account),
                        "SET #balance = :balance, #available = #available + :amount, #ledger_head = :entry",
                        &format!("{RECEIVE_CONDITION} AND {dest_head}"),
                    )?,
                put_new(self.transactions_table(), payment_item(&payment))?,
                put_new(self.transactions_table(), entry_item(&posting.debit))?,
                put_new(self.transactions_table(), entry_item(&posting.credit))?,
            ];
            let TxOutcome::Cancelled(reasons) = self.transact(items).await? else {
                return Ok(Verdict::Done(Ok(payment)));
            };
            if let Some(old) = failed_at(&reasons, 1)
                && let Some(e) = Self::explain_account(old, account, |a| check_funding(a, amount))
            {
                    return Ok(Verdict::Done(Err(e)));
            }
            Ok(residual(&reasons).map_or(Verdict::Retry, |e| Verdict::Done(Err(e))))
        })
        .await
    }

    async fn entries(
        &self,
        account: AccountId,
        query: &EntryQuery,
    ) -> Result<EntryPage, StoreError> {
        let Some((low, high)) = query.id_range() else {
            return Ok(EntryPage::empty());
        };
        let output = self
            .client
            .query()
            .table_name(self.transactions_table())
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", s(account_pk(account)))
            .expression_attribute_values(":low", s(entry_sort_key(low)))
            .expression_attribute_values(":high", s(entry_sort_key(high)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::from(query.limit) + 1)
            .send()
            .await
            .map_err(sdk_error)?;
        let entries = output
            .items
            .unwrap_or_default()
            .iter()
            .map(entry_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(account, entries, query.limit))
    }
}

impl DynamoStore {
    /// Puts an item that must not exist yet.
    async fn put_new_item(&self, table: &str, item: Item, id: String) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(StoreError::DuplicateId(id))
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Creates the treasury of `currency` unless another writer already did.
    async fn create_treasury(
        &self,
        currency: crate::Currency,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match self.create_account(&Account::treasury(currency, now)).await {
            Ok(()) | Err(StoreError::DuplicateId(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
