//! Batched credit posting in the embedded store: unposted credits kept in key order per
//! account, posted under the store's lock with the same [`CreditBatch`] plan the DynamoDB
//! adapter writes, and a work queue that wakes the local poster
//! ([`MemoryStore::take_posting_work`] after [`MemoryStore::posting_signal`]).

use std::{
    collections::{BTreeMap, HashSet, VecDeque},
    sync::Arc,
};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::{MemoryStore, State};
use crate::{
    Account, AccountError, AccountId, AccountKind, PostingMode, StoreError,
    store::{Balance, Posted, PostingStore},
    unposted::{CreditBatch, CreditKey, MAX_BATCH_CREDITS, UnpostedCredit},
};

/// The unposted credits and the accounts that have some, queued for the poster.
#[derive(Debug, Default)]
pub(super) struct Posting {
    /// Each account's credits, in key order (an account without any has no entry).
    credits: BTreeMap<AccountId, BTreeMap<CreditKey, UnpostedCredit>>,
    queue: VecDeque<AccountId>,
    queued: HashSet<AccountId>,
    /// Woken once per account queued; `notify_one` keeps a permit when nobody waits.
    signal: Arc<Notify>,
}

impl Posting {
    /// The account's credits, oldest key first.
    fn of(&self, account: AccountId) -> impl Iterator<Item = &UnpostedCredit> {
        self.credits
            .get(&account)
            .into_iter()
            .flat_map(|c| c.values())
    }
}

impl State {
    /// Records a credit into a batched account (in the caller's write) and queues the account.
    pub(super) fn defer(&mut self, credit: UnpostedCredit) {
        let account = credit.account_id;
        self.posting
            .credits
            .entry(account)
            .or_default()
            .insert(credit.key(), credit);
        if self.posting.queued.insert(account) {
            self.posting.queue.push_back(account);
            self.posting.signal.notify_one();
        }
    }

    /// One posting write of up to `max` credits, under the lock.
    fn post_batch(
        &mut self,
        id: AccountId,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        let max = max.clamp(1, MAX_BATCH_CREDITS);
        let credits: Vec<UnpostedCredit> = self.posting.of(id).take(max + 1).cloned().collect();
        let more = credits.len() > max;
        let credits = &credits[..credits.len().min(max)];
        self.post_these(id, credits, now, more)
    }

    /// Posts `credits` (all present) in one write.
    fn post_these(
        &mut self,
        id: AccountId,
        credits: &[UnpostedCredit],
        now: OffsetDateTime,
        more: bool,
    ) -> Result<Posted, StoreError> {
        if credits.is_empty() {
            return Ok(Posted {
                credits: 0,
                oldest: None,
                more: false,
            });
        }
        let account = self.account(id)?;
        let batch = CreditBatch::plan(account, credits, now)?;
        let oldest = credits.iter().map(|c| c.captured_at).min();
        if let Some(pending) = self.posting.credits.get_mut(&id) {
            for key in &batch.keys {
                pending.remove(key);
            }
            if pending.is_empty() {
                self.posting.credits.remove(&id);
            }
        }
        let count = batch.entries.len();
        for entry in batch.entries {
            // A credit entry: `balance`, `available` and the head move with it.
            self.apply_entry(entry, false);
        }
        Ok(Posted {
            credits: count,
            oldest,
            more,
        })
    }

    fn incoming(&self, account: AccountId) -> i64 {
        self.posting.of(account).map(|c| c.amount.amount).sum()
    }
}

impl MemoryStore {
    /// Takes up to `max` accounts with credits to post, oldest queued first. An account taken
    /// is queued again by its next credit; a poster that fails on it must retry it itself.
    pub fn take_posting_work(&self, max: usize) -> Vec<AccountId> {
        let mut state = self.state();
        let posting = &mut state.posting;
        let n = max.min(posting.queue.len());
        let taken: Vec<AccountId> = posting.queue.drain(..n).collect();
        for id in &taken {
            posting.queued.remove(id);
        }
        taken
    }

    /// Notified whenever an account is queued: wait on it, then
    /// [`MemoryStore::take_posting_work`] until it comes back empty.
    pub fn posting_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.state().posting.signal)
    }

    /// Every unposted credit, in key order per account (audits and tests).
    pub fn all_unposted(&self) -> Vec<UnpostedCredit> {
        self.state()
            .posting
            .credits
            .values()
            .flat_map(|c| c.values().cloned())
            .collect()
    }

    /// Every account and every unposted credit as of one instant (the conservation check).
    pub fn ledger_cut(&self) -> (Vec<Account>, Vec<UnpostedCredit>) {
        let state = self.state();
        (
            state.accounts.values().cloned().collect(),
            state
                .posting
                .credits
                .values()
                .flat_map(|c| c.values().cloned())
                .collect(),
        )
    }
}

#[async_trait]
impl PostingStore for MemoryStore {
    async fn balance(&self, id: AccountId) -> Result<Option<Balance>, StoreError> {
        let state = self.state();
        Ok(state.accounts.get(&id).map(|account| Balance {
            account: account.clone(),
            incoming: state.incoming(id),
        }))
    }

    async fn set_posting(
        &self,
        id: AccountId,
        mode: PostingMode,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(&id)
            .filter(|a| a.kind == AccountKind::Customer)
            .ok_or(AccountError::NotFound(id))?;
        account.posting = mode;
        if mode == PostingMode::Immediate {
            while state.post_batch(id, MAX_BATCH_CREDITS, now)?.more {}
        }
        Ok(state.account(id)?.clone())
    }

    async fn post_credits(
        &self,
        id: AccountId,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        self.state().post_batch(id, max, now)
    }

    async fn post_known(
        &self,
        id: AccountId,
        credits: &[UnpostedCredit],
        now: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        let mut state = self.state();
        let pending = state.posting.credits.get(&id);
        let all_there = !credits.is_empty()
            && credits.len() <= MAX_BATCH_CREDITS
            && credits
                .iter()
                .all(|c| c.account_id == id && pending.is_some_and(|p| p.contains_key(&c.key())));
        if !all_there {
            return state.post_batch(id, credits.len(), now);
        }
        state.post_these(id, credits, now, false)
    }

    async fn unposted(&self, id: AccountId, max: usize) -> Result<Vec<UnpostedCredit>, StoreError> {
        Ok(self.state().posting.of(id).take(max).cloned().collect())
    }

    async fn batched_accounts(
        &self,
        after: Option<AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, StoreError> {
        let state = self.state();
        let mut ids: Vec<AccountId> = state
            .accounts
            .values()
            .filter(|a| a.posting == PostingMode::Batched && after.is_none_or(|after| a.id > after))
            .map(|a| a.id)
            .collect();
        ids.sort();
        ids.truncate(limit);
        Ok(ids)
    }
}
