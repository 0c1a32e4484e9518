//! One fixture per test: a fresh, empty store of either kind.

use std::sync::Arc;

use paygate_shared::store::{
    Store, WebhookStore,
    dynamodb::{DynamoStore, TableNames, sdk_config_for_endpoint},
    memory::MemoryStore,
};

use paygate_template::{StoreTables, Template, create_store_tables};

use super::moto;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    DynamoDb,
}

pub struct Fixture {
    store: Arc<dyn Store>,
    /// The same store as `store`, as the webhooks function and the notifier keep endpoints.
    webhooks: Arc<dyn WebhookStore>,
    backend: Backend,
    /// The DynamoDB adapter's HTTP-attempt counter; `None` for the memory store.
    round_trips: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
    /// The same store as `store`, for the memory store's test-only accessors.
    memory: Option<Arc<MemoryStore>>,
}

impl Fixture {
    pub fn memory() -> Self {
        let memory = Arc::new(MemoryStore::new());
        Self {
            store: memory.clone(),
            webhooks: memory.clone(),
            backend: Backend::Memory,
            round_trips: None,
            memory: Some(memory),
        }
    }

    /// A DynamoDB store on tables of its own (fresh prefix), created before it is returned.
    pub async fn dynamodb() -> Self {
        let endpoint = tokio::task::block_in_place(moto::endpoint);
        let sdk_config = sdk_config_for_endpoint(&endpoint, "us-east-1", true).await;
        let prefix = format!("t{}", ulid::Ulid::new().to_string().to_lowercase());
        let store = DynamoStore::new(&sdk_config, TableNames::with_prefix(&prefix));
        if let Err(e) = create_tables(&store).await {
            panic!("creating the tables `{prefix}-*` at {endpoint} failed: {e}");
        }
        let counter = store.clone();
        let store = Arc::new(store);
        Self {
            store: store.clone(),
            webhooks: store,
            backend: Backend::DynamoDb,
            round_trips: Some(Arc::new(move || counter.round_trips())),
            memory: None,
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// A handle to move into spawned tasks.
    pub fn shared(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    pub fn webhooks(&self) -> &dyn WebhookStore {
        self.webhooks.as_ref()
    }

    /// A handle on the webhook store to move into spawned tasks.
    pub fn shared_webhooks(&self) -> Arc<dyn WebhookStore> {
        Arc::clone(&self.webhooks)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// DynamoDB round trips (HTTP attempts) made so far; `None` for the memory store.
    pub fn round_trips(&self) -> Option<u64> {
        self.round_trips.as_ref().map(|count| count())
    }

    pub fn memory_store(&self) -> Option<&MemoryStore> {
        self.memory.as_deref()
    }
}

/// Creates the store's tables as `infra/template.yaml` declares them.
async fn create_tables(store: &DynamoStore) -> Result<(), Box<dyn std::error::Error>> {
    let tables = store.tables();
    let names = StoreTables {
        accounts: &tables.accounts,
        transactions: &tables.transactions,
    };
    create_store_tables(store.client(), &Template::bundled()?, names).await?;
    Ok(())
}
