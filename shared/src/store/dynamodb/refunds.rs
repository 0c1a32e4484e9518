//! Refunds on DynamoDB: one consistent `BatchGetItem` (the payment, both accounts and the
//! idempotency record), then one `TransactWriteItems` that debits the payee's account, credits
//! the payer's, posts both entries, raises the payment's refunded total within what was
//! captured, and puts the refund, the idempotency record and the `refund.succeeded` events.
//! The one query that reads a payment with its refunds, and the refund item's shape.

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::{
    DynamoStore,
    attrs::{Item, Reader, attr_number, attr_string, timestamp},
    explain,
    expr::put_new,
    items::{idempotency_from, payment_from},
    keys::{
        REFUND_SORT_PREFIX, idempotency_key, idempotency_pk, payment_key, payment_pk,
        refund_sort_key,
    },
    reads::found_account,
    retry::{Verdict, with_retries},
    tx::{Role, Transaction, TxOutcome},
    updates::{AccountUpdate, idempotency_put, payment_refund},
};
use crate::{
    Event, IdempotencyRecord, Payment, PaymentError, PaymentId, Refund, RefundReason, RefundStatus,
    StoreError, store::RefundOutcome, unposted::Settlement,
};

impl DynamoStore {
    /// Posts `refund` of `payment`. The stored payment (read with the accounts) decides, not
    /// the caller's copy; the write is conditioned on the payment still allowing the refund and
    /// on both accounts' ledger heads, so a lost race re-reads and re-plans.
    pub(crate) async fn refund(
        &self,
        payment: &Payment,
        refund: &Refund,
        record: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<RefundOutcome, StoreError> {
        if refund.payment_id != payment.id {
            return Err(StoreError::internal(format!(
                "refund {} is of payment {}, not {}",
                refund.id, refund.payment_id, payment.id
            )));
        }
        let currency = refund.amount.currency.code();
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        with_retries(|| async {
            let found = self
                .batch_get(
                    &[payment.destination, payment.source],
                    vec![idempotency_key(&record.key), payment_key(payment.id)],
                )
                .await?;
            let current = found
                .get(&payment_pk(payment.id))
                .map(payment_from)
                .transpose()?
                .ok_or(PaymentError::NotFound(payment.id))?;
            let previous = found.get(&idempotency_pk(&record.key));
            if let Some(previous) = previous.map(idempotency_from).transpose()?
                && previous.is_live(now)
            {
                // If the record is this call's own, `current` already holds its refund.
                let ours = || RefundOutcome::Created {
                    refund: refund.clone(),
                    payment: current.clone(),
                };
                return Ok(explain::previous_request(previous, record, ours));
            }
            let refunded = current.refund(refund.amount, now)?;
            let payee = found_account(&found, current.destination)?;
            payee.check_refund(refund.amount)?;
            let payer = found_account(&found, current.source)?;
            payer.check_receive(refund.amount.currency)?;
            let settlement = Settlement::refund(refund, &payee, &payer, now)?;
            let tx = Transaction::new()
                .with(
                    Role::Payment,
                    payment_refund(
                        transactions,
                        payment.id,
                        current.amount_captured,
                        refund.amount.amount,
                        now,
                    )?,
                )
                .with(
                    Role::Destination,
                    AccountUpdate::of(payee.id)
                        .debit_refund(settlement.debit(), &payee)
                        .update(accounts)?,
                )
                .with_settlement(
                    &settlement,
                    Role::Source,
                    AccountUpdate::of(payer.id).receiving(currency),
                    &payer,
                    (accounts, transactions),
                )?
                .with(Role::Refund, put_new(transactions, refund_item(refund))?)
                .with(
                    Role::IdempotencyRecord,
                    idempotency_put(transactions, record, now)?,
                )
                .with_events(transactions, &Event::for_refund(refund, &refunded, now))?;
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(RefundOutcome::Created {
                    refund: refund.clone(),
                    payment: refunded,
                })));
            };
            let ours = || RefundOutcome::Created {
                refund: refund.clone(),
                payment: refunded.clone(),
            };
            if explain::committed_before(&reasons) {
                return Ok(Verdict::Done(Ok(ours())));
            }
            if let Some(verdict) = explain::record(&reasons, record, ours) {
                return Ok(verdict);
            }
            // In the order the memory store checks them: the payment, the payee, the payer.
            if let Some(e) =
                explain::payment(&reasons, payment.id, |p| p.refund(refund.amount, now))
            {
                return Ok(Verdict::Done(Err(e)));
            }
            if let Some(old) = reasons.condition_failed(Role::Destination)
                && let Some(e) = explain::account(old, payee.id, |a| a.check_refund(refund.amount))
            {
                return Ok(Verdict::Done(Err(e)));
            }
            if let Some(old) = reasons.condition_failed(Role::Source)
                && let Some(e) =
                    explain::account(old, payer.id, |a| a.check_receive(refund.amount.currency))
            {
                return Ok(Verdict::Done(Err(e)));
            }
            if reasons.condition_failed(Role::Refund).is_some() {
                return Ok(Verdict::Done(Err(StoreError::DuplicateId(
                    refund.id.to_string(),
                ))));
            }
            // Failed conditions nothing explains are ledger heads another posting moved.
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }

    /// The payment `id` and its refunds, oldest first: one consistent query of the payment's
    /// partition (more only past 1 MB of refunds, thousands of them).
    pub(crate) async fn payment_and_refunds(
        &self,
        id: PaymentId,
    ) -> Result<Option<(Payment, Vec<Refund>)>, StoreError> {
        let mut payment = None;
        let mut refunds = Vec::new();
        for item in self.partition(payment_pk(id)).await? {
            match item.get("sk") {
                Some(AttributeValue::S(sk)) if sk.starts_with(REFUND_SORT_PREFIX) => {
                    refunds.push(refund_from(&item)?);
                }
                Some(AttributeValue::S(sk)) if sk == "PAYMENT" => {
                    payment = Some(payment_from(&item)?);
                }
                _ => {}
            }
        }
        Ok(payment.map(|payment| (payment, refunds)))
    }
}

/// A refund, under its payment's partition, so one query reads the payment and its refunds.
pub(crate) fn refund_item(r: &Refund) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), attr_string(payment_pk(r.payment_id))),
        ("sk".to_owned(), attr_string(refund_sort_key(r.id))),
        ("type".to_owned(), attr_string("refund")),
        ("refund_id".to_owned(), attr_string(r.id.to_string())),
        (
            "payment_id".to_owned(),
            attr_string(r.payment_id.to_string()),
        ),
        ("amount".to_owned(), attr_number(r.amount.amount)),
        ("currency".to_owned(), attr_string(r.amount.currency.code())),
        ("status".to_owned(), attr_string(r.status.as_str())),
        (
            "created_at".to_owned(),
            attr_string(timestamp(r.created_at)),
        ),
    ]);
    if let Some(reason) = r.reason {
        item.insert("reason".to_owned(), attr_string(reason.as_str()));
    }
    item
}

pub(crate) fn refund_from(item: &Item) -> Result<Refund, StoreError> {
    let r = Reader(item);
    Ok(Refund {
        id: r.parse("refund_id")?,
        payment_id: r.parse("payment_id")?,
        amount: r.money("amount")?,
        reason: match r.opt_str("reason")? {
            None => None,
            Some(_) => Some(r.enumerated("reason", RefundReason::parse)?),
        },
        status: r.enumerated("status", RefundStatus::parse)?,
        created_at: r.time("created_at")?,
    })
}
