//! The audit: the store read directly (never through the API), every invariant of the ledger
//! checked over the whole of it. The DynamoDB tables are scanned and their items decoded here,
//! from the layout in `docs/data-model.md`, independently of the adapter's own decoding.
//! Partial captures and refunds have their own checks in [`refunds`].
//!
//! An unposted credit (a credit into a batched account the poster has not posted yet) stands in
//! for the credit entry it will become: conservation counts it with the balances, and a
//! succeeded payment (or refund) has exactly one of the two.

pub mod refunds;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use paygate_shared::{
    AccountKind, Direction, EntryQuery, PaymentKind, PaymentStatus,
    store::{LedgerStore, PaymentStore, dynamodb::TableNames, memory::MemoryStore},
};

use crate::setup::StoreHandle;

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub treasury: bool,
    pub currency: String,
    pub balance: i64,
    pub available: i64,
}

#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub id: String,
    pub status: String,
    pub funding: bool,
    pub source: String,
    pub destination: String,
    pub amount: i64,
    pub currency: String,
    pub description: Option<String>,
    /// What the capture moved (0 until captured; at most `amount`).
    pub captured: i64,
    /// What refunds have given back (at most `captured`).
    pub refunded: i64,
}

/// A refund: `refund_id` → its payment and amount.
#[derive(Debug, Clone)]
pub struct RefundRow {
    /// `re_<ULID>`.
    pub id: String,
    pub payment: String,
    pub amount: i64,
}

#[derive(Debug, Clone)]
pub struct EntryRow {
    /// `txn_<ULID>`: string order is id order.
    pub id: String,
    pub account: String,
    pub payment: String,
    pub debit: bool,
    pub amount: i64,
    pub balance_after: i64,
    /// The refund this entry belongs to; `None` for a capture (or a funding).
    pub refund: Option<String>,
}

/// A credit into a batched account that the poster has not posted yet.
#[derive(Debug, Clone)]
pub struct CreditRow {
    pub account: String,
    pub payment: String,
    /// The refund it pays back to the payer; `None` for a capture's (or funding's) credit.
    pub refund: Option<String>,
    pub amount: i64,
    pub currency: String,
}

impl CreditRow {
    /// The credit entry it will be posted as, for the checks that ask whether a payment or
    /// refund was settled (its id says it is not one yet; no `balance_after` until posted).
    fn as_entry(&self) -> EntryRow {
        EntryRow {
            id: format!(
                "unposted:{}",
                self.refund.as_deref().unwrap_or(&self.payment)
            ),
            account: self.account.clone(),
            payment: self.payment.clone(),
            debit: false,
            amount: self.amount,
            balance_after: 0,
            refund: self.refund.clone(),
        }
    }
}

/// Everything in the store.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub accounts: Vec<AccountRow>,
    pub payments: Vec<PaymentRow>,
    pub refunds: Vec<RefundRow>,
    pub entries: Vec<EntryRow>,
    pub credits: Vec<CreditRow>,
}

impl Snapshot {
    /// The ledger as it will be once the poster has drained: the entries plus each unposted
    /// credit as the entry it will become.
    fn settled(&self) -> Self {
        let mut settled = self.clone();
        settled
            .entries
            .extend(self.credits.iter().map(CreditRow::as_entry));
        settled.credits.clear();
        settled
    }
}

/// Reads the whole store.
///
/// # Errors
/// When the store cannot be read, or an item does not have the documented shape.
pub async fn snapshot(store: &StoreHandle) -> Result<Snapshot, String> {
    match store {
        StoreHandle::Memory(store) => memory_snapshot(store).await,
        StoreHandle::Dynamodb { client, tables } => dynamodb_snapshot(client, tables).await,
    }
}

async fn memory_snapshot(store: &MemoryStore) -> Result<Snapshot, String> {
    let mut snapshot = Snapshot::default();
    for account in store.all_accounts() {
        let mut query = EntryQuery::first(EntryQuery::MAX_LIMIT);
        loop {
            let page = store
                .entries(account.id, &query)
                .await
                .map_err(|e| e.to_string())?;
            snapshot
                .entries
                .extend(page.entries.iter().map(|e| EntryRow {
                    id: e.id.to_string(),
                    account: e.account_id.to_string(),
                    payment: e.payment_id.to_string(),
                    debit: e.direction == Direction::Debit,
                    amount: e.amount.amount,
                    balance_after: e.balance_after,
                    refund: e.refund_id.map(|id| id.to_string()),
                }));
            match page.next_cursor {
                Some(cursor) => query.after = Some(cursor.after),
                None => break,
            }
        }
        snapshot.accounts.push(AccountRow {
            id: account.id.to_string(),
            treasury: account.kind == AccountKind::Treasury,
            currency: account.currency.code().to_owned(),
            balance: account.balance,
            available: account.available,
        });
    }
    snapshot
        .credits
        .extend(store.all_unposted().into_iter().map(|c| CreditRow {
            account: c.account_id.to_string(),
            payment: c.payment_id.to_string(),
            refund: c.refund_id.map(|id| id.to_string()),
            amount: c.amount.amount,
            currency: c.amount.currency.code().to_owned(),
        }));
    for p in store.all_payments() {
        snapshot.payments.push(PaymentRow {
            id: p.id.to_string(),
            status: p.status().as_str().to_owned(),
            funding: p.kind == PaymentKind::Funding,
            source: p.source.to_string(),
            destination: p.destination.to_string(),
            amount: p.amount.amount,
            currency: p.amount.currency.code().to_owned(),
            description: p.description.clone(),
            captured: p.amount_captured,
            refunded: p.amount_refunded,
        });
        // Only a captured payment can have refunds: one read each, the way the API reads them.
        if p.status() == PaymentStatus::Succeeded {
            let (_, refunds) = store
                .payment_with_refunds(p.id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{}: listed but not readable", p.id))?;
            snapshot.refunds.extend(refunds.iter().map(|r| RefundRow {
                id: r.id.to_string(),
                payment: r.payment_id.to_string(),
                amount: r.amount.amount,
            }));
        }
    }
    Ok(snapshot)
}

type Item = HashMap<String, AttributeValue>;

/// Items per scan page.
const SCAN_PAGE: i32 = 200;

pub(crate) async fn scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    // A single-threaded moto may still be working through requests a load gave up on, and a
    // large page takes it a while: pages are kept small, and a timeout is retried.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let result = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .limit(SCAN_PAGE)
            .set_exclusive_start_key(start.clone())
            .send()
            .await;
        let page = match result {
            Ok(page) => page,
            Err(e) if e.as_service_error().is_none() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => {
                return Err(format!(
                    "scanning {table}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                ));
            }
        };
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    Ok(items)
}

pub(crate) fn s(item: &Item, name: &str) -> Result<String, String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(format!("item {:?}: no string `{name}`", item.get("pk"))),
    }
}

/// A number attribute that items written before issue 13 lack.
fn n_or(item: &Item, name: &str, missing: i64) -> Result<i64, String> {
    if item.contains_key(name) {
        n(item, name)
    } else {
        Ok(missing)
    }
}

pub(crate) fn n(item: &Item, name: &str) -> Result<i64, String> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| format!("item {:?}: `{name}` = {v} is not an i64", item.get("pk"))),
        _ => Err(format!("item {:?}: no number `{name}`", item.get("pk"))),
    }
}

async fn dynamodb_snapshot(
    client: &aws_sdk_dynamodb::Client,
    tables: &TableNames,
) -> Result<Snapshot, String> {
    let mut snapshot = Snapshot::default();
    for item in scan(client, &tables.accounts).await? {
        if s(&item, "type").ok().as_deref() != Some("account") {
            continue;
        }
        snapshot.accounts.push(AccountRow {
            id: s(&item, "account_id")?,
            treasury: s(&item, "kind")? == "treasury",
            currency: s(&item, "currency")?,
            balance: n(&item, "balance")?,
            available: n(&item, "available")?,
        });
    }
    for item in scan(client, &tables.transactions).await? {
        match s(&item, "type").ok().as_deref() {
            Some("payment") => {
                let status = s(&item, "status")?;
                let amount = n(&item, "amount")?;
                // Written before partial captures: a succeeded payment captured all of it.
                let whole = if status == "succeeded" { amount } else { 0 };
                snapshot.payments.push(PaymentRow {
                    id: s(&item, "payment_id")?,
                    funding: s(&item, "kind")? == "funding",
                    source: s(&item, "source")?,
                    destination: s(&item, "destination")?,
                    amount,
                    currency: s(&item, "currency")?,
                    description: s(&item, "description").ok(),
                    captured: n_or(&item, "amount_captured", whole)?,
                    refunded: n_or(&item, "amount_refunded", 0)?,
                    status,
                });
            }
            Some("refund") => snapshot.refunds.push(RefundRow {
                id: s(&item, "refund_id")?,
                payment: s(&item, "payment_id")?,
                amount: n(&item, "amount")?,
            }),
            Some("entry") => snapshot.entries.push(EntryRow {
                id: s(&item, "entry_id")?,
                account: s(&item, "account_id")?,
                payment: s(&item, "payment_id")?,
                debit: s(&item, "direction")? == "debit",
                amount: n(&item, "amount")?,
                balance_after: n(&item, "balance_after")?,
                refund: s(&item, "refund_id").ok(),
            }),
            Some("unposted_credit") => snapshot.credits.push(credit_row(&item)?),
            _ => {}
        }
    }
    Ok(snapshot)
}

/// An unposted credit's item (`type = unposted_credit`, `docs/data-model.md`).
pub(crate) fn credit_row(item: &Item) -> Result<CreditRow, String> {
    Ok(CreditRow {
        account: s(item, "account_id")?,
        payment: s(item, "payment_id")?,
        refund: s(item, "refund_id").ok(),
        amount: n(item, "amount")?,
        currency: s(item, "currency")?,
    })
}

/// Conservation: per currency, all balances (treasury included) plus all unposted credits sum
/// to exactly 0. One line per currency that does not.
pub fn conservation<'a>(
    balances: impl IntoIterator<Item = (&'a str, i64)>,
    credits: impl IntoIterator<Item = (&'a str, i64)>,
) -> Vec<String> {
    let mut sums: BTreeMap<&str, (i128, i128)> = BTreeMap::new();
    for (currency, balance) in balances {
        sums.entry(currency).or_default().0 += i128::from(balance);
    }
    for (currency, amount) in credits {
        sums.entry(currency).or_default().1 += i128::from(amount);
    }
    sums.into_iter()
        .filter(|(_, (balances, credits))| balances + credits != 0)
        .map(|(currency, (balances, credits))| {
            format!(
                "{currency}: balances sum to {balances} and unposted credits to {credits}: {}, not 0",
                balances + credits
            )
        })
        .collect()
}

/// Every invariant of the ledger over `snapshot`; one line per violation (none is the pass).
pub fn check(snapshot: &Snapshot) -> Vec<String> {
    let mut violations = Vec::new();
    // 1. Conservation: per currency, all balances (treasury included) plus what waits to be
    // posted sum to exactly 0.
    violations.extend(conservation(
        snapshot
            .accounts
            .iter()
            .map(|a| (a.currency.as_str(), a.balance)),
        snapshot
            .credits
            .iter()
            .map(|c| (c.currency.as_str(), c.amount)),
    ));
    for c in snapshot.credits.iter().filter(|c| c.amount <= 0) {
        violations.push(format!(
            "unposted credit of {} to {} is {}",
            c.payment, c.account, c.amount
        ));
    }
    // 2. No customer account is overdrawn or holds more than it has.
    for a in snapshot.accounts.iter().filter(|a| !a.treasury) {
        if a.available < 0 {
            violations.push(format!("{}: available {} < 0", a.id, a.available));
        }
        if a.available > a.balance {
            violations.push(format!(
                "{}: available {} > balance {}",
                a.id, a.available, a.balance
            ));
        }
    }
    // 3. Each balance is the sum of its entries, and balance_after chains.
    let mut by_account: HashMap<&str, Vec<&EntryRow>> = HashMap::new();
    for e in &snapshot.entries {
        by_account.entry(e.account.as_str()).or_default().push(e);
    }
    for a in &snapshot.accounts {
        let mut entries = by_account.remove(a.id.as_str()).unwrap_or_default();
        entries.sort_by(|x, y| x.id.cmp(&y.id));
        let mut running = 0i64;
        for e in &entries {
            running += if e.debit { -e.amount } else { e.amount };
            if e.balance_after != running {
                violations.push(format!(
                    "{}: entry {} records balance_after {} but the entries before it sum to {running}",
                    a.id, e.id, e.balance_after
                ));
                running = e.balance_after;
            }
        }
        let sum: i64 = entries
            .iter()
            .map(|e| if e.debit { -e.amount } else { e.amount })
            .sum();
        if sum != a.balance {
            violations.push(format!(
                "{}: balance {} but its {} entries sum to {sum}",
                a.id,
                a.balance,
                entries.len()
            ));
        }
    }
    for (account, entries) in by_account {
        violations.push(format!(
            "{} entries on {account}, which is not an account",
            entries.len()
        ));
    }
    // 4. A succeeded payment has exactly one capture: a debit on its source and a credit on its
    // destination (an entry, or an unposted credit), of what it captured (its amount, or less
    // for a partial capture); any other payment has no entry and no credit. Refund entries are
    // checked in `refunds`.
    let settled = snapshot.settled();
    let mut per_payment: HashMap<&str, Vec<&EntryRow>> = HashMap::new();
    for e in &settled.entries {
        per_payment.entry(e.payment.as_str()).or_default().push(e);
    }
    for p in &snapshot.payments {
        let entries = per_payment.remove(p.id.as_str()).unwrap_or_default();
        if p.status == "succeeded" {
            let captures: Vec<_> = entries.iter().filter(|e| e.refund.is_none()).collect();
            let debits: Vec<_> = captures.iter().filter(|e| e.debit).collect();
            let credits: Vec<_> = captures.iter().filter(|e| !e.debit).collect();
            let exact = debits.len() == 1
                && credits.len() == 1
                && debits[0].account == p.source
                && credits[0].account == p.destination
                && debits[0].amount == p.captured
                && credits[0].amount == p.captured;
            if !exact {
                violations.push(format!(
                    "succeeded payment {} has {} debit(s) and {} credit(s), not one of {} each",
                    p.id,
                    debits.len(),
                    credits.len(),
                    p.captured
                ));
            }
        } else if !entries.is_empty() {
            violations.push(format!(
                "{} payment {} has {} ledger entries",
                p.status,
                p.id,
                entries.len()
            ));
        }
    }
    for (payment, entries) in per_payment {
        violations.push(format!(
            "{} entries for {payment}, which is not a payment",
            entries.len()
        ));
    }
    // 5. Holds: balance − available is exactly what pending payments hold on the account.
    let mut held: HashMap<&str, i64> = HashMap::new();
    for p in snapshot.payments.iter().filter(|p| p.status == "pending") {
        *held.entry(p.source.as_str()).or_default() += p.amount;
    }
    for a in &snapshot.accounts {
        let expected = held.get(a.id.as_str()).copied().unwrap_or(0);
        if a.balance - a.available != expected {
            violations.push(format!(
                "{}: holds {} (balance {} − available {}) but pending payments hold {expected}",
                a.id,
                a.balance - a.available,
                a.balance,
                a.available
            ));
        }
    }
    // 6. One payment per idempotency key: the load writes each key into the description.
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for p in &snapshot.payments {
        if let Some(key) = &p.description {
            *per_key.entry(key.as_str()).or_default() += 1;
        }
    }
    for (key, count) in per_key {
        if count > 1 {
            violations.push(format!("idempotency key {key} produced {count} payments"));
        }
    }
    // 7. Partial captures and refunds: each payment's captured − refunded is the net ledger
    // movement between its two accounts.
    violations.extend(refunds::check(&settled));
    violations
}

/// Transfers (funding excluded) by final status.
pub fn payments_by_status(snapshot: &Snapshot) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for p in snapshot.payments.iter().filter(|p| !p.funding) {
        *counts.entry(p.status.clone()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, treasury: bool, balance: i64, available: i64) -> AccountRow {
        AccountRow {
            id: id.into(),
            treasury,
            currency: "CNY".into(),
            balance,
            available,
        }
    }

    fn entry(
        id: &str,
        account: &str,
        payment: &str,
        debit: bool,
        amount: i64,
        after: i64,
    ) -> EntryRow {
        EntryRow {
            id: id.into(),
            account: account.into(),
            payment: payment.into(),
            debit,
            amount,
            balance_after: after,
            refund: None,
        }
    }

    fn payment(id: &str, status: &str, amount: i64) -> PaymentRow {
        PaymentRow {
            id: id.into(),
            status: status.into(),
            funding: false,
            source: "a".into(),
            destination: "b".into(),
            amount,
            currency: "CNY".into(),
            description: Some(format!("key-{id}")),
            captured: if status == "succeeded" { amount } else { 0 },
            refunded: 0,
        }
    }

    /// Treasury funds `a` with 100; `a` pays `b` 30 (succeeded) and holds 5 (pending).
    fn consistent() -> Snapshot {
        let mut fund = payment("f", "succeeded", 100);
        fund.funding = true;
        fund.source = "t".into();
        fund.destination = "a".into();
        fund.description = None;
        Snapshot {
            accounts: vec![
                account("t", true, -100, -100),
                account("a", false, 70, 65),
                account("b", false, 30, 30),
            ],
            payments: vec![
                fund,
                payment("p1", "succeeded", 30),
                payment("p2", "pending", 5),
            ],
            refunds: vec![],
            credits: vec![],
            entries: vec![
                entry("txn_1", "t", "f", true, 100, -100),
                entry("txn_1", "a", "f", false, 100, 100),
                entry("txn_2", "a", "p1", true, 30, 70),
                entry("txn_2", "b", "p1", false, 30, 30),
            ],
        }
    }

    #[test]
    fn a_consistent_ledger_has_no_violation() {
        assert_eq!(check(&consistent()), Vec::<String>::new());
    }

    #[test]
    fn each_broken_invariant_is_found() {
        let mut s = consistent();
        s.accounts[2].balance = 31;
        s.accounts[2].available = 31;
        let v = check(&s);
        assert!(v.iter().any(|v| v.contains("sum to 1")), "{v:?}");
        assert!(v.iter().any(|v| v.contains("entries sum to 30")), "{v:?}");

        let mut s = consistent();
        s.accounts[1].available = 70;
        assert!(
            check(&s)
                .iter()
                .any(|v| v.contains("pending payments hold 5"))
        );

        let mut s = consistent();
        s.entries.pop();
        s.accounts[2].balance = 0;
        s.accounts[2].available = 0;
        s.accounts[0].balance = -70;
        s.accounts[0].available = -70;
        assert!(
            check(&s)
                .iter()
                .any(|v| v.contains("1 debit(s) and 0 credit(s)"))
        );

        let mut s = consistent();
        s.entries[2].balance_after = 71;
        assert!(check(&s).iter().any(|v| v.contains("balance_after 71")));

        let mut s = consistent();
        s.payments[2].description = Some("key-p1".into());
        assert!(check(&s).iter().any(|v| v.contains("produced 2 payments")));
    }

    fn credit(payment: &str, account: &str, amount: i64) -> CreditRow {
        CreditRow {
            account: account.into(),
            payment: payment.into(),
            refund: None,
            amount,
            currency: "CNY".into(),
        }
    }

    /// As [`consistent`], with `b` batched and p1's credit not posted yet.
    fn unposted() -> Snapshot {
        let mut s = consistent();
        s.entries.pop();
        s.accounts[2].balance = 0;
        s.accounts[2].available = 0;
        s.credits.push(credit("p1", "b", 30));
        s
    }

    #[test]
    fn an_unposted_credit_counts_as_the_payments_credit_and_in_conservation() {
        assert_eq!(check(&unposted()), Vec::<String>::new());
    }

    #[test]
    fn a_credit_both_posted_and_waiting_or_of_no_succeeded_payment_is_found() {
        // Posted, and still waiting: money created.
        let mut s = unposted();
        s.entries.push(entry("txn_2", "b", "p1", false, 30, 30));
        s.accounts[2].balance = 30;
        s.accounts[2].available = 30;
        let v = check(&s);
        assert!(
            v.iter().any(|v| v.contains("unposted credits to 30")),
            "{v:?}"
        );
        assert!(
            v.iter().any(|v| v.contains("1 debit(s) and 2 credit(s)")),
            "{v:?}"
        );

        // Waiting on the wrong account.
        let mut s = unposted();
        s.credits[0].account = "a".into();
        assert!(
            check(&s)
                .iter()
                .any(|v| v.contains("p1 has 1 debit(s) and 1 credit(s)"))
        );

        // A credit for a payment that is still pending, or for no payment at all.
        let mut s = consistent();
        s.credits.push(credit("p2", "b", 5));
        s.accounts[0].balance -= 5;
        s.accounts[0].available -= 5;
        let v = check(&s);
        assert!(
            v.iter()
                .any(|v| v.contains("pending payment p2 has 1 ledger entries")),
            "{v:?}"
        );
        let mut s = consistent();
        s.credits.push(credit("p9", "b", 5));
        s.accounts[0].balance -= 5;
        s.accounts[0].available -= 5;
        let v = check(&s);
        assert!(
            v.iter().any(|v| v.contains("p9, which is not a payment")),
            "{v:?}"
        );

        // A lost credit: the debit happened, nothing waits and nothing was posted.
        let mut s = unposted();
        s.credits.clear();
        assert!(check(&s).iter().any(|v| v.contains("balances sum to -30")));
    }
}
