//! The poster: applies batched accounts' unposted credits to their balances
//! ([`crate::unposted`]). The same engine runs in the `post` function (woken by the
//! transactions table's stream and by a schedule) and in `paygate-local` (woken by the embedded
//! store's queue, or by moto's stream).
//!
//! It needs no lock and no checkpoint of its own: every write it makes is conditioned on the
//! account's ledger head and on each credit still existing, so a repeated trigger, a redelivered
//! stream batch or two posters racing on one account post each credit exactly once, and a crash
//! between batches leaves the rest as credits for the next trigger or the sweep.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use time::OffsetDateTime;

use std::{collections::HashMap, sync::Mutex};

use crate::{
    AccountId, Clock, StoreError,
    store::{Posted, PostingStore},
    unposted::{MAX_BATCH_CREDITS, UnpostedCredit},
};

/// How old an account's oldest credit must be before the sweep posts it: younger ones are the
/// stream's to post, and a sweep racing the stream would only waste writes.
pub const SWEEP_MIN_AGE: time::Duration = time::Duration::seconds(30);

/// Counts of what the posters of this process did (the load tool reports them).
#[derive(Debug, Default)]
pub struct PostingStats {
    batches: AtomicU64,
    credits: AtomicU64,
    /// Each posting write's lag (its oldest credit's age when posted), in ms, until taken.
    lags_ms: std::sync::Mutex<Vec<u64>>,
}

impl PostingStats {
    /// Posting writes made (each one write of the account's item).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Credits posted.
    pub fn credits(&self) -> u64 {
        self.credits.load(Ordering::Relaxed)
    }

    /// The lags recorded since the last call (each posting write's oldest credit's age, ms).
    pub fn take_lags(&self) -> Vec<u64> {
        std::mem::take(&mut *self.lags_ms.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What one drain of an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Drained {
    pub batches: usize,
    pub credits: usize,
    /// Whether the budget ran out with credits still waiting.
    pub more: bool,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    /// Batched accounts looked at.
    pub accounts: usize,
    /// Of them, the ones with a credit older than the minimum age, drained.
    pub drained: usize,
    pub credits: usize,
    /// The age of the oldest credit seen (zero when none).
    pub oldest_age: time::Duration,
}

#[derive(Clone)]
pub struct Poster {
    store: Arc<dyn PostingStore>,
    clock: Arc<dyn Clock>,
    stats: Arc<PostingStats>,
    /// The accounts this process is draining now, each with the work triggers brought in
    /// meanwhile (the drain does it next instead of a second drain racing it).
    draining: Arc<Mutex<HashMap<AccountId, Pending>>>,
}

/// What triggers asked for while an account was being drained.
#[derive(Debug, Default)]
struct Pending {
    /// A drain from a fresh read of the credit shards.
    read: bool,
    /// Credits that stream records named.
    credits: Vec<UnpostedCredit>,
}

/// One pass of a drain.
enum Work {
    Read,
    Known(Vec<UnpostedCredit>),
}

/// Takes an account out of [`Poster::draining`] however its drain ends (also when cancelled).
struct Draining<'a> {
    draining: &'a Mutex<HashMap<AccountId, Pending>>,
    account: AccountId,
}

impl Draining<'_> {
    /// The work triggers brought in since the last call, if any.
    fn next(&self) -> Option<Work> {
        let mut draining = self.draining.lock().unwrap_or_else(|p| p.into_inner());
        let pending = std::mem::take(draining.get_mut(&self.account)?);
        if pending.read {
            Some(Work::Read)
        } else if pending.credits.is_empty() {
            None
        } else {
            Some(Work::Known(pending.credits))
        }
    }
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        self.draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.account);
    }
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poster")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Poster {
    pub fn new(store: Arc<dyn PostingStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            stats: Arc::default(),
            draining: Arc::default(),
        }
    }

    pub fn stats(&self) -> Arc<PostingStats> {
        Arc::clone(&self.stats)
    }

    /// The clock the poster reads (what its callers stamp their own records with).
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Posts the account's credits, [`MAX_BATCH_CREDITS`] per write, until none is left or
    /// `budget` is spent. Each write logs one line with the posting lag of its oldest credit.
    ///
    /// Triggers for an account this process is already draining are coalesced: the running
    /// drain reads the account's credits once more when it would have stopped, so it posts
    /// whatever the trigger was for, and the second call returns at once (nothing posted by it)
    /// instead of racing the first with writes doomed to fail their conditions.
    ///
    /// # Errors
    /// The store's, once its own retries are spent (the credits stay for the next trigger, or
    /// the sweep).
    pub async fn drain(&self, account: AccountId, budget: Duration) -> Result<Drained, StoreError> {
        self.run(account, Work::Read, budget).await
    }

    /// Posts `credits` (the account's, as stream records carried them) without reading the
    /// credit shards: a `GetItem` and one write per [`MAX_BATCH_CREDITS`]. A credit already
    /// posted (a redelivered record, a rival poster) turns that write into a drain from a fresh
    /// read. Coalesced with a running drain of the account as [`Poster::drain`] is.
    ///
    /// # Errors
    /// As [`Poster::drain`].
    pub async fn post_known(
        &self,
        account: AccountId,
        credits: Vec<UnpostedCredit>,
        budget: Duration,
    ) -> Result<Drained, StoreError> {
        self.run(account, Work::Known(credits), budget).await
    }

    async fn run(
        &self,
        account: AccountId,
        first: Work,
        budget: Duration,
    ) -> Result<Drained, StoreError> {
        {
            let mut draining = self.draining.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(pending) = draining.get_mut(&account) {
                match first {
                    Work::Read => pending.read = true,
                    Work::Known(credits) => pending.credits.extend(credits),
                }
                return Ok(Drained::default());
            }
            draining.insert(account, Pending::default());
        }
        let guard = Draining {
            draining: &self.draining,
            account,
        };
        let started = Instant::now();
        let mut total = Drained::default();
        let mut work = first;
        loop {
            let left = budget.saturating_sub(started.elapsed());
            let drained = match work {
                Work::Read => self.drain_once(account, left).await?,
                Work::Known(credits) => self.post_these(account, credits).await?,
            };
            total.batches += drained.batches;
            total.credits += drained.credits;
            total.more = drained.more;
            if drained.more {
                return Ok(total);
            }
            match guard.next() {
                Some(next) => work = next,
                None => return Ok(total),
            }
        }
    }

    /// Known credits, [`MAX_BATCH_CREDITS`] per write.
    async fn post_these(
        &self,
        account: AccountId,
        mut credits: Vec<UnpostedCredit>,
    ) -> Result<Drained, StoreError> {
        credits.sort_by_key(UnpostedCredit::key);
        credits.dedup_by_key(|c| c.key());
        let mut drained = Drained::default();
        for chunk in credits.chunks(MAX_BATCH_CREDITS) {
            let now = self.clock.now();
            let posted = self.store.post_known(account, chunk, now).await?;
            if posted.credits > 0 {
                self.record(account, &posted, now);
                drained.batches += 1;
                drained.credits += posted.credits;
            }
        }
        Ok(drained)
    }

    /// One pass: batches until none is left or the budget is spent.
    async fn drain_once(
        &self,
        account: AccountId,
        budget: Duration,
    ) -> Result<Drained, StoreError> {
        let started = Instant::now();
        let mut drained = Drained::default();
        loop {
            let now = self.clock.now();
            let posted = self
                .store
                .post_credits(account, MAX_BATCH_CREDITS, now)
                .await?;
            if posted.credits == 0 {
                return Ok(drained);
            }
            self.record(account, &posted, now);
            drained.batches += 1;
            drained.credits += posted.credits;
            if !posted.more {
                return Ok(drained);
            }
            if started.elapsed() >= budget {
                drained.more = true;
                return Ok(drained);
            }
        }
    }

    /// Drains every batched account whose oldest credit is at least `min_age` old: what the
    /// stream left behind (a failed batch, a poster that crashed). Logs the oldest age seen on
    /// every run, so the lag metric has a point even when there is nothing to post.
    ///
    /// # Errors
    /// The store's; accounts drained before the failure stay drained.
    pub async fn sweep(
        &self,
        min_age: time::Duration,
        budget: Duration,
    ) -> Result<Swept, StoreError> {
        let started = Instant::now();
        let mut swept = Swept::default();
        let mut after = None;
        'pages: loop {
            let page = self.store.batched_accounts(after, 100).await?;
            let Some(last) = page.last().copied() else {
                break;
            };
            for account in page {
                swept.accounts += 1;
                let Some(oldest) = self.store.unposted(account, 1).await?.pop() else {
                    continue;
                };
                let age = self.clock.now() - oldest.captured_at;
                swept.oldest_age = swept.oldest_age.max(age);
                if age < min_age {
                    continue;
                }
                let left = budget.saturating_sub(started.elapsed());
                let drained = self.drain(account, left).await?;
                swept.drained += 1;
                swept.credits += drained.credits;
                if started.elapsed() >= budget {
                    break 'pages;
                }
            }
            after = Some(last);
        }
        tracing::info!(
            accounts = swept.accounts,
            drained = swept.drained,
            credits = swept.credits,
            posting_lag_ms = swept.oldest_age.whole_milliseconds(),
            "unposted credits swept"
        );
        Ok(swept)
    }

    fn record(&self, account: AccountId, posted: &Posted, now: OffsetDateTime) {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .credits
            .fetch_add(posted.credits as u64, Ordering::Relaxed);
        let lag = posted
            .oldest
            .map_or(0, |oldest| (now - oldest).whole_milliseconds());
        self.stats
            .lags_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(u64::try_from(lag).unwrap_or(0));
        tracing::info!(
            account = %account,
            credits = posted.credits,
            posting_lag_ms = lag,
            "credits posted"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Account, AccountLimits, ClientId, Currency, ManualClock, Money, Payment, PostingMode,
        store::{AccountStore, LedgerStore, PaymentStore, memory::MemoryStore},
    };
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);

    async fn setup(credits: i64) -> (Arc<MemoryStore>, Arc<ManualClock>, AccountId) {
        let store = Arc::new(MemoryStore::new());
        let limits = AccountLimits {
            per_payment: 1_000_000,
            daily_outflow: 1_000_000,
        };
        let open = |owner: &str| {
            Account::open(
                AccountId::generate(T0),
                owner.parse::<ClientId>().unwrap(),
                Currency::CNY,
                limits,
                T0,
            )
        };
        let (payer, merchant) = (open("alice"), open("merchant"));
        store.create_account(&payer).await.unwrap();
        store.create_account(&merchant).await.unwrap();
        store
            .fund(payer.id, Money::new(1_000_000, Currency::CNY), T0)
            .await
            .unwrap();
        store
            .set_posting(merchant.id, PostingMode::Batched, T0)
            .await
            .unwrap();
        for i in 0..credits {
            let at = T0 + time::Duration::milliseconds(i);
            let new = crate::NewPayment {
                client_id: payer.owner.clone(),
                payee: merchant.owner.clone(),
                source: payer.id,
                destination: merchant.id,
                amount: Money::new(1, Currency::CNY),
                description: None,
            };
            let p = Payment::pending(new, at, time::Duration::hours(1)).unwrap();
            let p = p.capture(p.amount, at).unwrap();
            let record = crate::IdempotencyRecord {
                key: crate::IdempotencyKey::new(payer.owner.clone(), &format!("k{i}")).unwrap(),
                fingerprint: crate::Fingerprint::of(&[b"x".as_slice()]),
                payment_id: p.id,
                response_status: 201,
                response_body: String::new(),
                created_at: at,
                expires_at: at + time::Duration::days(1),
            };
            store.create_payment(&p, &record, at).await.unwrap();
        }
        let clock = Arc::new(ManualClock::new(T0 + time::Duration::minutes(1)));
        (store, clock, merchant.id)
    }

    #[tokio::test]
    async fn a_drain_posts_everything_in_batches_and_counts_them() {
        let (store, clock, merchant) = setup(120).await;
        let poster = Poster::new(store.clone(), clock);
        let drained = poster
            .drain(merchant, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            drained,
            Drained {
                batches: 3,
                credits: 120,
                more: false
            }
        );
        assert_eq!(
            (poster.stats().batches(), poster.stats().credits()),
            (3, 120)
        );
        // The clock stands a minute after the first capture (t0 + 0 ms .. t0 + 119 ms).
        let lags = poster.stats().take_lags();
        assert_eq!(lags.len(), 3);
        assert_eq!(lags[0], 60_000);
        assert!(poster.stats().take_lags().is_empty(), "taken");
        let shown = store.balance(merchant).await.unwrap().unwrap();
        assert_eq!((shown.account.balance, shown.incoming), (120, 0));
        // A second trigger finds nothing.
        assert_eq!(
            poster.drain(merchant, Duration::from_secs(60)).await,
            Ok(Drained::default())
        );
    }

    #[tokio::test]
    async fn triggers_during_a_drain_are_coalesced_into_it() {
        let (store, clock, merchant) = setup(100).await;
        let poster = Poster::new(store.clone(), clock);
        let (first, second) = tokio::join!(
            poster.drain(merchant, Duration::from_secs(60)),
            poster.drain(merchant, Duration::from_secs(60))
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        // One of them posted everything (the memory store answers at once, so the first may
        // finish before the second starts: then the second finds nothing).
        assert_eq!(first.credits + second.credits, 100);
        assert!(
            first.credits == 0 || second.credits == 0,
            "{first:?} {second:?}"
        );
        assert!(
            poster.draining.lock().unwrap().is_empty(),
            "nothing left marked"
        );
        assert_eq!(store.balance(merchant).await.unwrap().unwrap().incoming, 0);
    }

    #[tokio::test]
    async fn known_credits_post_without_a_read_and_a_posted_one_falls_back_to_reading() {
        let (store, clock, merchant) = setup(60).await;
        let poster = Poster::new(store.clone(), clock);
        let credits = store.all_unposted();
        let drained = poster
            .post_known(merchant, credits[..30].to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!((drained.batches, drained.credits), (1, 30));
        assert_eq!(store.balance(merchant).await.unwrap().unwrap().incoming, 30);
        // Redelivered: the first is gone, so the write reads instead and posts the 30 oldest
        // still there (all of them).
        let again = poster
            .post_known(merchant, credits[..30].to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(again.credits, 30);
        let shown = store.balance(merchant).await.unwrap().unwrap();
        assert_eq!((shown.account.balance, shown.incoming), (60, 0));
        let again = poster
            .post_known(merchant, credits[..30].to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(again.credits, 0, "nothing posted twice");
    }

    #[tokio::test]
    async fn a_spent_budget_stops_after_one_batch_and_says_more() {
        let (store, clock, merchant) = setup(60).await;
        let poster = Poster::new(store.clone(), clock);
        let drained = poster.drain(merchant, Duration::ZERO).await.unwrap();
        assert_eq!(
            drained,
            Drained {
                batches: 1,
                credits: MAX_BATCH_CREDITS,
                more: true
            }
        );
        assert_eq!(
            store.balance(merchant).await.unwrap().unwrap().incoming,
            60 - MAX_BATCH_CREDITS as i64
        );
    }

    #[tokio::test]
    async fn the_sweep_posts_only_credits_older_than_the_minimum_age() {
        let (store, clock, merchant) = setup(5).await;
        let poster = Poster::new(store.clone(), clock.clone());
        // A minute old: younger than two minutes, left to the stream.
        let young = poster
            .sweep(time::Duration::minutes(2), Duration::from_secs(40))
            .await
            .unwrap();
        assert_eq!((young.accounts, young.drained, young.credits), (1, 0, 0));
        assert_eq!(young.oldest_age, time::Duration::minutes(1));
        clock.advance(time::Duration::minutes(1));
        let old = poster
            .sweep(time::Duration::minutes(2), Duration::from_secs(40))
            .await
            .unwrap();
        assert_eq!((old.accounts, old.drained, old.credits), (1, 1, 5));
        assert_eq!(store.balance(merchant).await.unwrap().unwrap().incoming, 0);
        let idle = poster
            .sweep(SWEEP_MIN_AGE, Duration::from_secs(40))
            .await
            .unwrap();
        assert_eq!((idle.accounts, idle.credits), (1, 0));
        assert_eq!(idle.oldest_age, time::Duration::ZERO);
    }
}
