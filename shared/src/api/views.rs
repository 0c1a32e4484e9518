//! The JSON shapes the API answers with (documented in `docs/openapi.yaml`).

use serde::Serialize;
use time::OffsetDateTime;

use crate::{Account, AccountId, EntryId, EntryPage, LedgerEntry, Payment, PaymentId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    pub id: PaymentId,
    pub object: &'static str,
    pub status: &'static str,
    pub source_account: AccountId,
    pub destination_account: AccountId,
    /// Minor units.
    pub amount: i64,
    pub currency: &'static str,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When a pending payment stops being confirmable.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Payment> for PaymentView {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id,
            object: "payment",
            status: p.status().as_str(),
            source_account: p.source,
            destination_account: p.destination,
            amount: p.amount.amount,
            currency: p.amount.currency.code(),
            description: p.description.clone(),
            created_at: p.created_at,
            expires_at: p.expires_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceView {
    pub account_id: AccountId,
    pub currency: &'static str,
    /// Posted balance, minor units.
    pub balance: i64,
    /// Balance minus funds held by pending payments, minor units.
    pub available: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

impl BalanceView {
    pub fn new(account: &Account, as_of: OffsetDateTime) -> Self {
        Self {
            account_id: account.id,
            currency: account.currency.code(),
            balance: account.balance,
            available: account.available,
            as_of,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryView {
    pub id: EntryId,
    pub object: &'static str,
    pub account_id: AccountId,
    pub payment_id: PaymentId,
    pub direction: &'static str,
    pub amount: i64,
    pub currency: &'static str,
    pub balance_after: i64,
    pub counterparty_account: AccountId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&LedgerEntry> for EntryView {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            id: e.id,
            object: "ledger_entry",
            account_id: e.account_id,
            payment_id: e.payment_id,
            direction: e.direction.as_str(),
            amount: e.amount.amount,
            currency: e.amount.currency.code(),
            balance_after: e.balance_after,
            counterparty_account: e.counterparty,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryPageView {
    pub object: &'static str,
    pub data: Vec<EntryView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<&EntryPage> for EntryPageView {
    fn from(page: &EntryPage) -> Self {
        Self {
            object: "list",
            data: page.entries.iter().map(EntryView::from).collect(),
            next_cursor: page.next_cursor.map(|c| c.encode()),
        }
    }
}
