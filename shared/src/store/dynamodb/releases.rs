//! The end of a hold that is never captured: its release (canceled by its owner, or expired),
//! and the query of the expiry sweep for the payments whose window has closed.

use time::OffsetDateTime;

use super::{
    DynamoStore,
    attrs::{attr_string, timestamp},
    explain,
    items::payment_from,
    keys::pending_shard_key,
    retry::{Verdict, with_retries},
    schema::{PENDING_INDEX, PENDING_SHARDS},
    tx::{Role, Transaction, TxOutcome, sdk_error},
    updates::{AccountUpdate, payment_transition},
};
use crate::{
    Event, EventType, Payment, PaymentError, ReleaseReason, StoreError, store::PaymentStore,
};

impl DynamoStore {
    /// Releases `payment`'s hold: the payment leaves `pending` and the source gets its funds
    /// (and, on the hold's own day, its outflow budget) back, in one transaction with the
    /// `payment.canceled` or `payment.expired` event.
    pub(crate) async fn release_hold(
        &self,
        payment: &Payment,
        reason: ReleaseReason,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        // A copy that cannot be released may be stale (captured, canceled or refunded since it
        // was read): the answer is the payment as it stands.
        let released = match payment.release(reason, now) {
            Ok(released) => released,
            Err(_) => {
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
        };
        let restore_budget = payment.created_at.date() == now.date();
        let expiry_condition = match reason {
            ReleaseReason::Expired => " AND #expires_at <= :now",
            ReleaseReason::Canceled => "",
        };
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        with_retries(|| async {
            let tx = Transaction::new()
                .with(
                    Role::Payment,
                    payment_transition(
                        transactions,
                        payment.id,
                        released.status(),
                        now,
                        expiry_condition,
                    )?,
                )
                .with(
                    Role::Source,
                    AccountUpdate::of(payment.source)
                        .release(payment, restore_budget)
                        .update(accounts)?,
                )
                .with_events(
                    transactions,
                    &Event::for_payment(EventType::released(reason), &released, now),
                )?;
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(released.clone())));
            };
            if explain::committed_before(&reasons) {
                return Ok(Verdict::Done(Ok(released.clone())));
            }
            if let Some(e) = explain::payment(&reasons, payment.id, |p| p.release(reason, now)) {
                return Ok(Verdict::Done(Err(e)));
            }
            if reasons.condition_failed(Role::Source).is_some() {
                return Ok(Verdict::Done(Err(StoreError::internal(format!(
                    "payment {} holds funds on a missing account",
                    payment.id
                )))));
            }
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }

    /// Pending payments whose window closed at or before `now`, oldest deadline first: one
    /// query per shard of the pending-payments index.
    pub(crate) async fn overdue(
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
                .expression_attribute_values(":shard", attr_string(pending_shard_key(shard)))
                .expression_attribute_values(":bound", attr_string(bound.clone()))
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
