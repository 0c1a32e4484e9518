//! The ledger: every posted balance change is one debit and one credit entry, each recording the
//! balance it left behind. Entry ids increase strictly per account, so "newest first" is also
//! the order the balances changed in.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

use crate::{
    Account, AccountId, ClientId, EntryId, Money, MoneyError, Payment, PaymentId, Refund, RefundId,
    ids::unix_millis, spelling::spelled,
};

spelled! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Direction {
        /// Money leaving the account.
        Debit => "debit",
        /// Money entering the account.
        Credit => "credit",
    }
}

/// Why a page cursor is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is malformed or belongs to another listing")]
pub struct InvalidCursor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: EntryId,
    pub account_id: AccountId,
    /// The account's owner, copied onto every entry so that a page of entries proves on its own
    /// whose account it lists (an account never changes owner).
    pub owner: ClientId,
    pub payment_id: PaymentId,
    /// The refund this entry posts, if it posts one (else it posts the payment's capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub direction: Direction,
    /// Always positive; `direction` says which way it moved.
    pub amount: Money,
    /// The account's posted balance right after this entry.
    pub balance_after: i64,
    /// The other side of the double entry.
    pub counterparty: AccountId,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl LedgerEntry {
    /// The signed change this entry made to its account's balance.
    pub fn signed_amount(&self) -> i64 {
        match self.direction {
            Direction::Debit => -self.amount.amount,
            Direction::Credit => self.amount.amount,
        }
    }
}

/// The id of the next entry on an account: time-ordered, and strictly after `head` even when
/// clocks disagree or two entries land in the same millisecond. Never predictable from `head`
/// alone: two writers planning on the same head get different ids, so a write that finds its
/// first entry already stored knows it was its own earlier attempt, not a rival's.
pub fn next_entry_id(head: Option<EntryId>, now: OffsetDateTime) -> EntryId {
    let fresh = EntryId::generate(now);
    match head {
        Some(head) if fresh <= head => {
            // Same or earlier millisecond than the head: step a random distance past it (at
            // most 2^32 of the 80 random bits, so the id stays in or just after its millisecond).
            let step = 1 + u128::from(rand::random::<u32>());
            let next = head
                .ulid()
                .0
                .checked_add(step)
                .map(Ulid)
                .unwrap_or(head.ulid());
            EntryId::from_ulid(next)
        }
        _ => fresh,
    }
}

/// A capture, funding or refund, planned against the accounts as read: the two entries and the
/// two balances after. The adapters write exactly this (DynamoDB conditions it on both accounts'
/// `ledger_head` being unchanged, so `balance_after` is exact).
#[derive(Debug, Clone)]
pub struct Posting {
    pub debit: LedgerEntry,
    pub credit: LedgerEntry,
}

impl Posting {
    /// The capture of a succeeded payment (a funding, a one-step payment, or a capture of all or
    /// part of a hold): its captured amount moves from `source` to `destination`.
    ///
    /// # Errors
    /// [`MoneyError`] when a balance would overflow or the currencies differ.
    pub fn plan(
        payment: &Payment,
        source: &Account,
        destination: &Account,
        now: OffsetDateTime,
    ) -> Result<Self, MoneyError> {
        Self::between(
            payment.id,
            None,
            payment.captured_money(),
            source,
            destination,
            now,
        )
    }

    /// A refund: `refund.amount` moves back from the payee's account (the payment's
    /// destination) to the payer's (its source); both entries name the refund.
    ///
    /// # Errors
    /// [`MoneyError`] when a balance would overflow or the currencies differ.
    pub fn refund(
        refund: &Refund,
        payee: &Account,
        payer: &Account,
        now: OffsetDateTime,
    ) -> Result<Self, MoneyError> {
        Self::between(
            refund.payment_id,
            Some(refund.id),
            refund.amount,
            payee,
            payer,
            now,
        )
    }

    fn between(
        payment_id: PaymentId,
        refund_id: Option<RefundId>,
        amount: Money,
        from: &Account,
        to: &Account,
        now: OffsetDateTime,
    ) -> Result<Self, MoneyError> {
        let from_after = from.balance_money().checked_sub(amount)?;
        let to_after = to.balance_money().checked_add(amount)?;
        // `available` never exceeds `balance`, so crediting it cannot overflow once this holds.
        let entry =
            |account: &Account, direction, balance_after: Money, counterparty| LedgerEntry {
                id: next_entry_id(account.ledger_head, now),
                account_id: account.id,
                owner: account.owner.clone(),
                payment_id,
                refund_id,
                direction,
                amount,
                balance_after: balance_after.amount,
                counterparty,
                created_at: now,
            };
        Ok(Self {
            debit: entry(from, Direction::Debit, from_after, to.id),
            credit: entry(to, Direction::Credit, to_after, from.id),
        })
    }
}

/// One page request of an account's entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryQuery {
    /// 1 to [`EntryQuery::MAX_LIMIT`].
    pub limit: u16,
    /// Continue after this entry (from a previous page's cursor).
    pub after: Option<EntryId>,
    /// Entries created at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Entries created strictly before this instant.
    pub to: Option<OffsetDateTime>,
}

impl EntryQuery {
    pub const DEFAULT_LIMIT: u16 = 20;
    pub const MAX_LIMIT: u16 = 100;

    pub fn first(limit: u16) -> Self {
        Self {
            limit,
            after: None,
            from: None,
            to: None,
        }
    }

    /// The inclusive range of entry ids this query may return, or `None` if it is empty.
    /// Because entry ids are ULIDs, time bounds are id bounds.
    pub fn id_range(&self) -> Option<(EntryId, EntryId)> {
        let low = self
            .from
            .map_or(0, |from| Ulid::from_parts(unix_millis(from), 0).0);
        let mut high = self.to.map_or(u128::MAX, |to| {
            Ulid::from_parts(unix_millis(to), 0).0.saturating_sub(1)
        });
        if let Some(after) = self.after {
            high = high.min(after.ulid().0.checked_sub(1)?);
        }
        (low <= high).then(|| {
            (
                EntryId::from_ulid(Ulid(low)),
                EntryId::from_ulid(Ulid(high)),
            )
        })
    }
}

/// A page of entries and, when more remain, the cursor for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: Option<EntryCursor>,
}

impl EntryPage {
    /// No entries and nothing after them: what an empty id range yields.
    pub fn empty() -> Self {
        Self {
            entries: Vec::new(),
            next_cursor: None,
        }
    }
}

/// Where the next page starts. Opaque to clients, and bound to one account: presenting it with
/// another account's listing is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryCursor {
    pub account: AccountId,
    pub after: EntryId,
}

impl EntryCursor {
    const VERSION: &'static str = "v1";

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", Self::VERSION, self.account, self.after))
    }

    /// # Errors
    /// [`InvalidCursor`] when malformed or issued for a different account.
    pub fn decode(text: &str, account: AccountId) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let mut parts = text.split(':');
        let (Some(Self::VERSION), Some(owner), Some(after), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidCursor);
        };
        let owner: AccountId = owner.parse().map_err(|_| InvalidCursor)?;
        let after: EntryId = after.parse().map_err(|_| InvalidCursor)?;
        if owner == account {
            Ok(Self { account, after })
        } else {
            Err(InvalidCursor)
        }
    }
}

/// Cuts a newest-first run of up to `limit + 1` entries into a page: the extra entry only says
/// that another page exists, so `next_cursor` is exact rather than a guess.
pub fn paginate(account: AccountId, mut entries: Vec<LedgerEntry>, limit: u16) -> EntryPage {
    let limit = usize::from(limit);
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next_cursor = more
        .then(|| {
            entries.last().map(|last| EntryCursor {
                account,
                after: last.id,
            })
        })
        .flatten();
    EntryPage {
        entries,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn entry_ids_always_move_past_the_head() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let future_head = EntryId::generate(now + time::Duration::seconds(5));
        let next = next_entry_id(Some(future_head), now);
        assert!(next > future_head);
        assert!(next.ulid().0 - future_head.ulid().0 <= 1 << 32);
        assert_ne!(
            next,
            next_entry_id(Some(future_head), now),
            "not predictable"
        );
        let past_head = EntryId::generate(now - time::Duration::seconds(5));
        assert!(next_entry_id(Some(past_head), now) > past_head);
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_account() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let (mine, theirs) = (AccountId::generate(now), AccountId::generate(now));
        let cursor = EntryCursor {
            account: mine,
            after: EntryId::generate(now),
        };
        let text = cursor.encode();
        assert_eq!(EntryCursor::decode(&text, mine), Ok(cursor));
        assert_eq!(EntryCursor::decode(&text, theirs), Err(InvalidCursor));
        let mut altered = text.clone().into_bytes();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        assert!(EntryCursor::decode(std::str::from_utf8(&altered).unwrap(), mine).is_err());
        for bad in ["", "!!!", "djE6", &URL_SAFE_NO_PAD.encode("v1:x:y:z")] {
            assert_eq!(EntryCursor::decode(bad, mine), Err(InvalidCursor), "{bad}");
        }
    }

    #[test]
    fn time_bounds_become_id_bounds() {
        let from = datetime!(2026-11-22 10:00 UTC);
        let to = datetime!(2026-11-22 11:00 UTC);
        let q = EntryQuery {
            limit: 10,
            after: None,
            from: Some(from),
            to: Some(to),
        };
        let (low, high) = q.id_range().unwrap();
        let inside = EntryId::generate(from);
        let at_to = EntryId::generate(to);
        assert!(low <= inside && inside <= high);
        assert!(at_to > high);
        let empty = EntryQuery {
            from: Some(to),
            to: Some(from),
            ..q
        };
        assert_eq!(empty.id_range(), None);
    }
}
