//! Accounts and OAuth clients on DynamoDB: created once (never over an existing id), read
//! consistently; account owners, which never change, remembered once read.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use time::OffsetDateTime;

use super::{
    DynamoStore,
    attrs::{Item, Reader},
    items::{account_from, account_item, client_from, client_item},
    keys::{account_key, client_key},
    tx::sdk_error,
};
use crate::{
    Account, AccountId, AccountPage, AccountQuery, ClientId, Currency, StoreError,
    client::ClientRecord,
    store::{AccountStore, ClientStore},
};

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

    async fn accounts_of(
        &self,
        owner: &ClientId,
        query: &AccountQuery,
    ) -> Result<AccountPage, StoreError> {
        self.list_accounts(owner, query).await
    }

    async fn account_owner(&self, id: AccountId) -> Result<Option<ClientId>, StoreError> {
        if let Some(owner) = self.cached_owner(id) {
            return Ok(Some(owner));
        }
        let Some(item) = self.get(self.accounts_table(), account_key(id)).await? else {
            // Not remembered: the account may yet be created.
            return Ok(None);
        };
        let owner: ClientId = Reader(&item).parse("owner")?;
        self.remember_owner(id, owner.clone());
        Ok(Some(owner))
    }
}

/// How many account owners one store remembers: a few hundred kilobytes at most.
const OWNER_CACHE_CAPACITY: usize = 4_096;

impl DynamoStore {
    fn cached_owner(&self, id: AccountId) -> Option<ClientId> {
        let owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        owners.get(&id).cloned()
    }

    fn remember_owner(&self, id: AccountId, owner: ClientId) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        if owners.len() >= OWNER_CACHE_CAPACITY {
            // Any entry will do: every one is still true, only the memory is bounded.
            if let Some(evicted) = owners.keys().next().copied() {
                owners.remove(&evicted);
            }
        }
        owners.insert(id, owner);
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

    async fn set_risk_rules(
        &self,
        id: &ClientId,
        rules: Option<&crate::RiskRules>,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(self.accounts_table())
            .set_key(Some(client_key(id)))
            .condition_expression("attribute_exists(pk)")
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let request = match rules {
            Some(rules) => request
                .update_expression("SET risk_rules = :rules")
                .expression_attribute_values(
                    ":rules",
                    aws_sdk_dynamodb::types::AttributeValue::S(rules.to_value().to_string()),
                ),
            None => request.update_expression("REMOVE risk_rules"),
        };
        match request.send().await {
            Ok(output) => output.attributes.as_ref().map(client_from).transpose(),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_)
                    )
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error(e)),
        }
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
    pub(crate) async fn create_treasury(
        &self,
        currency: Currency,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match self.create_account(&Account::treasury(currency, now)).await {
            Ok(()) | Err(StoreError::DuplicateId(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
