//! The reads operations share: one consistent item, or one consistent batch across both tables.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::{
    DynamoStore,
    attrs::Item,
    items::account_from,
    keys::{account_key, account_pk},
    retry::Backoff,
    tx::sdk_error,
};
use crate::{Account, AccountError, AccountId, StoreError};

impl DynamoStore {
    /// One consistent `GetItem`.
    pub(crate) async fn get(&self, table: &str, key: Item) -> Result<Option<Item>, StoreError> {
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

    /// Every item of the transactions table's partition `pk`: one consistent `Query` (more only
    /// past 1 MB), in sort-key order.
    pub(crate) async fn partition(&self, pk: String) -> Result<Vec<Item>, StoreError> {
        self.partition_items(pk, None, None).await
    }

    /// The first `limit` items (all if `None`) of the transactions table's partition `pk`, in
    /// sort-key order, each with only `projection` if given: consistent `Query`s, paged past
    /// 1 MB.
    pub(crate) async fn partition_items(
        &self,
        pk: String,
        limit: Option<i32>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(self.transactions_table())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .set_limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            items.extend(output.items.unwrap_or_default());
            let full = limit.is_some_and(|l| items.len() >= usize::try_from(l).unwrap_or(0));
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && !full => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// One consistent `BatchGetItem` across both tables (more only if DynamoDB leaves keys
    /// unprocessed under throttling). Returns the items found, keyed by `pk`.
    pub(crate) async fn batch_get(
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
}

/// The account `id` among the items of a [`DynamoStore::batch_get`].
pub(crate) fn found_account(
    found: &HashMap<String, Item>,
    id: AccountId,
) -> Result<Account, StoreError> {
    found
        .get(&account_pk(id))
        .map(account_from)
        .transpose()?
        .ok_or_else(|| AccountError::NotFound(id).into())
}
