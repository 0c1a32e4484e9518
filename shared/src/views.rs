//! The JSON shapes the API answers with (documented in `docs/openapi.yaml`).

use serde::Serialize;
use time::OffsetDateTime;

use crate::{
    Account, AccountId, EntryId, EntryPage, LedgerEntry, Payment, PaymentId, RefundId,
    listing::{AccountCursor, AccountPage, PaymentCursor, PaymentPage},
    refund::{Refund, RefundReason},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    pub id: PaymentId,
    pub object: &'static str,
    pub status: &'static str,
    pub source_account: AccountId,
    pub destination_account: AccountId,
    /// Minor units.
    pub amount: i64,
    /// Minor units captured: 0 until confirmed, then at most `amount` (a partial capture
    /// releases the rest of the hold).
    pub amount_captured: i64,
    /// Minor units refunded so far, at most `amount_captured`.
    pub amount_refunded: i64,
    pub currency: &'static str,
    pub description: Option<String>,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
    /// When a pending payment stops being confirmable.
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub updated_at: OffsetDateTime,
    /// Risk control's assessment when it was created.
    pub risk: crate::RiskAssessment,
    /// The operator's decision, once a payment in review has one.
    pub review: Option<ReviewView>,
}

/// An operator's decision on a payment in review, as its parties see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewView {
    pub decision: &'static str,
    pub note: Option<String>,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub reviewed_at: OffsetDateTime,
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
            amount_captured: p.amount_captured,
            amount_refunded: p.amount_refunded,
            currency: p.amount.currency.code(),
            description: p.description.clone(),
            created_at: p.created_at,
            expires_at: p.expires_at,
            updated_at: p.updated_at,
            risk: p.risk.clone(),
            review: p.review.as_ref().map(|r| ReviewView {
                decision: r.decision.as_str(),
                note: r.note.clone(),
                reviewed_at: r.reviewed_at,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceView {
    pub account_id: AccountId,
    pub currency: &'static str,
    /// `immediate` or `batched`: whether credits post at once or in batches.
    pub posting: &'static str,
    /// Posted balance, minor units.
    pub balance: i64,
    /// Captured into the account and not posted yet (batched accounts), minor units: not part
    /// of `balance` or `available`, not spendable until posted.
    pub incoming: i64,
    /// Balance minus funds held by pending payments, minor units.
    pub available: i64,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub as_of: OffsetDateTime,
}

impl BalanceView {
    pub fn new(shown: &crate::store::Balance, as_of: OffsetDateTime) -> Self {
        let account = &shown.account;
        Self {
            account_id: account.id,
            currency: account.currency.code(),
            posting: account.posting.as_str(),
            balance: account.balance,
            incoming: shown.incoming,
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
    #[serde(with = "crate::timefmt::rfc3339_millis")]
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

/// A refund: money the payee gave back to the payer, out of a succeeded payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundView {
    pub id: RefundId,
    pub object: &'static str,
    pub payment_id: PaymentId,
    /// Minor units.
    pub amount: i64,
    pub currency: &'static str,
    pub status: &'static str,
    pub reason: Option<&'static str>,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl From<&Refund> for RefundView {
    fn from(r: &Refund) -> Self {
        Self {
            id: r.id,
            object: "refund",
            payment_id: r.payment_id,
            amount: r.amount.amount,
            currency: r.amount.currency.code(),
            status: r.status.as_str(),
            reason: r.reason.map(RefundReason::as_str),
            created_at: r.created_at,
        }
    }
}

/// One of the caller's accounts, in `GET /accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub id: AccountId,
    pub object: &'static str,
    pub currency: &'static str,
    pub status: &'static str,
    /// Posted balance, minor units.
    pub balance: i64,
    /// Balance minus funds held by pending payments, minor units.
    pub available: i64,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id,
            object: "account",
            currency: a.currency.code(),
            status: a.status.as_str(),
            balance: a.balance,
            available: a.available,
            created_at: a.created_at,
        }
    }
}

/// One page of a list (payments, refunds, accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListView<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    /// Whether another page follows; then `next_cursor` fetches it.
    pub has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListView<T> {
    /// A page, and the cursor of the next one if there is one.
    pub fn page(data: Vec<T>, next_cursor: Option<String>) -> Self {
        Self {
            object: "list",
            data,
            has_more: next_cursor.is_some(),
            next_cursor,
        }
    }
}

impl From<&PaymentPage> for ListView<PaymentView> {
    fn from(page: &PaymentPage) -> Self {
        Self::page(
            page.payments.iter().map(PaymentView::from).collect(),
            page.next_cursor.as_ref().map(PaymentCursor::encode),
        )
    }
}

impl From<&AccountPage> for ListView<AccountView> {
    fn from(page: &AccountPage) -> Self {
        Self::page(
            page.accounts.iter().map(AccountView::from).collect(),
            page.next_cursor.as_ref().map(AccountCursor::encode),
        )
    }
}

impl From<&[Refund]> for ListView<RefundView> {
    /// A payment's refunds, as the store reads them with the payment: one page, oldest first.
    fn from(refunds: &[Refund]) -> Self {
        Self::page(refunds.iter().map(RefundView::from).collect(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountLimits, ClientId, Currency, Direction, Money, NewPayment};
    use time::macros::datetime;

    #[test]
    fn every_view_prints_times_with_exactly_three_fractional_digits() {
        let now = datetime!(2026-11-22 20:06:09.93 UTC);
        let owner: ClientId = "alice".parse().unwrap();
        let limits = AccountLimits {
            per_payment: 500,
            daily_outflow: 900,
        };
        let account = Account::open(
            AccountId::generate(now),
            owner.clone(),
            Currency::CNY,
            limits,
            now,
        );
        let new = NewPayment {
            client_id: owner.clone(),
            payee: "bob".parse().unwrap(),
            source: account.id,
            destination: AccountId::generate(now),
            amount: Money::new(250, Currency::CNY),
            description: None,
        };
        let payment = Payment::pending(new, now, time::Duration::minutes(15)).unwrap();
        let entry = LedgerEntry {
            id: EntryId::generate(now),
            account_id: account.id,
            owner,
            payment_id: payment.id,
            refund_id: None,
            direction: Direction::Debit,
            amount: Money::new(250, Currency::CNY),
            balance_after: 0,
            counterparty: payment.destination,
            created_at: datetime!(2026-11-22 20:06:10.001 +01:00),
        };
        let json =
            |value: serde_json::Value, field: &str| value[field].as_str().unwrap().to_owned();
        let shown = serde_json::to_value(PaymentView::from(&payment)).unwrap();
        assert_eq!(
            json(shown.clone(), "created_at"),
            "2026-11-22T20:06:09.930Z"
        );
        assert_eq!(
            json(shown.clone(), "updated_at"),
            "2026-11-22T20:06:09.930Z"
        );
        assert_eq!(json(shown, "expires_at"), "2026-11-22T20:21:09.930Z");
        let balance = serde_json::to_value(BalanceView::new(
            &crate::store::Balance {
                account: account.clone(),
                incoming: 0,
            },
            datetime!(2026-11-22 10:00 UTC),
        ));
        assert_eq!(json(balance.unwrap(), "as_of"), "2026-11-22T10:00:00.000Z");
        let listed = serde_json::to_value(EntryView::from(&entry)).unwrap();
        assert_eq!(json(listed, "created_at"), "2026-11-22T19:06:10.001Z");
    }
}
