//! Differential test of the two store adapters: random sequences of operations (open accounts,
//! fund, hold or one-step payments under reused idempotency keys, capture (whole, partial or
//! refused), refund (under reused keys too), cancel, expire, switch an account between
//! immediate and batched posting, post a batched account's credits a few at a time, move
//! the clock across windows and days, list entries a page at a time, list overdue payments) are
//! applied step by step to the in-memory store and to the DynamoDB store on moto, with the same
//! inputs (a manual clock, ids made by the test). After every step both must have answered the
//! same (the same value, or the same error) and must show the same state: every account as read,
//! every ledger entry, every payment with its refunds, every balance with what is incoming and
//! every unposted credit.
//!
//! Ids the stores make themselves (funding payments, ledger entries) are random per store, so
//! they are compared by position: funding payments by the order they were made in, entries by
//! their order in the account's ledger.
//!
//! DynamoDB comes from `PAYGATE_TEST_DYNAMODB_ENDPOINT`, or a moto server started for this
//! binary (as for the contract suite). Cases: 24 by default (about 20 steps each),
//! `PROPTEST_CASES` for longer runs:
//! `PROPTEST_CASES=1000 bash tests/run.sh -- -p paygate-shared --test store_differential`.
#![cfg(feature = "dynamodb")]

#[allow(dead_code, unused_imports)]
mod support;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Mutex,
};

use paygate_shared::{
    Account, AccountId, AccountLimits, AccountStatus, Clock, Currency, EntryQuery, Fingerprint,
    IdempotencyKey, IdempotencyRecord, LedgerEntry, ManualClock, Money, NewPayment, Payment,
    PaymentId, PostingMode, Refund, RefundId, ReleaseReason, StoreError,
    idempotency::RETENTION,
    store::{PaymentOutcome, Store},
};
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use time::Duration;

use support::{Fixture, GENEROUS, T0, TTL, client, record};

const DEFAULT_CASES: u32 = 24;
const MAX_STEPS: usize = 20;
const OWNERS: [&str; 2] = ["alice", "bob"];
const CURRENCIES: [Currency; 2] = [Currency::CNY, Currency::USD];
/// Limits that some payments break.
const TIGHT: AccountLimits = AccountLimits {
    per_payment: 20_000,
    daily_outflow: 30_000,
};

/// One operation; indices pick among what exists when it runs (modulo the count).
#[derive(Debug, Clone)]
enum Op {
    Open {
        owner: usize,
        currency: usize,
        tight: bool,
        frozen: bool,
    },
    Fund {
        account: usize,
        amount: i64,
    },
    /// A payment from `source`, by its owner (or, when `foreign`, by the other client).
    Pay {
        source: usize,
        destination: usize,
        amount: i64,
        currency: usize,
        one_step: bool,
        key: usize,
        foreign: bool,
    },
    /// The client retries an earlier payment request: same body, same key, a fresh payment.
    Retry {
        attempt: usize,
    },
    /// Captures a share of the hold: 0 = nothing (refused), 1..=4 quarters, 5 = one more
    /// than held (refused).
    Capture {
        payment: usize,
        share: i64,
    },
    /// The payee refunds `amount` (0 is refused) under one of a few keys.
    Refund {
        payment: usize,
        amount: i64,
        key: usize,
    },
    Release {
        payment: usize,
        expire: bool,
    },
    Advance {
        minutes: i64,
    },
    Page {
        account: usize,
        limit: u16,
    },
    Overdue {
        limit: usize,
    },
    /// Switches an account to batched, or back to immediate (which posts what waits).
    SetPosting {
        account: usize,
        batched: bool,
    },
    /// The poster's write: up to `max` of an account's oldest credits.
    Post {
        account: usize,
        max: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let index = || 0..64_usize;
    prop_oneof![
        2 => (0..2_usize, 0..2_usize, any::<bool>(), prop::bool::weighted(0.15))
            .prop_map(|(owner, currency, tight, frozen)| Op::Open { owner, currency, tight, frozen }),
        2 => (index(), prop_oneof![1 => -5_i64..=0, 9 => 1_i64..=60_000])
            .prop_map(|(account, amount)| Op::Fund { account, amount }),
        6 => (
            (index(), index(), 1_i64..=35_000, prop::bool::weighted(0.9)),
            (any::<bool>(), 0..4_usize, prop::bool::weighted(0.1)),
        )
            .prop_map(|((source, destination, amount, same_currency), (one_step, key, foreign))| Op::Pay {
                source, destination, amount, currency: usize::from(!same_currency), one_step, key, foreign,
            }),
        2 => index().prop_map(|attempt| Op::Retry { attempt }),
        4 => (index(), prop_oneof![1 => Just(0_i64), 8 => 1_i64..=4, 1 => Just(5_i64)])
            .prop_map(|(payment, share)| Op::Capture { payment, share }),
        3 => (index(), prop_oneof![1 => Just(0_i64), 9 => 1_i64..=20_000], 0..3_usize)
            .prop_map(|(payment, amount, key)| Op::Refund { payment, amount, key }),
        2 => (index(), prop::bool::weighted(0.3)).prop_map(|(payment, expire)| Op::Release { payment, expire }),
        2 => prop_oneof![4 => 0_i64..=20, 1 => Just(24 * 60)].prop_map(|minutes| Op::Advance { minutes }),
        1 => (index(), 1_u16..=4).prop_map(|(account, limit)| Op::Page { account, limit }),
        1 => (1_usize..=5).prop_map(|limit| Op::Overdue { limit }),
        2 => (index(), prop::bool::weighted(0.7)).prop_map(|(account, batched)| Op::SetPosting { account, batched }),
        2 => (index(), 1_usize..=3).prop_map(|(account, max)| Op::Post { account, max }),
    ]
}

/// One store with what the test knows of its own ids.
struct Side {
    fixture: Fixture,
    /// Funding payment id → the order it was made in.
    fundings: HashMap<PaymentId, usize>,
}

/// An entry without the ids the store chose: its funding payment by position.
type Entry = (
    AccountId,
    String,
    Option<RefundId>,
    &'static str,
    Money,
    i64,
    AccountId,
    time::OffsetDateTime,
);

impl Side {
    fn store(&self) -> &dyn Store {
        self.fixture.store()
    }

    fn entry(&self, entry: &LedgerEntry) -> Entry {
        let payment = match self.fundings.get(&entry.payment_id) {
            Some(n) => format!("funding #{n}"),
            None => entry.payment_id.to_string(),
        };
        (
            entry.account_id,
            payment,
            entry.refund_id,
            entry.direction.as_str(),
            entry.amount,
            entry.balance_after,
            entry.counterparty,
            entry.created_at,
        )
    }

    /// Every entry of `account`, newest first, paging `limit` at a time; with whether each
    /// page said another one follows.
    async fn pages(
        &self,
        account: AccountId,
        limit: u16,
    ) -> Result<Vec<(Vec<Entry>, bool)>, StoreError> {
        let mut pages = Vec::new();
        let mut query = EntryQuery::first(limit);
        loop {
            let page = self.store().entries(account, &query).await?;
            let entries = page.entries.iter().map(|e| self.entry(e)).collect();
            pages.push((entries, page.next_cursor.is_some()));
            match page.next_cursor {
                Some(cursor) => query.after = Some(cursor.after),
                None => return Ok(pages),
            }
        }
    }

    /// What can be observed of `accounts` and `payments`, with the store's own ids factored out.
    async fn state(
        &self,
        accounts: &[AccountId],
        batched: &HashSet<AccountId>,
        payments: &[Payment],
    ) -> Result<String, StoreError> {
        let mut out = String::new();
        for id in accounts {
            let account = self.store().account(*id).await?;
            // The head is an entry id, random per store: only its presence is compared.
            let has_head = account.as_ref().is_some_and(|a| a.ledger_head.is_some());
            let account = account.map(|a| Account {
                ledger_head: None,
                ..a
            });
            let entries = self.pages(*id, EntryQuery::MAX_LIMIT).await?;
            let incoming = self.store().balance(*id).await?.map(|b| b.incoming);
            // A funding's credit names the store's own payment id: by position, as entries.
            // Only an account that was ever batched can have credits waiting (the shard reads
            // are 8 queries each on DynamoDB).
            let waiting = if batched.contains(id) {
                self.store().unposted(*id, 1000).await?
            } else {
                Vec::new()
            };
            let unposted: Vec<_> = waiting
                .into_iter()
                .map(|c| {
                    let payment = match self.fundings.get(&c.payment_id) {
                        Some(n) => format!("funding #{n}"),
                        None => c.payment_id.to_string(),
                    };
                    (
                        payment,
                        c.refund_id,
                        c.amount,
                        c.counterparty,
                        c.captured_at,
                    )
                })
                .collect();
            out.push_str(&format!(
                "{id}: {account:?} head={has_head} entries={entries:?} incoming={incoming:?} unposted={unposted:?}\n"
            ));
        }
        for payment in payments {
            let stored = self.store().payment_with_refunds(payment.id).await?;
            out.push_str(&format!("{}: {stored:?}\n", payment.id));
        }
        Ok(out)
    }
}

/// What a step answered.
fn outcome<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> String {
    format!("{result:?}")
}

struct Case {
    memory: Side,
    dynamo: Side,
    clock: ManualClock,
    /// Opened accounts: id, currency, owner (an index into `OWNERS`).
    accounts: Vec<(AccountId, Currency, usize)>,
    /// Accounts ever switched to batched.
    batched: HashSet<AccountId>,
    /// Every payment request made, for retries.
    attempts: Vec<Request>,
    payments: Vec<Payment>,
    fundings: usize,
    /// How often each kind of answer came back (what the sequences exercised).
    kinds: BTreeMap<String, usize>,
    log: Vec<String>,
}

impl Case {
    async fn new() -> Self {
        Self {
            memory: Side {
                fixture: Fixture::memory(),
                fundings: HashMap::new(),
            },
            dynamo: Side {
                fixture: Fixture::dynamodb().await,
                fundings: HashMap::new(),
            },
            clock: ManualClock::new(T0),
            accounts: Vec::new(),
            batched: HashSet::new(),
            attempts: Vec::new(),
            payments: Vec::new(),
            fundings: 0,
            kinds: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    /// The accounts an index can pick: those opened, then the CNY treasury and one never opened.
    fn candidates(&self) -> Vec<(AccountId, Currency, usize)> {
        let mut all = self.accounts.clone();
        all.push((Account::treasury_id(Currency::CNY), Currency::CNY, 0));
        let never_opened = AccountId::from_ulid(ulid::Ulid::from_parts(1, 1));
        all.push((never_opened, Currency::CNY, 0));
        all
    }

    /// Mostly an opened account; one pick in eight is the treasury or the never-opened one.
    fn pick(&self, index: usize) -> (AccountId, Currency, usize) {
        let all = self.candidates();
        let opened = all.len() - 2;
        if index % 8 == 7 || opened == 0 {
            all[opened + (index / 8) % 2]
        } else {
            all[index % opened]
        }
    }

    /// Runs `op` on both stores; `Err` describes the first disagreement.
    async fn step(&mut self, op: &Op) -> Result<(), String> {
        let now = self.clock.now();
        let (m, d) = match op {
            Op::Open {
                owner,
                currency,
                tight,
                frozen,
            } => {
                let limits = if *tight { TIGHT } else { GENEROUS };
                let opened = Account::open(
                    AccountId::generate(now),
                    client(OWNERS[*owner]),
                    CURRENCIES[*currency],
                    limits,
                    now,
                );
                let status = if *frozen {
                    AccountStatus::Frozen
                } else {
                    AccountStatus::Active
                };
                let account = Account { status, ..opened };
                let m = self.memory.store().create_account(&account).await;
                let d = self.dynamo.store().create_account(&account).await;
                if m.is_ok() {
                    self.accounts.push((account.id, account.currency, *owner));
                }
                (outcome(&m), outcome(&d))
            }
            Op::Fund { account, amount } => {
                let (id, currency, _) = self.pick(*account);
                let money = Money::new(*amount, currency);
                let m = self.memory.store().fund(id, money, now).await;
                let d = self.dynamo.store().fund(id, money, now).await;
                if let (Ok(mp), Ok(dp)) = (&m, &d) {
                    self.memory.fundings.insert(mp.id, self.fundings);
                    self.dynamo.fundings.insert(dp.id, self.fundings);
                    self.fundings += 1;
                }
                // The funding payment's id is the store's own: compared by position.
                let anonymous = |mut p: Payment| {
                    p.id = PaymentId::from_ulid(ulid::Ulid::nil());
                    p
                };
                (outcome(&m.map(anonymous)), outcome(&d.map(anonymous)))
            }
            Op::Pay {
                source,
                destination,
                amount,
                currency,
                one_step,
                key,
                foreign,
            } => {
                let (source, source_currency, owner) = self.pick(*source);
                let (destination, _, _) = self.pick(*destination);
                let payer = if *foreign { 1 - owner } else { owner };
                let currency = if *currency == 0 {
                    source_currency
                } else if source_currency == Currency::CNY {
                    Currency::USD
                } else {
                    Currency::CNY
                };
                let request = Request {
                    payer,
                    source,
                    destination,
                    amount: Money::new(*amount, currency),
                    one_step: *one_step,
                    key: *key,
                };
                self.attempts.push(request.clone());
                match self.pay(&request, now).await {
                    Some(outcomes) => outcomes,
                    None => return Ok(()),
                }
            }
            Op::Retry { .. } if self.attempts.is_empty() => return Ok(()),
            Op::Retry { attempt } => {
                let request = self.attempts[attempt % self.attempts.len()].clone();
                match self.pay(&request, now).await {
                    Some(outcomes) => outcomes,
                    None => return Ok(()),
                }
            }
            Op::Capture { payment, .. }
            | Op::Refund { payment, .. }
            | Op::Release { payment, .. }
                if self.payments.is_empty() =>
            {
                let _ = payment;
                return Ok(());
            }
            Op::Capture { payment, share } => {
                let payment = self.payments[payment % self.payments.len()].clone();
                let held = payment.amount.amount;
                let amount = match share {
                    0 => 0,
                    5 => held + 1,
                    quarters => (held * quarters + 3) / 4,
                };
                let amount = Money::new(amount, payment.amount.currency);
                let m = self.memory.store().capture(&payment, amount, now).await;
                let d = self.dynamo.store().capture(&payment, amount, now).await;
                (outcome(&m), outcome(&d))
            }
            Op::Refund {
                payment,
                amount,
                key,
            } => {
                // The caller's copy may be stale (pending, or before other refunds).
                let payment = self.payments[payment % self.payments.len()].clone();
                let refund = Refund::new(
                    payment.id,
                    Money::new(*amount, payment.amount.currency),
                    None,
                    now,
                );
                let record = IdempotencyRecord {
                    key: IdempotencyKey::new(payment.payee.clone(), &format!("refund-{key}"))
                        .expect("a valid key"),
                    fingerprint: Fingerprint::of(&[
                        payment.id.to_string().as_bytes(),
                        amount.to_string().as_bytes(),
                    ]),
                    payment_id: payment.id,
                    response_status: 201,
                    response_body: refund.id.to_string(),
                    created_at: now,
                    expires_at: now + RETENTION,
                };
                let m = self
                    .memory
                    .store()
                    .create_refund(&payment, &refund, &record, now)
                    .await;
                let d = self
                    .dynamo
                    .store()
                    .create_refund(&payment, &refund, &record, now)
                    .await;
                (outcome(&m), outcome(&d))
            }
            Op::Release { payment, expire } => {
                let payment = self.payments[payment % self.payments.len()].clone();
                // Callers hold a possibly stale copy of the payment, due or not: both stores
                // must answer with the payment as it stands.
                let reason = if *expire {
                    ReleaseReason::Expired
                } else {
                    ReleaseReason::Canceled
                };
                let m = self.memory.store().release(&payment, reason, now).await;
                let d = self.dynamo.store().release(&payment, reason, now).await;
                (outcome(&m), outcome(&d))
            }
            Op::Advance { minutes } => {
                self.clock.advance(Duration::minutes(*minutes));
                return Ok(());
            }
            Op::Page { account, limit } => {
                let (id, _, _) = self.pick(*account);
                let m = self.memory.pages(id, *limit).await;
                let d = self.dynamo.pages(id, *limit).await;
                (outcome(&m), outcome(&d))
            }
            Op::Overdue { limit } => {
                let m = self.memory.store().overdue_payments(now, *limit).await;
                let d = self.dynamo.store().overdue_payments(now, *limit).await;
                (outcome(&m), outcome(&d))
            }
            Op::SetPosting { account, batched } => {
                let (id, _, _) = self.pick(*account);
                let mode = if *batched {
                    PostingMode::Batched
                } else {
                    PostingMode::Immediate
                };
                // The head is an entry id, random per store.
                let headless = |a: Account| Account {
                    ledger_head: None,
                    ..a
                };
                let m = self.memory.store().set_posting(id, mode, now).await;
                let d = self.dynamo.store().set_posting(id, mode, now).await;
                if *batched {
                    self.batched.insert(id);
                }
                (outcome(&m.map(headless)), outcome(&d.map(headless)))
            }
            Op::Post { account, max } => {
                let (id, _, _) = self.pick(*account);
                let m = self.memory.store().post_credits(id, *max, now).await;
                let d = self.dynamo.store().post_credits(id, *max, now).await;
                (outcome(&m), outcome(&d))
            }
        };
        self.log.push(format!("{op:?} -> {m}"));
        let kind = m.split(['{', ' ', '[']).next().unwrap_or_default();
        let kind = kind.split("(acc_").next().unwrap_or_default();
        let kind = kind.split("(pay_").next().unwrap_or_default();
        *self.kinds.entry(kind.to_owned()).or_default() += 1;
        if m != d {
            return Err(format!(
                "the stores answered differently to {op:?}:\n  memory:   {m}\n  dynamodb: {d}"
            ));
        }
        let accounts: Vec<AccountId> = self.candidates().iter().map(|(id, _, _)| *id).collect();
        let states = (
            self.memory
                .state(&accounts, &self.batched, &self.payments)
                .await,
            self.dynamo
                .state(&accounts, &self.batched, &self.payments)
                .await,
        );
        match states {
            (Ok(m), Ok(d)) if m == d => Ok(()),
            (m, d) => Err(format!(
                "the stores differ after {op:?}:\n  memory:\n{m:?}\n  dynamodb:\n{d:?}"
            )),
        }
    }
}

/// A payment request as a client sends it.
#[derive(Debug, Clone)]
struct Request {
    payer: usize,
    source: AccountId,
    destination: AccountId,
    amount: Money,
    one_step: bool,
    key: usize,
}

impl Case {
    /// Makes the payment `request` asks for, at `now`, on both stores; `None` when no store
    /// would see it (an account paying itself is refused by the domain first).
    async fn pay(
        &mut self,
        request: &Request,
        now: time::OffsetDateTime,
    ) -> Option<(String, String)> {
        // The payee as the pay handler resolves it; a destination never opened has none, and
        // the payer stands in so that the stores themselves refuse it.
        let payee = self
            .memory
            .store()
            .account_owner(request.destination)
            .await
            .expect("the memory store answers");
        let dynamo_payee = self.dynamo.store().account_owner(request.destination).await;
        assert_eq!(Ok(payee.clone()), dynamo_payee, "account_owner");
        let new = NewPayment {
            client_id: client(OWNERS[request.payer]),
            payee: payee.unwrap_or_else(|| client(OWNERS[request.payer])),
            source: request.source,
            destination: request.destination,
            amount: request.amount,
            description: None,
        };
        let pending = Payment::pending(new, now, TTL).ok()?;
        let payment = if request.one_step {
            support::one_step(pending)
        } else {
            pending
        };
        // The same body under the same key is a replay; another body under it, a reuse.
        let body = format!(
            "{}>{}:{}:{}",
            request.source, request.destination, request.amount, request.one_step
        );
        let idempotency = record(&payment, &format!("key-{}", request.key), &body, now);
        let m = self
            .memory
            .store()
            .create_payment(&payment, &idempotency, now)
            .await;
        let d = self
            .dynamo
            .store()
            .create_payment(&payment, &idempotency, now)
            .await;
        if matches!(m, Ok(PaymentOutcome::Created(_))) {
            self.payments.push(payment);
        }
        Some((outcome(&m), outcome(&d)))
    }
}

/// Every case starts from the same books: two CNY accounts of alice's, one of bob's, funded.
fn prelude() -> Vec<Op> {
    let open = |owner| Op::Open {
        owner,
        currency: 0,
        tight: false,
        frozen: false,
    };
    let mut ops = vec![open(0), open(0), open(1)];
    ops.extend((0..3).map(|account| Op::Fund {
        account,
        amount: 50_000,
    }));
    ops
}

#[test]
fn memory_and_dynamodb_agree_step_by_step() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let config = Config {
        cases,
        // Shrinking replays a case against fresh tables each time: keep it bounded.
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut runner = TestRunner::new(config);
    let kinds = Mutex::new(BTreeMap::<String, usize>::new());
    let result = runner.run(&prop::collection::vec(op(), 5..=MAX_STEPS), |ops| {
        runtime.block_on(async {
            let mut case = Case::new().await;
            for op in prelude().iter().chain(&ops) {
                case.step(op).await.map_err(|why| {
                    TestCaseError::fail(format!(
                        "{why}\nsteps so far:\n  {}",
                        case.log.join("\n  ")
                    ))
                })?;
            }
            let mut all = kinds.lock().unwrap_or_else(|p| p.into_inner());
            for (kind, n) in case.kinds {
                *all.entry(kind).or_default() += n;
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let kinds = kinds.into_inner().unwrap_or_else(|p| p.into_inner());
    let steps: usize = kinds.values().sum();
    println!(
        "store_differential: {cases} cases, {steps} operations on both stores, every answer and \
         every state after it the same; answers by kind:"
    );
    for (kind, n) in &kinds {
        println!("  {n:>5}  {kind}");
    }
}
