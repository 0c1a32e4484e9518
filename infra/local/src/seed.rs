//! The built-in demo seed: one client with a known secret, an API key on a usage plan of the
//! template, and two funded CNY accounts.

use paygate_shared::{
    Account, AccountId, ClientId, Currency, EntryQuery, Money, PostingMode, RiskRules, StoreError,
    client::{ClientRecord, ClientStatus, DEFAULT_ROUNDS, SecretHash},
};

use crate::{Gateway, SetupError};

pub const DEMO_CLIENT: &str = "demo-client";
pub const DEMO_SECRET: &str = "demo-secret-change-me";
/// Fixed, so that the README's quickstart works verbatim.
pub const DEMO_ACCOUNTS: [&str; 2] = [
    "acc_01KAS0DEM0000000000000000A",
    "acc_01KAS0DEM0000000000000000B",
];
pub const DEMO_API_KEY: &str = "demo-api-key-0123456789";
pub const DEMO_PLAN: &str = "StandardUsagePlan";
/// Each demo account's opening balance, in minor units (1000.00 CNY).
pub const DEMO_BALANCE: i64 = 100_000;
pub const ALL_SCOPES: [&str; 4] = [
    "payments:write",
    "payments:read",
    "accounts:read",
    "webhooks:manage",
];

/// What the demo seed created.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub client_id: String,
    pub client_secret: String,
    pub api_key: String,
    pub accounts: Vec<AccountId>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the seed file is invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers a client with `scopes` on the gateway's store.
///
/// # Errors
/// When the store refuses it (a duplicate id).
pub async fn add_client(
    gateway: &Gateway,
    client_id: &str,
    secret: &str,
    scopes: &[String],
) -> Result<(), SeedError> {
    add_client_with(gateway, client_id, secret, scopes, false, None).await
}

/// Registers a client, an operator or not, with its own risk rules (none: the defaults). A
/// client a persistent store already has keeps its record, but gets these rules.
///
/// # Errors
/// `risk:review` for a client that is not an operator; a store refusal.
pub async fn add_client_with(
    gateway: &Gateway,
    client_id: &str,
    secret: &str,
    scopes: &[String],
    operator: bool,
    risk: Option<RiskRules>,
) -> Result<(), SeedError> {
    if scopes.iter().any(|s| s == "risk:review") && !operator {
        return Err(SeedError::Invalid(format!(
            "client {client_id}: risk:review is granted only to operator clients (\"operator\": true)"
        )));
    }
    let backend = gateway.backend();
    let id: ClientId = client_id
        .parse()
        .map_err(|_| StoreError::internal(format!("malformed client id {client_id}")))?;
    let record = ClientRecord {
        client_id: id,
        secret_hash: SecretHash::new(secret, DEFAULT_ROUNDS),
        scopes: scopes.to_vec(),
        status: ClientStatus::Active,
        operator,
        risk: risk.clone(),
        created_at: backend.clock.now(),
    };
    match backend.clients.create_client(&record).await {
        Ok(()) => Ok(()),
        // A persistent store (`--dynamodb-endpoint`) seeded by an earlier run keeps its client,
        // with the seed's rules.
        Err(StoreError::DuplicateId(_)) => {
            backend
                .clients
                .set_risk_rules(&record.client_id, risk.as_ref())
                .await?;
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// Opens account `id` of `owner`, funded from the treasury with `balance` minor units.
///
/// # Errors
/// When the store refuses it (an id already taken, for one).
pub async fn add_account(
    gateway: &Gateway,
    id: AccountId,
    owner: &str,
    currency: Currency,
    balance: i64,
) -> Result<AccountId, SeedError> {
    let backend = gateway.backend();
    let now = backend.clock.now();
    let owner: ClientId = owner
        .parse()
        .map_err(|_| StoreError::internal(format!("malformed client id {owner}")))?;
    let limits = backend.payments.default_limits;
    let account = Account::open(id, owner, currency, limits, now);
    let funded = match backend.store.create_account(&account).await {
        Ok(()) => false,
        // Opened by an earlier run on a persistent store, or by this very call: the SDK retries
        // a PutItem whose answer timed out, and the retry meets the item its first attempt
        // wrote. The account was funded if its ledger has an entry.
        Err(StoreError::DuplicateId(_)) => !backend
            .store
            .entries(account.id, &EntryQuery::first(1))
            .await?
            .entries
            .is_empty(),
        Err(err) => return Err(err.into()),
    };
    if balance > 0 && !funded {
        backend
            .store
            .fund(account.id, Money::new(balance, currency), now)
            .await?;
    }
    Ok(account.id)
}

/// Loads the demo seed.
///
/// # Errors
/// When the template has no `StandardUsagePlan` or the store refuses the seed.
pub async fn demo(gateway: &mut Gateway) -> Result<Seeded, SeedError> {
    gateway.add_api_key("demo-key", DEMO_API_KEY, DEMO_PLAN)?;
    let all: Vec<String> = ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    add_client(gateway, DEMO_CLIENT, DEMO_SECRET, &all).await?;
    let mut accounts = Vec::new();
    for id in DEMO_ACCOUNTS {
        let id = id
            .parse()
            .map_err(|_| StoreError::internal(format!("malformed id {id}")))?;
        accounts.push(add_account(gateway, id, DEMO_CLIENT, Currency::CNY, DEMO_BALANCE).await?);
    }
    Ok(Seeded {
        client_id: DEMO_CLIENT.to_owned(),
        client_secret: DEMO_SECRET.to_owned(),
        api_key: DEMO_API_KEY.to_owned(),
        accounts,
    })
}

/// A seed file (`--seed FILE`): clients with their API keys and usage plans, and accounts with
/// opening balances funded from the treasury. The format is documented in the README.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    pub clients: Vec<SeedClient>,
    #[serde(default)]
    pub accounts: Vec<SeedAccount>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub api_key: String,
    /// A usage plan of the template: its logical id (`StandardUsagePlan`) or that id without
    /// the `UsagePlan` suffix, in any case (`standard`).
    pub usage_plan: String,
    /// A payments operator (may be granted `risk:review`).
    #[serde(default)]
    pub operator: bool,
    /// The client's own risk rules (docs/risk.md); the defaults apply without.
    #[serde(default)]
    pub risk: Option<serde_json::Value>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    pub account_id: AccountId,
    pub owner: String,
    pub currency: String,
    /// Minor units.
    pub balance: i64,
    /// `immediate` (the default) or `batched`: set after the opening funding, so the opening
    /// balance is posted, not incoming.
    #[serde(default)]
    pub posting: PostingMode,
}

/// Loads `file` into the gateway: clients, their API keys on their plans, funded accounts.
///
/// # Errors
/// An unknown plan, scope or currency, a malformed id, or a store refusal.
pub async fn load(gateway: &mut Gateway, file: &SeedFile) -> Result<(), SeedError> {
    for client in &file.clients {
        let plan = gateway
            .plan_ids()
            .into_iter()
            .find(|id| plan_matches(id, &client.usage_plan))
            .ok_or_else(|| {
                SeedError::Invalid(format!("unknown usage plan `{}`", client.usage_plan))
            })?;
        let scopes: paygate_shared::auth::Scopes = client
            .scopes
            .join(" ")
            .parse()
            .map_err(|e| SeedError::Invalid(format!("client {}: {e}", client.client_id)))?;
        let scopes: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        let risk = client
            .risk
            .as_ref()
            .map(RiskRules::from_value)
            .transpose()
            .map_err(|e| SeedError::Invalid(format!("client {}: risk: {e}", client.client_id)))?;
        gateway.add_api_key(&format!("{}-key", client.client_id), &client.api_key, &plan)?;
        add_client_with(
            gateway,
            &client.client_id,
            &client.client_secret,
            &scopes,
            client.operator,
            risk,
        )
        .await?;
    }
    for account in &file.accounts {
        let currency = paygate_shared::money::parse_currency(&account.currency)
            .map_err(|e| SeedError::Invalid(format!("account {}: {e}", account.account_id)))?;
        add_account(
            gateway,
            account.account_id,
            &account.owner,
            currency,
            account.balance,
        )
        .await?;
        if account.posting == PostingMode::Batched {
            let backend = gateway.backend();
            backend
                .store
                .set_posting(account.account_id, account.posting, backend.clock.now())
                .await?;
        }
    }
    Ok(())
}

fn plan_matches(logical_id: &str, name: &str) -> bool {
    logical_id.eq_ignore_ascii_case(name)
        || logical_id
            .strip_suffix("UsagePlan")
            .is_some_and(|short| short.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use paygate_shared::{Account, AccountId, Currency, EntryQuery, clock::SystemClock};
    use paygate_template::Template;

    use super::add_account;
    use crate::{Backend, Gateway};

    async fn balance(gateway: &Gateway, id: AccountId) -> (i64, usize) {
        let store = &gateway.backend().store;
        let account = store.account(id).await.unwrap().expect("the account");
        let entries = store.entries(id, &EntryQuery::first(100)).await.unwrap();
        (account.balance, entries.entries.len())
    }

    /// The SDK retries a PutItem whose answer timed out, and the retry meets the account its
    /// first attempt opened: that account is funded once, not skipped, and never twice.
    #[tokio::test]
    async fn an_account_opened_but_not_funded_is_funded_once() {
        let backend = Backend::in_memory(Arc::new(SystemClock)).unwrap();
        let gateway = Gateway::new(&Template::bundled().unwrap(), backend).unwrap();
        let now = gateway.backend().clock.now();
        let id = AccountId::generate(now);
        let owner = "seed-test".parse().unwrap();
        let limits = gateway.backend().payments.default_limits;
        let opened = Account::open(id, owner, Currency::CNY, limits, now);
        gateway
            .backend()
            .store
            .create_account(&opened)
            .await
            .unwrap();
        assert_eq!(balance(&gateway, id).await, (0, 0));

        add_account(&gateway, id, "seed-test", Currency::CNY, 700)
            .await
            .unwrap();
        assert_eq!(balance(&gateway, id).await, (700, 1), "funded");
        add_account(&gateway, id, "seed-test", Currency::CNY, 700)
            .await
            .unwrap();
        assert_eq!(balance(&gateway, id).await, (700, 1), "not funded twice");
    }
}
