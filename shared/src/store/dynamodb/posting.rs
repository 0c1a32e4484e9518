//! Batched credit posting on DynamoDB. A credit into a batched account is an item on one of
//! [`UNPOSTED_SHARDS`] partitions of its own (`UNPOSTED#acc_…#<shard>`), put in the same
//! transaction as the debit, so the destination's item is not in that transaction at all. The
//! poster reads the account and its oldest credits, and posts up to
//! [`MAX_BATCH_CREDITS`] in one transaction: the account's update conditioned on its
//! `ledger_head`, one entry put and one credit delete (conditioned on the credit existing) per
//! credit. A credit is posted exactly when its item is deleted, so neither a racing poster nor a
//! repeated call can post it twice.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::try_join_all;
use time::OffsetDateTime;

use super::{
    DynamoStore,
    attrs::{Item, Reader, attr_number, attr_string, timestamp},
    explain,
    expr::{Expr, put_new},
    items::{account_from, entry_item},
    keys::{ACCOUNT_PK_PREFIX, account_key, account_pk, unposted_key, unposted_pk},
    retry::{Verdict, with_retries},
    schema::{POSTING_INDEX, UNPOSTED_SHARDS},
    tx::{OldItem, Reason, Role, Transaction, TxOutcome, sdk_error},
    updates::AccountUpdate,
};
use crate::{
    Account, AccountError, AccountId, AccountKind, PostingMode, StoreError,
    store::{Balance, Posted, PostingStore},
    unposted::{CreditBatch, MAX_BATCH_CREDITS, Settlement, UnpostedCredit},
};

/// What the `type` attribute of an unposted credit says (the `post` function's stream filter).
pub const UNPOSTED_CREDIT_TYPE: &str = "unposted_credit";

/// An unposted credit's item. No index keys and no TTL: it leaves only by being posted.
pub fn unposted_credit_item(c: &UnpostedCredit) -> Item {
    let mut item = unposted_key(c.account_id, &c.key());
    item.extend([
        ("type".to_owned(), attr_string(UNPOSTED_CREDIT_TYPE)),
        (
            "account_id".to_owned(),
            attr_string(c.account_id.to_string()),
        ),
        (
            "payment_id".to_owned(),
            attr_string(c.payment_id.to_string()),
        ),
        ("amount".to_owned(), attr_number(c.amount.amount)),
        ("currency".to_owned(), attr_string(c.amount.currency.code())),
        (
            "counterparty".to_owned(),
            attr_string(c.counterparty.to_string()),
        ),
        (
            "captured_at".to_owned(),
            attr_string(timestamp(c.captured_at)),
        ),
    ]);
    if let Some(refund) = c.refund_id {
        item.insert("refund_id".to_owned(), attr_string(refund.to_string()));
    }
    item
}

/// Decodes an unposted credit's item (a table read or a stream image): `None` for any other
/// kind of item.
///
/// # Errors
/// [`StoreError::Internal`] for an unposted credit with a missing or malformed attribute.
pub fn unposted_credit_from_item(
    item: &HashMap<String, AttributeValue>,
) -> Result<Option<UnpostedCredit>, StoreError> {
    let r = Reader(item);
    if r.opt_str("type")? != Some(UNPOSTED_CREDIT_TYPE) {
        return Ok(None);
    }
    Ok(Some(UnpostedCredit {
        account_id: r.parse("account_id")?,
        payment_id: r.parse("payment_id")?,
        refund_id: r
            .opt_str("refund_id")?
            .map(str::parse)
            .transpose()
            .map_err(|_| {
                StoreError::internal("stored item has a malformed attribute `refund_id`")
            })?,
        amount: r.money("amount")?,
        counterparty: r.parse("counterparty")?,
        captured_at: r.time("captured_at")?,
    }))
}

impl Transaction {
    /// The ledger side of a settlement: the debit's entry, and either the credited account's
    /// update (`credited`, with the conditions the caller gave it, playing `role`) with the
    /// credit's entry, or the unposted credit (the credited account is then not written).
    pub(crate) fn with_settlement(
        self,
        settlement: &Settlement,
        role: Role,
        credited: AccountUpdate,
        account: &Account,
        (accounts, transactions): (&str, &str),
    ) -> Result<Self, StoreError> {
        let tx = self.with(
            Role::DebitEntry,
            put_new(transactions, entry_item(settlement.debit()))?,
        );
        Ok(match settlement {
            Settlement::Immediate(posting) => tx
                .with(
                    role,
                    credited.credit(&posting.credit, account).update(accounts)?,
                )
                .with(
                    Role::CreditEntry,
                    put_new(transactions, entry_item(&posting.credit))?,
                ),
            Settlement::Deferred(deferred) => tx.with(
                Role::UnpostedCredit,
                put_new(transactions, unposted_credit_item(&deferred.credit))?,
            ),
        })
    }
}

impl DynamoStore {
    /// Up to `max` of the account's credits in key order: the first `max` of each shard (one
    /// consistent `Query` each, concurrently), merged.
    async fn credits(&self, id: AccountId, max: usize) -> Result<Vec<UnpostedCredit>, StoreError> {
        let limit = i32::try_from(max.max(1)).unwrap_or(i32::MAX);
        let shards = (0..UNPOSTED_SHARDS).map(|shard| self.shard(id, shard, Some(limit), None));
        let mut credits = Vec::new();
        for items in try_join_all(shards).await? {
            for item in &items {
                credits.extend(unposted_credit_from_item(item)?);
            }
        }
        credits.sort_by_key(UnpostedCredit::key);
        credits.truncate(max);
        Ok(credits)
    }

    /// The sum of the account's unposted credits: every item of every shard (projection
    /// `amount` only).
    async fn incoming(&self, id: AccountId) -> Result<i64, StoreError> {
        let shards = (0..UNPOSTED_SHARDS).map(|shard| self.shard(id, shard, None, Some("amount")));
        let mut total = 0_i64;
        for items in try_join_all(shards).await? {
            for item in &items {
                total = total
                    .checked_add(Reader(item).i64("amount")?)
                    .ok_or_else(|| StoreError::internal("incoming credits overflow"))?;
            }
        }
        Ok(total)
    }

    /// One shard's items in key order, up to `limit` (all of them if `None`).
    async fn shard(
        &self,
        id: AccountId,
        shard: u32,
        limit: Option<i32>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        self.partition_items(unposted_pk(id, shard), limit, projection)
            .await
    }

    async fn read_account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.get(self.accounts_table(), account_key(id))
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    /// One posting write of up to `max` credits (see [`PostingStore::post_credits`]), or of
    /// `known` ones (see [`PostingStore::post_known`]): then only the account is read, unless a
    /// known credit turns out to be gone, and the next attempt reads the shards.
    async fn post_batch(
        &self,
        id: AccountId,
        max: usize,
        known: Option<&[UnpostedCredit]>,
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        let max = max.clamp(1, MAX_BATCH_CREDITS);
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        let known = std::sync::Mutex::new(known.filter(|k| !k.is_empty() && k.len() <= max));
        with_retries(|| async {
            let trusted = *known.lock().unwrap_or_else(|p| p.into_inner());
            let (account, mut credits) = match trusted {
                Some(known) => (self.read_account(id).await?, known.to_vec()),
                None => tokio::try_join!(self.read_account(id), self.credits(id, max + 1))?,
            };
            credits.sort_by_key(UnpostedCredit::key);
            let more = credits.len() > max;
            credits.truncate(max);
            if credits.is_empty() {
                return Ok(Verdict::Done(Ok(Posted {
                    credits: 0,
                    oldest: None,
                    more: false,
                })));
            }
            let account = account.ok_or(AccountError::NotFound(id))?;
            let batch = CreditBatch::plan(&account, &credits, now)?;
            let mut tx = Transaction::new().with(
                Role::Destination,
                AccountUpdate::of(id)
                    .credit_batch(&batch, &account)
                    .update(accounts)?,
            );
            for (i, (entry, key)) in batch.entries.iter().zip(&batch.keys).enumerate() {
                let i = u8::try_from(i).map_err(StoreError::internal)?;
                tx = tx
                    .with(Role::Entry(i), put_new(transactions, entry_item(entry))?)
                    .with(
                        Role::Credit(i),
                        Expr::new().delete(
                            transactions,
                            unposted_key(id, key),
                            "attribute_exists(#pk)",
                        )?,
                    );
            }
            let posted = Posted {
                credits: credits.len(),
                oldest: credits.iter().map(|c| c.captured_at).min(),
                more,
            };
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(posted)));
            };
            // Entry ids are this plan's own: an existing first entry means an earlier attempt
            // of this very write committed and the SDK sent it again.
            if matches!(
                reasons.get(Role::Entry(0)),
                Some(Reason::ConditionFailed(OldItem::Existing(_)))
            ) {
                return Ok(Verdict::Done(Ok(posted)));
            }
            // A credit already gone: another poster took it; read what is left instead.
            if (0..credits.len()).any(|i| {
                u8::try_from(i).is_ok_and(|i| reasons.condition_failed(Role::Credit(i)).is_some())
            }) {
                *known.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            // A moved head or a credit already gone: another posting won; re-read and re-plan.
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }
}

#[async_trait]
impl PostingStore for DynamoStore {
    async fn balance(&self, id: AccountId) -> Result<Option<Balance>, StoreError> {
        with_retries(|| async {
            let Some(before) = self.read_account(id).await? else {
                return Ok(Verdict::Done(Ok(None)));
            };
            if before.posting == PostingMode::Immediate {
                return Ok(Verdict::Done(Ok(Some(Balance {
                    account: before,
                    incoming: 0,
                }))));
            }
            let incoming = self.incoming(id).await?;
            // A posting between the two reads moves the head: a credit could then be counted in
            // both `balance` and `incoming`, or in neither. Holds do not move the head.
            let after = self.read_account(id).await?;
            Ok(match after {
                Some(after) if after.ledger_head == before.ledger_head => {
                    Verdict::Done(Ok(Some(Balance {
                        account: after,
                        incoming,
                    })))
                }
                _ => Verdict::Retry,
            })
        })
        .await
    }

    async fn set_posting(
        &self,
        id: AccountId,
        mode: PostingMode,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(self.accounts_table())
            .set_key(Some(account_key(id)))
            .condition_expression("attribute_exists(#pk) AND #kind = :customer")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#posting", "posting")
            .expression_attribute_values(":customer", attr_string(AccountKind::Customer.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let update = match mode {
            PostingMode::Batched => update
                .update_expression("SET #posting = :batched")
                .expression_attribute_values(":batched", attr_string(mode.as_str())),
            PostingMode::Immediate => update.update_expression("REMOVE #posting"),
        };
        let account = match update.send().await {
            Ok(output) => account_from(&output.attributes.unwrap_or_default())?,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                return Err(AccountError::NotFound(id).into());
            }
            Err(err) => return Err(sdk_error(err)),
        };
        if mode == PostingMode::Immediate {
            // What waits is posted now (a credit written on a read from before the switch may
            // still land after this: the poster posts it whatever the mode).
            while self
                .post_batch(id, MAX_BATCH_CREDITS, None, now)
                .await?
                .more
            {}
            return Ok(self.read_account(id).await?.unwrap_or(account));
        }
        Ok(account)
    }

    async fn post_credits(
        &self,
        id: AccountId,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        self.post_batch(id, max, None, now).await
    }

    async fn post_known(
        &self,
        id: AccountId,
        credits: &[UnpostedCredit],
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        let foreign = credits.iter().any(|c| c.account_id != id);
        let known = (!foreign).then_some(credits);
        self.post_batch(id, credits.len(), known, now).await
    }

    async fn unposted(&self, id: AccountId, max: usize) -> Result<Vec<UnpostedCredit>, StoreError> {
        self.credits(id, max).await
    }

    async fn batched_accounts(
        &self,
        after: Option<AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(self.accounts_table())
            .index_name(POSTING_INDEX)
            .expression_attribute_names("#posting", "posting")
            .expression_attribute_values(":batched", attr_string(PostingMode::Batched.as_str()))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        let query = match after {
            Some(after) => query
                .key_condition_expression("#posting = :batched AND #pk > :after")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":after", attr_string(account_pk(after))),
            None => query.key_condition_expression("#posting = :batched"),
        };
        let output = query.send().await.map_err(sdk_error)?;
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                Reader(item)
                    .str("pk")?
                    .strip_prefix(ACCOUNT_PK_PREFIX)
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| StoreError::internal("a malformed key in the posting index"))
            })
            .collect()
    }
}
