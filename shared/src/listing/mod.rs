//! Listings: a client's payments, as payer or as payee, and a client's accounts, a page at a
//! time with opaque cursors.
//!
//! What a page is, is defined here once ([`select_payments`], [`select_accounts`]) over the plain
//! set of candidates; the in-memory store applies it to everything it holds, and the DynamoDB
//! adapter reaches the same pages with one index `Query` each (see `docs/data-model.md`).
//!
//! A payment listing walks the client's side of the payments newest first, by
//! [`PaymentPosition`] (creation time to the millisecond, then id). The key range (client, role,
//! `from`, `to`, cursor) costs nothing to narrow; the filters (statuses, account) are applied to
//! the payments the range yields. A page examines at most [`PaymentQuery::examine_limit`]
//! payments of the range, so a page with filters may hold fewer than `limit` payments, even none,
//! and still have a cursor: the listing has ended only when `next_cursor` is `None`. Without
//! filters, a page is always full unless it is the last.

mod cursor;
pub mod reviews;

use time::OffsetDateTime;

pub(crate) use cursor::digest16;
pub use cursor::{AccountCursor, PaymentCursor};

use crate::{
    Account, AccountId, AccountKind, ClientId, InvalidCursor, Party, Payment, PaymentId,
    PaymentStatus,
};

/// Where a payment sits in a listing: newest first means highest position first. Times are
/// compared to the millisecond, as they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaymentPosition {
    pub created_at: OffsetDateTime,
    pub id: PaymentId,
}

impl PaymentPosition {
    pub fn new(created_at: OffsetDateTime, id: PaymentId) -> Self {
        Self {
            created_at: crate::clock::truncate_to_millis(created_at),
            id,
        }
    }

    pub fn of(payment: &Payment) -> Self {
        Self::new(payment.created_at, payment.id)
    }
}

/// One page request of a client's payments, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentQuery {
    pub client: ClientId,
    /// Payments the client pays (it created them) or receives (it owns their destination).
    pub role: Party,
    /// Only payments in one of these statuses; empty means every status.
    pub statuses: Vec<PaymentStatus>,
    /// Only payments from (as payer) or to (as payee) this account.
    pub account: Option<AccountId>,
    /// Payments created at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Payments created strictly before this instant.
    pub to: Option<OffsetDateTime>,
    /// 1 to [`PaymentQuery::MAX_LIMIT`]; stores clamp anything else into that range.
    pub limit: u16,
    /// Continue after this position (from a previous page of the same query).
    pub after: Option<PaymentCursor>,
}

impl PaymentQuery {
    pub const DEFAULT_LIMIT: u16 = 20;
    pub const MAX_LIMIT: u16 = 100;
    /// A page with filters examines up to this many payments per payment it may return...
    pub const EXAMINED_PER_RESULT: usize = 10;
    /// ...and never more than this many: at the largest payment item, still well under the
    /// 1 MB DynamoDB reads per `Query` call, so the one call a page makes reads them all.
    pub const MAX_EXAMINED: usize = 300;

    /// The first page of everything `client` pays (or receives), [`Self::DEFAULT_LIMIT`] a page.
    pub fn first(client: ClientId, role: Party) -> Self {
        Self {
            client,
            role,
            statuses: Vec::new(),
            account: None,
            from: None,
            to: None,
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }

    /// The number of payments a page holds at most: `limit` within 1 to [`Self::MAX_LIMIT`].
    pub fn page_size(&self) -> usize {
        usize::from(self.limit.clamp(1, Self::MAX_LIMIT))
    }

    /// Whether a payment in the key range may still be left out (by status or account).
    pub fn is_filtered(&self) -> bool {
        !self.statuses.is_empty() || self.account.is_some()
    }

    /// How many payments of the key range a page examines at most. Without filters, one more
    /// than the page holds: the extra one only tells that another page exists, so the cursor is
    /// exact rather than a guess.
    pub fn examine_limit(&self) -> usize {
        let wanted = self.page_size() + 1;
        if self.is_filtered() {
            (wanted * Self::EXAMINED_PER_RESULT).min(Self::MAX_EXAMINED)
        } else {
            wanted
        }
    }

    /// `from` and `to` to the millisecond, as positions are compared.
    pub fn time_bounds(&self) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
        let millis = |t: Option<OffsetDateTime>| t.map(crate::clock::truncate_to_millis);
        (millis(self.from), millis(self.to))
    }

    /// # Errors
    /// [`InvalidCursor`] when `after` was issued for another client, role or filters: stores
    /// refuse such a query rather than resume one listing at another's position.
    pub fn check_cursor(&self) -> Result<(), InvalidCursor> {
        match &self.after {
            Some(cursor) if !cursor.is_for(self) => Err(InvalidCursor),
            _ => Ok(()),
        }
    }

    /// Whether `payment` is on the client's side of this listing (before any filter).
    pub fn is_own(&self, payment: &Payment) -> bool {
        match self.role {
            Party::Payer => payment.client_id == self.client,
            Party::Payee => payment.payee == self.client,
        }
    }

    /// Whether `position` lies in the key range: within `from`..`to` and below the cursor.
    pub fn in_range(&self, position: PaymentPosition) -> bool {
        let (from, to) = self.time_bounds();
        from.is_none_or(|from| position.created_at >= from)
            && to.is_none_or(|to| position.created_at < to)
            && self
                .after
                .as_ref()
                .is_none_or(|cursor| position < cursor.position)
    }

    /// Whether `payment` passes the filters (statuses and account).
    pub fn passes_filters(&self, payment: &Payment) -> bool {
        let account = match self.role {
            Party::Payer => payment.source,
            Party::Payee => payment.destination,
        };
        (self.statuses.is_empty() || self.statuses.contains(&payment.status()))
            && self.account.is_none_or(|wanted| wanted == account)
    }
}

/// A page of payments, newest first, and the cursor of the next page when there may be one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPage {
    pub payments: Vec<Payment>,
    pub next_cursor: Option<PaymentCursor>,
}

impl PaymentPage {
    /// No payments and nothing after them: what an empty key range yields.
    pub fn empty() -> Self {
        Self {
            payments: Vec::new(),
            next_cursor: None,
        }
    }

    /// Cuts what one page examined into the page. `matched` are the examined payments that
    /// passed the filters, newest first; `more_after` is the position of the last payment
    /// examined when the key range goes on below it.
    pub fn cut(
        query: &PaymentQuery,
        mut matched: Vec<Payment>,
        more_after: Option<PaymentPosition>,
    ) -> Self {
        let resume_at = cut(
            &mut matched,
            query.page_size(),
            more_after,
            PaymentPosition::of,
        );
        Self {
            next_cursor: resume_at.map(|position| PaymentCursor::at(query, position)),
            payments: matched,
        }
    }
}

/// The page `query` yields over `candidates` (any payments, in any order): the reference
/// semantics of a payment listing, which the in-memory store applies as it is.
pub fn select_payments<'a>(
    query: &PaymentQuery,
    candidates: impl IntoIterator<Item = &'a Payment>,
) -> PaymentPage {
    let (matched, more_after) = examine(
        candidates
            .into_iter()
            .filter(|p| query.is_own(p) && query.in_range(PaymentPosition::of(p))),
        query.examine_limit(),
        PaymentPosition::of,
        |p| query.passes_filters(p),
    );
    PaymentPage::cut(query, matched, more_after)
}

/// What one page of a newest-first listing examines, as a store's key range yields it: the
/// `in_range` candidates ordered by `position`, newest first, at most `limit` of them; returns
/// those that pass `keep` and, when the range goes on below them, the position of the last one
/// examined (where the next page resumes when this one is not full).
pub(crate) fn examine<'a, T: Clone + 'a, P: Ord>(
    in_range: impl Iterator<Item = &'a T>,
    limit: usize,
    position: impl Fn(&T) -> P,
    keep: impl Fn(&T) -> bool,
) -> (Vec<T>, Option<P>) {
    let mut in_range: Vec<&T> = in_range.collect();
    in_range.sort_by_key(|t| std::cmp::Reverse(position(t)));
    let examined = in_range.len().min(limit);
    let more_after = (in_range.len() > examined)
        .then(|| in_range[..examined].last().map(|t| position(t)))
        .flatten();
    let matched = in_range[..examined]
        .iter()
        .filter(|t| keep(t))
        .map(|t| (*t).clone())
        .collect();
    (matched, more_after)
}

/// Cuts `matched` (newest first) to a page of `size`; where the next page resumes: after the
/// page's last item when more matched, else `more_after`.
pub(crate) fn cut<T, P>(
    matched: &mut Vec<T>,
    size: usize,
    more_after: Option<P>,
    position: impl Fn(&T) -> P,
) -> Option<P> {
    if matched.len() > size {
        matched.truncate(size);
        matched.last().map(position)
    } else {
        more_after
    }
}

/// One page request of a client's own (customer) accounts, in id order (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountQuery {
    /// 1 to [`AccountQuery::MAX_LIMIT`]; stores clamp anything else into that range.
    pub limit: u16,
    /// Continue after this account (from a previous page of the same owner).
    pub after: Option<AccountCursor>,
}

impl AccountQuery {
    pub const DEFAULT_LIMIT: u16 = 20;
    pub const MAX_LIMIT: u16 = 100;

    pub fn first(limit: u16) -> Self {
        Self { limit, after: None }
    }

    /// # Errors
    /// [`InvalidCursor`] when `after` was issued for another owner's accounts.
    pub fn check_cursor(&self, owner: &ClientId) -> Result<(), InvalidCursor> {
        match &self.after {
            Some(cursor) if &cursor.owner != owner => Err(InvalidCursor),
            _ => Ok(()),
        }
    }

    /// The number of accounts a page holds at most: `limit` within 1 to [`Self::MAX_LIMIT`].
    pub fn page_size(&self) -> usize {
        usize::from(self.limit.clamp(1, Self::MAX_LIMIT))
    }
}

/// A page of accounts in id order and, when more remain, the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    pub accounts: Vec<Account>,
    pub next_cursor: Option<AccountCursor>,
}

impl AccountPage {
    /// Cuts up to `page_size + 1` of the owner's accounts, in id order, into a page: the extra
    /// one only says that another page exists. `more_after` is the last account examined when
    /// the owner's accounts go on after it (some examined ones may have been left out).
    pub fn cut(
        owner: &ClientId,
        query: &AccountQuery,
        mut accounts: Vec<Account>,
        more_after: Option<AccountId>,
    ) -> Self {
        let size = query.page_size();
        let resume_after = if accounts.len() > size {
            accounts.truncate(size);
            accounts.last().map(|a| a.id)
        } else {
            more_after
        };
        Self {
            next_cursor: resume_after.map(|after| AccountCursor {
                owner: owner.clone(),
                after,
            }),
            accounts,
        }
    }
}

/// The page `query` yields over `candidates`: `owner`'s customer accounts after the cursor, in id
/// order. The reference semantics, which the in-memory store applies as it is.
pub fn select_accounts<'a>(
    owner: &ClientId,
    query: &AccountQuery,
    candidates: impl IntoIterator<Item = &'a Account>,
) -> AccountPage {
    let after = query.after.as_ref().map(|c| c.after);
    let mut owned: Vec<&Account> = candidates
        .into_iter()
        .filter(|a| &a.owner == owner && after.is_none_or(|after| a.id > after))
        .collect();
    owned.sort_by_key(|a| a.id);
    let examined = owned.len().min(query.page_size() + 1);
    let more_after = (owned.len() > examined)
        .then(|| owned[..examined].last().map(|a| a.id))
        .flatten();
    let accounts = owned[..examined]
        .iter()
        .filter(|a| a.kind == AccountKind::Customer)
        .map(|a| (*a).clone())
        .collect();
    AccountPage::cut(owner, query, accounts, more_after)
}

#[cfg(test)]
mod tests;
