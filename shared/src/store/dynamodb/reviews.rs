//! Reviews on DynamoDB: an operator's decision on a payment in review, one transaction with the
//! payment's conditioned change (still in review: a second decision fails), what the decision
//! does to the accounts (nothing for an approval to pending; the capture for an approval of a
//! one-step payment; the hold's release for a decline) and its events; and the reviews index.

use time::OffsetDateTime;

use super::{
    DynamoStore,
    attrs::attr_string,
    explain,
    items::payment_from,
    keys::{listing_position, listing_sort_key},
    reads::found_account,
    retry::{Verdict, with_retries},
    schema::{REVIEW_INDEX, REVIEW_PARTITION},
    tx::{Role, Transaction, TxOutcome, sdk_error},
    updates::{AccountUpdate, payment_review},
};
use crate::{
    Event, Payment, PaymentError, PaymentStatus, ReleaseReason, ReviewOutcome, StoreError,
    listing::reviews::{ReviewPage, ReviewQuery},
    store::PaymentStore,
    unposted::Settlement,
};

impl DynamoStore {
    pub(crate) async fn review_payment(
        &self,
        payment: &Payment,
        outcome: &ReviewOutcome,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        let reviewed = match payment.reviewed(outcome.clone(), now) {
            Ok(reviewed) => reviewed,
            Err(PaymentError::Expired(id)) => {
                self.release_hold(payment, ReleaseReason::Expired, now)
                    .await?;
                return Err(PaymentError::Expired(id).into());
            }
            // The copy may be stale (decided or released since it was read): the stored payment
            // decides.
            Err(_) => {
                let current = self
                    .payment(payment.id)
                    .await?
                    .ok_or(PaymentError::NotFound(payment.id))?;
                let refusal = current
                    .reviewed(outcome.clone(), now)
                    .err()
                    .unwrap_or_else(|| PaymentError::NotInReview(Box::new(current)));
                return Err(refusal.into());
            }
        };
        let hold_day = payment.created_at.date();
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        with_retries(|| async {
            let mut tx = Transaction::new()
                .with(Role::Payment, payment_review(transactions, &reviewed, now)?);
            match reviewed.status() {
                PaymentStatus::Succeeded => {
                    let found = self
                        .batch_get(&[payment.source, payment.destination], Vec::new())
                        .await?;
                    let source = found_account(&found, payment.source)?;
                    let destination = found_account(&found, payment.destination)?;
                    let settlement = Settlement::plan(&reviewed, &source, &destination, now)?;
                    tx = tx
                        .with(
                            Role::Source,
                            AccountUpdate::of(payment.source)
                                .debit_held(settlement.debit(), &source)
                                .update(accounts)?,
                        )
                        .with_settlement(
                            &settlement,
                            Role::Destination,
                            AccountUpdate::of(payment.destination),
                            &destination,
                            (accounts, transactions),
                        )?;
                }
                PaymentStatus::Declined => {
                    tx = tx.with(
                        Role::Source,
                        AccountUpdate::of(payment.source)
                            .release(payment, hold_day == now.date())
                            .update(accounts)?,
                    );
                }
                _ => {}
            }
            let tx = tx.with_events(transactions, &Event::for_review(&reviewed, now))?;
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(reviewed.clone())));
            };
            if explain::committed_before(&reasons) {
                return Ok(Verdict::Done(Ok(reviewed.clone())));
            }
            if let Some(e) =
                explain::payment(&reasons, payment.id, |p| p.reviewed(outcome.clone(), now))
            {
                return Ok(Verdict::Done(Err(e)));
            }
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }

    /// One page of the reviews index, oldest first (items that have left review since the
    /// index was written are skipped).
    pub(crate) async fn list_reviews(&self, query: &ReviewQuery) -> Result<ReviewPage, StoreError> {
        let mut payments = Vec::new();
        let mut start = query.after.map(listing_sort_key);
        let wanted = usize::from(query.limit) + 1;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(self.transactions_table())
                .index_name(REVIEW_INDEX)
                .expression_attribute_names("#pk", "review_pk")
                .expression_attribute_values(":pk", attr_string(REVIEW_PARTITION))
                .scan_index_forward(true)
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX));
            request = match &start {
                Some(after) => request
                    .key_condition_expression("#pk = :pk AND #sk > :after")
                    .expression_attribute_names("#sk", "review_sk")
                    .expression_attribute_values(":after", attr_string(after.clone())),
                None => request.key_condition_expression("#pk = :pk"),
            };
            let output = request.send().await.map_err(sdk_error)?;
            let items = output.items.unwrap_or_default();
            let last = items.last().and_then(|item| match item.get("review_sk") {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) => Some(sk.clone()),
                _ => None,
            });
            for item in &items {
                let payment = payment_from(item)?;
                if payment.status() == PaymentStatus::RequiresReview {
                    payments.push(payment);
                }
            }
            if payments.len() >= wanted || output.last_evaluated_key.is_none() {
                break;
            }
            match last {
                Some(last) if listing_position(&last).is_some() => start = Some(last),
                _ => break,
            }
        }
        Ok(ReviewPage::cut(payments, query.limit))
    }
}
