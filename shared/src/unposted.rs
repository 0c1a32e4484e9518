//! Batched credit posting, the domain half. A payment, refund or funding that credits a
//! [`PostingMode::Batched`] account debits its source exactly as an immediate one does, but
//! instead of moving the destination's balance it records an [`UnpostedCredit`] in the same
//! atomic write. A poster later applies an account's credits in [`CreditKey`] order, up to
//! [`MAX_BATCH_CREDITS`] per write ([`CreditBatch::plan`]), each as an ordinary credit entry with
//! its exact `balance_after`, deleting each credit in the write that posts it.
//!
//! Money is conserved at every instant: the deferring write moves an amount from a balance into
//! a credit, the posting write moves it from credits into a balance. So the sum of all balances
//! plus all unposted credits of a currency is always zero.

use time::OffsetDateTime;

use crate::{
    Account, AccountId, Direction, LedgerEntry, Money, MoneyError, Payment, PaymentId, Refund,
    RefundId,
    clock::truncate_to_millis,
    ledger::{Posting, next_entry_id},
};

/// The most credits one posting write carries: DynamoDB allows 100 writes per transaction, and
/// a batch is the account's update plus, per credit, its entry's put and its own delete.
pub const MAX_BATCH_CREDITS: usize = 49;

/// What a credit posts: a payment's capture (or funding) or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CreditOf {
    Capture(PaymentId),
    Refund(RefundId),
}

/// Where a credit stands in its account's posting order: when it was captured (milliseconds),
/// then what it posts. The order of keys equals the order of their stored form (fixed-width
/// time, then `pay_…` before `re_…`, then the canonical ULID), so both stores post in the same
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreditKey {
    pub at: OffsetDateTime,
    pub of: CreditOf,
}

/// A credit waiting to be posted to `account_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpostedCredit {
    pub account_id: AccountId,
    pub payment_id: PaymentId,
    /// The refund this credit posts (to the payer), if it posts one.
    pub refund_id: Option<RefundId>,
    /// Always positive.
    pub amount: Money,
    /// The account debited for it.
    pub counterparty: AccountId,
    /// When the debit was written, to the millisecond.
    pub captured_at: OffsetDateTime,
}

impl UnpostedCredit {
    pub fn key(&self) -> CreditKey {
        CreditKey {
            at: self.captured_at,
            of: match self.refund_id {
                Some(refund) => CreditOf::Refund(refund),
                None => CreditOf::Capture(self.payment_id),
            },
        }
    }
}

/// A capture, funding or refund into a batched account: the debit, written at once, and the
/// credit that waits for the poster.
#[derive(Debug, Clone)]
pub struct DeferredPosting {
    pub debit: LedgerEntry,
    pub credit: UnpostedCredit,
}

/// How a change settles: both entries now, or the debit now and the credit later (when the
/// account credited posts in batches).
#[derive(Debug, Clone)]
pub enum Settlement {
    Immediate(Posting),
    Deferred(DeferredPosting),
}

impl Settlement {
    /// The capture of a succeeded payment (see [`Posting::plan`]), deferred when `destination`
    /// is batched.
    ///
    /// # Errors
    /// [`MoneyError`] when a balance would overflow or the currencies differ.
    pub fn plan(
        payment: &Payment,
        source: &Account,
        destination: &Account,
        now: OffsetDateTime,
    ) -> Result<Self, MoneyError> {
        let posting = Posting::plan(payment, source, destination, now)?;
        Ok(Self::settle(posting, destination, now))
    }

    /// A refund (see [`Posting::refund`]), deferred when the payer's account is batched.
    ///
    /// # Errors
    /// [`MoneyError`] when a balance would overflow or the currencies differ.
    pub fn refund(
        refund: &Refund,
        payee: &Account,
        payer: &Account,
        now: OffsetDateTime,
    ) -> Result<Self, MoneyError> {
        let posting = Posting::refund(refund, payee, payer, now)?;
        Ok(Self::settle(posting, payer, now))
    }

    /// The entry that debits the source (written at once either way).
    pub fn debit(&self) -> &LedgerEntry {
        match self {
            Self::Immediate(posting) => &posting.debit,
            Self::Deferred(deferred) => &deferred.debit,
        }
    }

    fn settle(posting: Posting, credited: &Account, now: OffsetDateTime) -> Self {
        match credited.posting {
            crate::PostingMode::Immediate => Self::Immediate(posting),
            crate::PostingMode::Batched => {
                let Posting { debit, credit } = posting;
                Self::Deferred(DeferredPosting {
                    credit: UnpostedCredit {
                        account_id: credit.account_id,
                        payment_id: credit.payment_id,
                        refund_id: credit.refund_id,
                        amount: credit.amount,
                        counterparty: credit.counterparty,
                        captured_at: truncate_to_millis(now),
                    },
                    debit,
                })
            }
        }
    }
}

/// One posting write: the credits' entries against the account as read, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditBatch {
    /// One credit entry per credit, ids strictly increasing after the account's head.
    pub entries: Vec<LedgerEntry>,
    /// The credits posted (and deleted), in the entries' order.
    pub keys: Vec<CreditKey>,
    /// What the batch adds to `balance` and `available`.
    pub total: i64,
}

impl CreditBatch {
    /// Plans `credits` (in any order; they are posted in key order) onto `account` as read.
    /// The write must be conditioned on the account's `ledger_head` still being the one read,
    /// so every `balance_after` is exact.
    ///
    /// # Errors
    /// [`MoneyError`] when the balance would overflow or a credit's currency is not the
    /// account's.
    pub fn plan(
        account: &Account,
        credits: &[UnpostedCredit],
        now: OffsetDateTime,
    ) -> Result<Self, MoneyError> {
        let mut ordered: Vec<&UnpostedCredit> = credits.iter().collect();
        ordered.sort_by_key(|c| c.key());
        let mut balance = account.balance_money();
        let mut head = account.ledger_head;
        let mut entries = Vec::with_capacity(ordered.len());
        let mut total = Money::new(0, account.currency);
        for credit in &ordered {
            debug_assert_eq!(credit.account_id, account.id, "a credit of another account");
            balance = balance.checked_add(credit.amount)?;
            total = total.checked_add(credit.amount)?;
            let id = next_entry_id(head, now);
            head = Some(id);
            entries.push(LedgerEntry {
                id,
                account_id: account.id,
                owner: account.owner.clone(),
                payment_id: credit.payment_id,
                refund_id: credit.refund_id,
                direction: Direction::Credit,
                amount: credit.amount,
                balance_after: balance.amount,
                counterparty: credit.counterparty,
                created_at: now,
            });
        }
        Ok(Self {
            entries,
            keys: ordered.iter().map(|c| c.key()).collect(),
            total: total.amount,
        })
    }

    /// The newest entry: the account's head once the batch is written.
    pub fn last(&self) -> Option<&LedgerEntry> {
        self.entries.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountLimits, ClientId, Currency, PostingMode};
    use time::macros::datetime;

    fn merchant(balance: i64) -> Account {
        let now = datetime!(2026-11-30 10:00 UTC);
        let mut a = Account::open(
            AccountId::generate(now),
            ClientId::system(),
            Currency::CNY,
            AccountLimits {
                per_payment: 1_000,
                daily_outflow: 1_000,
            },
            now,
        );
        a.balance = balance;
        a.available = balance;
        a.posting = PostingMode::Batched;
        a
    }

    fn credit(to: &Account, amount: i64, at: OffsetDateTime) -> UnpostedCredit {
        UnpostedCredit {
            account_id: to.id,
            payment_id: PaymentId::generate(at),
            refund_id: None,
            amount: Money::new(amount, to.currency),
            counterparty: AccountId::generate(at),
            captured_at: at,
        }
    }

    #[test]
    fn a_batch_chains_exact_balances_in_key_order_after_the_head() {
        let t = datetime!(2026-11-30 10:00 UTC);
        let mut a = merchant(100);
        a.ledger_head = Some(crate::EntryId::generate(t + time::Duration::seconds(60)));
        let late = credit(&a, 5, t + time::Duration::milliseconds(2));
        let early = credit(&a, 7, t);
        let batch = CreditBatch::plan(&a, &[late.clone(), early.clone()], t).unwrap();
        assert_eq!(batch.keys, vec![early.key(), late.key()]);
        assert_eq!(
            batch
                .entries
                .iter()
                .map(|e| (e.payment_id, e.balance_after))
                .collect::<Vec<_>>(),
            vec![(early.payment_id, 107), (late.payment_id, 112)]
        );
        assert_eq!(batch.total, 12);
        assert!(batch.entries[0].id > a.ledger_head.unwrap());
        assert!(batch.entries[1].id > batch.entries[0].id);
    }

    #[test]
    fn a_batch_refuses_overflow_and_other_currencies() {
        let t = datetime!(2026-11-30 10:00 UTC);
        let a = merchant(i64::MAX - 1);
        assert_eq!(
            CreditBatch::plan(&a, &[credit(&a, 2, t)], t),
            Err(MoneyError::Overflow)
        );
        let empty = merchant(0);
        let dollars = UnpostedCredit {
            amount: Money::new(1, Currency::USD),
            ..credit(&empty, 1, t)
        };
        assert!(matches!(
            CreditBatch::plan(&empty, &[dollars], t),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn captures_sort_before_refunds_at_the_same_millisecond() {
        let t = datetime!(2026-11-30 10:00 UTC);
        let a = merchant(0);
        let capture = credit(&a, 1, t);
        let refund = UnpostedCredit {
            refund_id: Some(RefundId::generate(t)),
            ..credit(&a, 1, t)
        };
        assert!(capture.key() < refund.key());
        assert!("pay_" < "re_");
    }

    #[test]
    fn a_batched_destination_defers_the_credit_and_keeps_the_debit() {
        let t = datetime!(2026-11-30 10:00:00.123456 UTC);
        let payer = {
            let mut p = merchant(500);
            p.posting = PostingMode::Immediate;
            p
        };
        let payee = merchant(0);
        let payment = Payment::funding(payer.id, payee.id, Money::new(200, Currency::CNY), t);
        let Settlement::Deferred(d) = Settlement::plan(&payment, &payer, &payee, t).unwrap() else {
            panic!("a batched destination defers");
        };
        assert_eq!(d.debit.balance_after, 300);
        assert_eq!(d.credit.amount.amount, 200);
        assert_eq!(d.credit.account_id, payee.id);
        assert_eq!(d.credit.counterparty, payer.id);
        assert_eq!(d.credit.captured_at, datetime!(2026-11-30 10:00:00.123 UTC));
        assert!(matches!(
            Settlement::plan(&payment, &payer, &payer, t).unwrap(),
            Settlement::Immediate(_)
        ));
    }
}
