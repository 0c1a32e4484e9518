//! Conservation at an instant, while the load runs: per currency, the balances of all accounts
//! plus all unposted credits sum to 0 (`docs/data-model.md`, "Unposted credit").
//!
//! - The embedded store gives a true cut ([`MemoryStore::ledger_cut`]: everything under its one
//!   lock), taken without stopping anything.
//! - DynamoDB has no snapshot across partitions, so the cut stops the workers between requests
//!   (the load's gate) and leaves the poster running: then only the poster writes, and each of
//!   its writes moves money from one account's credits into that account's balance. So per
//!   account, balance plus credits does not change while the cut is read, and the account item
//!   and its credits are read together in one `TransactGetItems` (a serializable read: the
//!   balance and exactly the credits not yet posted at that moment). The accounts table is
//!   scanned for every other balance, which nothing changes during the cut.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::{AttributeValue, Get, TransactGetItem};
use paygate_shared::{AccountId, store::memory::MemoryStore};

use crate::{
    audit::{self, CreditRow},
    setup::StoreHandle,
};

/// Shards of each account's unposted credits (`UNPOSTED#acc_…#0..7`).
const SHARDS: u32 = 8;

/// `TransactGetItems` reads at most 100 items: the account and 99 credits.
const MAX_CREDITS_READ: usize = 99;

/// One cut: how many unposted credits it saw, and what did not add up.
#[derive(Debug, Default)]
pub struct Cut {
    pub credits: usize,
    pub violations: Vec<String>,
}

/// Takes a cut. `hot` are the accounts that may hold unposted credits (on DynamoDB only their
/// shards are read; the final audit scans for credits anywhere). On DynamoDB, `poster_held` (if
/// any) is let go once the credits are listed and one account has been read with credits
/// waiting, so the poster posts while the other balances and credits are read.
///
/// # Errors
/// When the store cannot be read, or the credits of one account stayed over 99 for 10 s.
pub async fn take<G>(
    store: &StoreHandle,
    hot: &[AccountId],
    poster_held: Option<G>,
) -> Result<Cut, String> {
    match store {
        StoreHandle::Memory(store) => Ok(memory_cut(store)),
        StoreHandle::Dynamodb { client, tables } => {
            let tables = (tables.accounts.as_str(), tables.transactions.as_str());
            dynamodb_cut(client, tables, hot, poster_held).await
        }
    }
}

fn memory_cut(store: &MemoryStore) -> Cut {
    let (accounts, credits) = store.ledger_cut();
    Cut {
        credits: credits.len(),
        violations: audit::conservation(
            accounts
                .iter()
                .map(|a| (a.currency.code(), a.balance))
                .collect::<Vec<_>>(),
            credits
                .iter()
                .map(|c| (c.amount.currency.code(), c.amount.amount))
                .collect::<Vec<_>>(),
        ),
    }
}

type Item = HashMap<String, AttributeValue>;

fn key(pk: String, sk: Option<String>) -> Item {
    let mut key = HashMap::from([("pk".to_owned(), AttributeValue::S(pk))]);
    if let Some(sk) = sk {
        key.insert("sk".to_owned(), AttributeValue::S(sk));
    }
    key
}

async fn dynamodb_cut<G>(
    client: &aws_sdk_dynamodb::Client,
    (accounts_table, transactions_table): (&str, &str),
    hot: &[AccountId],
    poster_held: Option<G>,
) -> Result<Cut, String> {
    // Every credit that exists from now on was written before the workers stopped: the keys
    // listed now are a superset of what is still waiting when each account is read.
    let mut listed = Vec::with_capacity(hot.len());
    for &account in hot {
        listed.push(credit_keys(client, transactions_table, account).await?);
    }
    // The poster stays held until one account has been read with credits still waiting, so a
    // cut that listed credits checks at least one account with its credits unposted (rather
    // than racing the poster to them); it then posts while the other accounts are read.
    let mut poster_held = poster_held;
    if listed.iter().any(|keys| keys.len() > MAX_CREDITS_READ) {
        // Too many for one read: the poster must drain some first.
        drop(poster_held.take());
    }
    let mut hot_balances = Vec::with_capacity(hot.len());
    let mut credits: Vec<CreditRow> = Vec::new();
    for (&account, keys) in hot.iter().zip(listed) {
        let (balance, waiting) =
            account_with_credits(client, (accounts_table, transactions_table), account, keys)
                .await?;
        if !waiting.is_empty() {
            drop(poster_held.take());
        }
        hot_balances.push((account, balance));
        credits.extend(waiting);
    }
    drop(poster_held);
    let mut balances: HashMap<String, (String, i64)> = HashMap::new();
    for item in audit::scan(client, accounts_table).await? {
        if audit::s(&item, "type").ok().as_deref() == Some("account") {
            balances.insert(
                audit::s(&item, "account_id")?,
                (audit::s(&item, "currency")?, audit::n(&item, "balance")?),
            );
        }
    }
    // A hot account's balance is the one read with its credits; the scan may have seen it later.
    for (account, balance) in hot_balances {
        if let Some(row) = balances.get_mut(&account.to_string()) {
            row.1 = balance;
        }
    }
    Ok(Cut {
        credits: credits.len(),
        violations: audit::conservation(
            balances
                .values()
                .map(|(currency, balance)| (currency.as_str(), *balance))
                .collect::<Vec<_>>(),
            credits
                .iter()
                .map(|c| (c.currency.as_str(), c.amount))
                .collect::<Vec<_>>(),
        ),
    })
}

/// Every credit key of `account`, all shards.
async fn credit_keys(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    account: AccountId,
) -> Result<Vec<Item>, String> {
    let mut keys = Vec::new();
    for shard in 0..SHARDS {
        keys.extend(shard_keys(client, table, account, shard).await?);
    }
    Ok(keys)
}

/// One account's balance and which of `keys` (its credits listed earlier, with the workers
/// stopped) still wait, as of one instant.
async fn account_with_credits(
    client: &aws_sdk_dynamodb::Client,
    (accounts_table, transactions_table): (&str, &str),
    account: AccountId,
    mut keys: Vec<Item>,
) -> Result<(i64, Vec<CreditRow>), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if keys.len() > MAX_CREDITS_READ {
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "{account}: {} unposted credits for 10 s with the load stopped",
                    keys.len()
                ));
            }
            // The poster is draining them; list again until one transaction can hold them.
            tokio::time::sleep(Duration::from_millis(200)).await;
            keys = credit_keys(client, transactions_table, account).await?;
            continue;
        }
        let get = |table: &str, key: Item| {
            Get::builder()
                .table_name(table)
                .set_key(Some(key))
                .build()
                .map(|get| TransactGetItem::builder().get(get).build())
                .map_err(|e| e.to_string())
        };
        let mut items = vec![get(
            accounts_table,
            key(format!("ACCOUNT#{account}"), None),
        )?];
        for credit in keys {
            items.push(get(transactions_table, credit)?);
        }
        let output = client
            .transact_get_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading {account} and its credits: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
        let mut responses = output.responses.unwrap_or_default().into_iter();
        let account_item = responses
            .next()
            .and_then(|r| r.item)
            .ok_or_else(|| format!("{account}: no account item"))?;
        let balance = audit::n(&account_item, "balance")?;
        let mut waiting = Vec::new();
        for item in responses.filter_map(|r| r.item) {
            waiting.push(audit::credit_row(&item)?);
        }
        return Ok((balance, waiting));
    }
}

/// The keys of the credits on one shard of `account`.
async fn shard_keys(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    account: AccountId,
    shard: u32,
) -> Result<Vec<Item>, String> {
    let mut keys = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("UNPOSTED#{account}#{shard}")),
            )
            .projection_expression("pk, sk")
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading the credits of {account}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
        keys.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(keys),
        }
    }
}

/// How many credits wait for `hot` now (the poster has drained when none does).
///
/// # Errors
/// When the store cannot be read.
pub async fn waiting(store: &StoreHandle, hot: &[AccountId]) -> Result<usize, String> {
    match store {
        StoreHandle::Memory(store) => Ok(store.all_unposted().len()),
        StoreHandle::Dynamodb { client, tables } => {
            let mut n = 0;
            for &account in hot {
                n += credit_keys(client, &tables.transactions, account)
                    .await?
                    .len();
            }
            Ok(n)
        }
    }
}
