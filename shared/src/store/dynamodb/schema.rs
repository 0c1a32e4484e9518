//! The two tables' key schemas, GSIs and TTL, for creating them where they do not exist yet
//! (moto in tests, the local gateway). `docs/data-model.md` describes the same model.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::DynamoStore;
use crate::StoreError;

/// The GSI of pending payments by deadline, used by the expiry sweep.
pub const PENDING_INDEX: &str = "pending-by-expiry";
/// Pending payments are spread over this many GSI partitions (`PENDING#0`..), so a burst of
/// holds never concentrates on one partition key.
pub const PENDING_SHARDS: u32 = 8;
/// The GSI of accounts by owning client.
pub const OWNER_INDEX: &str = "accounts-by-owner";
/// The TTL attribute: epoch seconds after which DynamoDB deletes an idempotency record.
pub const TTL_ATTRIBUTE: &str = "expire_at";

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| StoreError::Internal(e.to_string()))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Internal(e.to_string()))
}

impl DynamoStore {
    /// Creates both tables (on-demand, with their GSIs and TTL) unless they already exist.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Internal`] from DynamoDB.
    pub async fn ensure_tables(&self) -> Result<(), StoreError> {
        let existing = self
            .client
            .list_tables()
            .send()
            .await
            .map_err(super::tx::sdk_error)?
            .table_names
            .unwrap_or_default();
        let tables = self.tables.clone();
        if !existing.contains(&tables.accounts) {
            let by_owner = GlobalSecondaryIndex::builder()
                .index_name(OWNER_INDEX)
                .key_schema(key("owner", KeyType::Hash)?)
                .key_schema(key("pk", KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            self.client
                .create_table()
                .table_name(&tables.accounts)
                .billing_mode(BillingMode::PayPerRequest)
                .key_schema(key("pk", KeyType::Hash)?)
                .attribute_definitions(string_attribute("pk")?)
                .attribute_definitions(string_attribute("owner")?)
                .global_secondary_indexes(by_owner)
                .send()
                .await
                .map_err(super::tx::sdk_error)?;
        }
        if !existing.contains(&tables.transactions) {
            let pending = GlobalSecondaryIndex::builder()
                .index_name(PENDING_INDEX)
                .key_schema(key("gsi1pk", KeyType::Hash)?)
                .key_schema(key("gsi1sk", KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            self.client
                .create_table()
                .table_name(&tables.transactions)
                .billing_mode(BillingMode::PayPerRequest)
                .key_schema(key("pk", KeyType::Hash)?)
                .key_schema(key("sk", KeyType::Range)?)
                .attribute_definitions(string_attribute("pk")?)
                .attribute_definitions(string_attribute("sk")?)
                .attribute_definitions(string_attribute("gsi1pk")?)
                .attribute_definitions(string_attribute("gsi1sk")?)
                .global_secondary_indexes(pending)
                .send()
                .await
                .map_err(super::tx::sdk_error)?;
            self.client
                .update_time_to_live()
                .table_name(&tables.transactions)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(TTL_ATTRIBUTE)
                        .build()
                        .map_err(|e| StoreError::Internal(e.to_string()))?,
                )
                .send()
                .await
                .map_err(super::tx::sdk_error)?;
        }
        Ok(())
    }
}
