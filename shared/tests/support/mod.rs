//! Fixtures and builders shared by the store contract cases.

pub mod fixture;
pub mod moto;

pub use fixture::{Backend, Fixture};

use paygate_shared::{
    Account, AccountId, AccountLimits, AccountStatus, ClientId, Currency, EntryQuery, Fingerprint,
    IdempotencyKey, IdempotencyRecord, LedgerEntry, Money, NewPayment, Payment,
    idempotency::RETENTION, store::Store,
};
use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use time::{Duration, OffsetDateTime, macros::datetime};

/// The suite's "now": every operation is given an explicit time derived from it.
pub const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);
/// The confirmation window of the payments the cases create.
pub const TTL: Duration = Duration::minutes(15);
/// Limits that never get in the way.
pub const GENEROUS: AccountLimits = AccountLimits {
    per_payment: 1_000_000,
    daily_outflow: 10_000_000,
};

pub fn cny(amount: i64) -> Money {
    Money::new(amount, Currency::CNY)
}

pub fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::USD)
}

pub fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

pub fn client(name: &str) -> ClientId {
    name.parse().expect("a valid client id")
}

/// Creates an account with the given status and returns it as written.
pub async fn open_account(
    store: &dyn Store,
    owner: &ClientId,
    currency: Currency,
    limits: AccountLimits,
    status: AccountStatus,
    now: OffsetDateTime,
) -> Account {
    let opened = Account::open(
        AccountId::generate(now),
        owner.clone(),
        currency,
        limits,
        now,
    );
    let account = Account { status, ..opened };
    store
        .create_account(&account)
        .await
        .unwrap_or_else(|e| panic!("create_account {}: {e}", account.id));
    OWNERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(account.id, owner.clone());
    account
}

/// Creates an active CNY account and funds it with `amount` (nothing when 0).
pub async fn open_funded(
    store: &dyn Store,
    owner: &ClientId,
    limits: AccountLimits,
    amount: i64,
    now: OffsetDateTime,
) -> AccountId {
    let account = open_account(
        store,
        owner,
        Currency::CNY,
        limits,
        AccountStatus::Active,
        now,
    )
    .await;
    if amount > 0 {
        store
            .fund(account.id, cny(amount), now)
            .await
            .unwrap_or_else(|e| panic!("fund {}: {e}", account.id));
    }
    account.id
}

/// Owners of the accounts [`open_account`] created, so that [`transfer`] can name a payment's
/// payee as the pay handler does (account ids are random: tests running in parallel never
/// see each other's entries).
static OWNERS: LazyLock<Mutex<HashMap<AccountId, ClientId>>> = LazyLock::new(Mutex::default);

/// The owner of `account` if [`open_account`] created it; otherwise a client that owns nothing
/// (the stores then refuse the destination as missing).
pub fn payee_of(account: AccountId) -> ClientId {
    let owners = OWNERS.lock().unwrap_or_else(|p| p.into_inner());
    owners
        .get(&account)
        .cloned()
        .unwrap_or_else(|| client("nobody"))
}

/// A pending transfer created at `now`, open for [`TTL`], to the destination's owner.
pub fn transfer(
    client: &ClientId,
    source: AccountId,
    destination: AccountId,
    amount: Money,
    now: OffsetDateTime,
) -> Payment {
    transfer_ttl(client, source, destination, amount, now, TTL)
}

pub fn transfer_ttl(
    client: &ClientId,
    source: AccountId,
    destination: AccountId,
    amount: Money,
    now: OffsetDateTime,
    ttl: Duration,
) -> Payment {
    let new = NewPayment {
        client_id: client.clone(),
        payee: payee_of(destination),
        source,
        destination,
        amount,
        description: None,
    };
    Payment::pending(new, now, ttl).expect("source and destination differ")
}

/// The same payment captured at creation: a one-step payment.
pub fn one_step(payment: Payment) -> Payment {
    let at = payment.created_at;
    payment
        .capture(payment.amount, at)
        .expect("a fresh pending payment captures")
}

/// The idempotency record a request under `key` (scoped to the payment's client) would write.
/// `request` stands for the request's canonical body: equal requests, equal fingerprints.
pub fn record(
    payment: &Payment,
    key: &str,
    request: &str,
    now: OffsetDateTime,
) -> IdempotencyRecord {
    IdempotencyRecord {
        key: IdempotencyKey::new(payment.client_id.clone(), key).expect("a valid key"),
        fingerprint: fingerprint(request),
        payment_id: payment.id,
        response_status: 201,
        response_body: format!(
            r#"{{"id":"{}","status":"{}","amount":{}}}"#,
            payment.id,
            payment.status().as_str(),
            payment.amount.amount
        ),
        created_at: now,
        expires_at: now + RETENTION,
    }
}

pub fn fingerprint(request: &str) -> Fingerprint {
    Fingerprint::of(&[b"POST", b"/v1/payments", request.as_bytes()])
}

/// Reads an account that must exist.
pub async fn account(store: &dyn Store, id: AccountId) -> Account {
    store
        .account(id)
        .await
        .unwrap_or_else(|e| panic!("account({id}): {e}"))
        .unwrap_or_else(|| panic!("account {id} should exist"))
}

/// Every entry of an account, newest first, paging with the largest page size and checking that
/// ids strictly decrease across pages.
pub async fn all_entries(store: &dyn Store, id: AccountId) -> Vec<LedgerEntry> {
    let mut entries: Vec<LedgerEntry> = Vec::new();
    let mut query = EntryQuery::first(EntryQuery::MAX_LIMIT);
    loop {
        let page = store
            .entries(id, &query)
            .await
            .unwrap_or_else(|e| panic!("entries({id}): {e}"));
        assert!(page.entries.len() <= usize::from(EntryQuery::MAX_LIMIT));
        entries.extend(page.entries);
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(cursor.account, id, "a cursor is bound to its account");
                query.after = Some(cursor.after);
            }
            None => break,
        }
    }
    for pair in entries.windows(2) {
        assert!(
            pair[0].id > pair[1].id,
            "entries of {id} must be newest first: {pair:?}"
        );
    }
    assert!(
        entries.iter().all(|e| e.account_id == id),
        "entries of {id} belong to it"
    );
    entries
}

/// Checks each entry's `balance_after` against the one below it, from a zero opening balance,
/// and returns the balance the entries add up to.
pub fn assert_balance_chain(entries: &[LedgerEntry]) -> i64 {
    let mut balance = 0_i64;
    for entry in entries.iter().rev() {
        assert!(
            entry.amount.amount > 0,
            "entry amounts are positive: {entry:?}"
        );
        balance += entry.signed_amount();
        assert_eq!(entry.balance_after, balance, "balance_after of {entry:?}");
    }
    balance
}
