//! The store contract: one suite, run against both adapters. Every case is a generic async fn
//! over a [`Fixture`]; `contract_suite!` instantiates each one in `mod memory` and in
//! `mod dynamodb` (the latter against `PAYGATE_TEST_DYNAMODB_ENDPOINT`, or a moto server started
//! once per test binary, with fresh tables per test).
//!
//! Run one half with `cargo test -p paygate-shared --features dynamodb --test store_contract
//! memory` (or `dynamodb`). The concurrency case prints its seed; set `PAYGATE_TEST_SEED` to
//! replay the same choices.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use paygate_shared::{
    Account, AccountId, AccountLimits, AccountStatus, ClientId, Currency, Direction, EntryCursor,
    EntryQuery, LedgerEntry, MoneyError, NewPayment, Payment, PaymentId, PaymentKind,
    PaymentStatus, ReleaseReason, StoreError,
    account::DailyOutflow,
    idempotency::RETENTION,
    store::{PaymentOutcome, Store},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use time::{Duration, OffsetDateTime};

use support::*;

macro_rules! contract_suite {
    (
        both: [$($case:ident),* $(,)?],
        dynamodb_only: [$($dynamo_case:ident),* $(,)?] $(,)?
    ) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(crate::support::Fixture::memory()).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(crate::support::Fixture::dynamodb().await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $dynamo_case() {
                    super::$dynamo_case(crate::support::Fixture::dynamodb().await).await;
                }
            )*
        }
    };
}

contract_suite! {
    both: [
        accounts_round_trip_and_ids_are_unique,
        funding_moves_money_out_of_the_treasury,
        holds_reserve_funds_and_replay_idempotently,
        expired_idempotency_records_free_their_key,
        failed_holds_leave_no_trace,
        daily_limit_spans_holds_and_resets_each_utc_day,
        capture_posts_one_debit_and_one_credit_exactly_once,
        release_cancels_or_expires_exactly_once,
        overdue_payments_lists_overdue_pending_oldest_first,
        one_step_payments_post_at_once_and_replay,
        failed_one_step_payments_leave_no_trace,
        entries_page_newest_first_with_filters_and_cursors,
        concurrent_payments_keep_the_books_balanced,
    ],
    dynamodb_only: [
        operations_cost_the_documented_round_trips,
    ],
}

fn treasury() -> AccountId {
    Account::treasury_id(Currency::CNY)
}

async fn create(
    store: &dyn Store,
    payment: &Payment,
    key: &str,
    request: &str,
    now: OffsetDateTime,
) -> Result<PaymentOutcome, StoreError> {
    store
        .create_payment(payment, &record(payment, key, request, now), now)
        .await
}

/// Creates `payment` under a key of its own and asserts it was created as given.
async fn must_create(store: &dyn Store, payment: &Payment, now: OffsetDateTime) {
    let key = format!("key-{}", payment.id);
    assert_eq!(
        create(store, payment, &key, &key, now).await,
        Ok(PaymentOutcome::Created(payment.clone())),
        "creating {payment:?}"
    );
}

// 1. Accounts.

async fn accounts_round_trip_and_ids_are_unique(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let limits = AccountLimits {
        per_payment: 50_000,
        daily_outflow: 200_000,
    };
    let opened = Account::open(
        AccountId::generate(T0),
        alice.clone(),
        Currency::CNY,
        limits,
        T0,
    );
    assert_eq!(s.create_account(&opened).await, Ok(()));
    assert_eq!(s.account(opened.id).await, Ok(Some(opened.clone())));

    let frozen = Account {
        status: AccountStatus::Frozen,
        ..Account::open(
            AccountId::generate(T0),
            alice.clone(),
            Currency::USD,
            GENEROUS,
            T0,
        )
    };
    assert_eq!(s.create_account(&frozen).await, Ok(()));
    assert_eq!(s.account(frozen.id).await, Ok(Some(frozen.clone())));

    // The same id again, even with other contents, is refused and changes nothing.
    let impostor = Account {
        owner: client("mallory"),
        balance: 1_000_000,
        available: 1_000_000,
        ..opened.clone()
    };
    assert_eq!(
        s.create_account(&impostor).await,
        Err(StoreError::DuplicateId(opened.id.to_string()))
    );
    assert_eq!(s.account(opened.id).await, Ok(Some(opened.clone())));

    assert_eq!(s.account(AccountId::generate(T0)).await, Ok(None));
    assert_eq!(
        s.account(treasury()).await,
        Ok(None),
        "no treasury before any funding"
    );
}

// 2. Funding.

/// A funding payment as `Payment::funding` makes it (its id aside).
fn assert_funding(p: &Payment, destination: AccountId, amount: i64, at: OffsetDateTime) {
    let expected = Payment::funding(treasury(), destination, cny(amount), at);
    assert_eq!(
        p.id.ulid().timestamp_ms(),
        expected.id.ulid().timestamp_ms(),
        "id time of {p:?}"
    );
    assert_eq!(
        (
            p.kind,
            p.status(),
            &p.client_id,
            p.source,
            p.destination,
            p.amount,
            &p.description
        ),
        (
            PaymentKind::Funding,
            PaymentStatus::Succeeded,
            &ClientId::system(),
            treasury(),
            destination,
            cny(amount),
            &None
        )
    );
    assert_eq!((p.created_at, p.expires_at, p.updated_at), (at, at, at));
}

async fn funding_moves_money_out_of_the_treasury(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let a = open_account(
        s,
        &alice,
        Currency::CNY,
        GENEROUS,
        AccountStatus::Active,
        T0,
    )
    .await;
    let b = open_account(
        s,
        &client("bob"),
        Currency::CNY,
        GENEROUS,
        AccountStatus::Active,
        T0,
    )
    .await;

    let first = s.fund(a.id, cny(1_000), T0).await.expect("fund a");
    assert_funding(&first, a.id, 1_000, T0);
    assert_eq!(s.payment(first.id).await, Ok(Some(first.clone())));

    let t1 = T0 + minutes(1);
    let second = s.fund(b.id, cny(250), t1).await.expect("fund b");
    assert_funding(&second, b.id, 250, t1);
    assert_ne!(first.id, second.id);
    assert_eq!(s.payment(second.id).await, Ok(Some(second.clone())));

    // The customer side: one credit each.
    let a_entries = all_entries(s, a.id).await;
    assert_eq!(a_entries.len(), 1);
    let credit_a = &a_entries[0];
    assert_eq!(
        credit_a,
        &LedgerEntry {
            id: credit_a.id,
            account_id: a.id,
            payment_id: first.id,
            direction: Direction::Credit,
            amount: cny(1_000),
            balance_after: 1_000,
            counterparty: treasury(),
            created_at: T0,
        }
    );
    let b_entries = all_entries(s, b.id).await;
    assert_eq!(b_entries.len(), 1);
    let credit_b = &b_entries[0];
    assert_eq!(
        credit_b,
        &LedgerEntry {
            id: credit_b.id,
            account_id: b.id,
            payment_id: second.id,
            direction: Direction::Credit,
            amount: cny(250),
            balance_after: 250,
            counterparty: treasury(),
            created_at: t1,
        }
    );
    assert_eq!(
        account(s, a.id).await,
        Account {
            balance: 1_000,
            available: 1_000,
            ledger_head: Some(credit_a.id),
            ..a.clone()
        }
    );
    assert_eq!(
        account(s, b.id).await,
        Account {
            balance: 250,
            available: 250,
            ledger_head: Some(credit_b.id),
            ..b.clone()
        }
    );

    // The treasury side: created on first use, one debit per funding, newest first.
    let t_entries = all_entries(s, treasury()).await;
    assert_eq!(t_entries.len(), 2);
    assert_eq!(
        t_entries[0],
        LedgerEntry {
            id: t_entries[0].id,
            account_id: treasury(),
            payment_id: second.id,
            direction: Direction::Debit,
            amount: cny(250),
            balance_after: -1_250,
            counterparty: b.id,
            created_at: t1,
        }
    );
    assert_eq!(
        t_entries[1],
        LedgerEntry {
            id: t_entries[1].id,
            account_id: treasury(),
            payment_id: first.id,
            direction: Direction::Debit,
            amount: cny(1_000),
            balance_after: -1_000,
            counterparty: a.id,
            created_at: T0,
        }
    );
    let treasury_account = account(s, treasury()).await;
    assert_eq!(
        treasury_account,
        Account {
            balance: -1_250,
            available: -1_250,
            ledger_head: Some(t_entries[0].id),
            ..Account::treasury(Currency::CNY, T0)
        }
    );
    assert_eq!(
        treasury_account.balance + 1_000 + 250,
        0,
        "money is conserved"
    );

    // Refused fundings change nothing anywhere.
    let frozen = open_account(
        s,
        &alice,
        Currency::CNY,
        GENEROUS,
        AccountStatus::Frozen,
        T0,
    )
    .await;
    let missing = AccountId::generate(T0);
    let snapshot = async || {
        (
            account(s, a.id).await,
            account(s, treasury()).await,
            all_entries(s, a.id).await,
            all_entries(s, treasury()).await,
            account(s, frozen.id).await,
        )
    };
    let before = snapshot().await;
    let t2 = T0 + minutes(2);
    let refusals = [
        (a.id, cny(0), StoreError::Money(MoneyError::NotPositive)),
        (a.id, cny(-5), StoreError::Money(MoneyError::NotPositive)),
        (
            a.id,
            usd(100),
            StoreError::CurrencyMismatch {
                account: a.id,
                account_currency: Currency::CNY,
                payment_currency: Currency::USD,
            },
        ),
        (missing, cny(100), StoreError::AccountNotFound(missing)),
        (
            treasury(),
            cny(100),
            StoreError::AccountNotFound(treasury()),
        ),
        (
            frozen.id,
            cny(100),
            StoreError::AccountInactive {
                account: frozen.id,
                status: AccountStatus::Frozen,
            },
        ),
    ];
    for (target, amount, expected) in refusals {
        assert_eq!(
            s.fund(target, amount, t2).await,
            Err(expected),
            "funding {target} {amount}"
        );
        assert_eq!(
            snapshot().await,
            before,
            "a refused funding of {target} changed state"
        );
    }
    assert_eq!(s.account(missing).await, Ok(None));
    assert_eq!(
        s.account(Account::treasury_id(Currency::USD)).await,
        Ok(None),
        "a refused USD funding must not create the USD treasury"
    );
}

// 3. Holds and idempotency.

async fn holds_reserve_funds_and_replay_idempotently(fx: Fixture) {
    let s = fx.store();
    let (alice, bob, carol) = (client("alice"), client("bob"), client("carol"));
    let limits = AccountLimits {
        per_payment: 5_000,
        daily_outflow: 8_000,
    };
    let a = open_funded(s, &alice, limits, 1_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let a0 = account(s, a).await;
    let b0 = account(s, b).await;
    let a_entries0 = all_entries(s, a).await;

    let now = T0 + minutes(1);
    let request = NewPayment {
        client_id: alice.clone(),
        source: a,
        destination: b,
        amount: cny(300),
        description: Some("dinner — 晚餐 🍜 \"split\"".to_owned()),
    };
    let p = Payment::pending(request.clone(), now, TTL).unwrap();
    let rec = record(&p, "k1", "pay bob 300", now);
    assert_eq!(
        s.create_payment(&p, &rec, now).await,
        Ok(PaymentOutcome::Created(p.clone()))
    );

    let a1 = Account {
        available: 700,
        outflow: Some(DailyOutflow {
            day: now.date(),
            remaining: 7_700,
        }),
        ..a0.clone()
    };
    assert_eq!(
        account(s, a).await,
        a1,
        "a hold lowers available, not balance"
    );
    assert_eq!(
        account(s, b).await,
        b0,
        "a hold does not touch the destination"
    );
    assert_eq!(s.payment(p.id).await, Ok(Some(p.clone())));
    assert_eq!(p.status(), PaymentStatus::Pending);
    assert_eq!(
        all_entries(s, a).await,
        a_entries0,
        "a hold posts no entries"
    );
    assert_eq!(all_entries(s, b).await, vec![]);

    // A retry of the same request (a new payment id, a little later) replays the first answer
    // and places no second hold.
    let later = now + minutes(2);
    let retry = Payment::pending(request.clone(), later, TTL).unwrap();
    let retry_rec = record(&retry, "k1", "pay bob 300", later);
    assert_ne!(retry_rec, rec);
    assert_eq!(
        s.create_payment(&retry, &retry_rec, later).await,
        Ok(PaymentOutcome::Replayed(rec.clone()))
    );
    assert_eq!(account(s, a).await, a1);
    assert_eq!(s.payment(retry.id).await, Ok(None));
    // Replayed again: still the first record.
    assert_eq!(
        s.create_payment(&retry, &retry_rec, later).await,
        Ok(PaymentOutcome::Replayed(rec.clone()))
    );

    // The same key with another request is refused.
    let other = transfer(&alice, a, b, cny(50), later);
    assert_eq!(
        create(s, &other, "k1", "pay bob 50", later).await,
        Err(StoreError::IdempotencyKeyReused)
    );
    assert_eq!(account(s, a).await, a1);
    assert_eq!(s.payment(other.id).await, Ok(None));

    // Keys are scoped to their client: carol's "k1" is hers, even with the same fingerprint.
    let c = open_funded(s, &carol, GENEROUS, 500, T0).await;
    let c0 = account(s, c).await;
    let theirs = transfer(&carol, c, b, cny(200), later);
    assert_eq!(
        create(s, &theirs, "k1", "pay bob 300", later).await,
        Ok(PaymentOutcome::Created(theirs.clone()))
    );
    assert_eq!(
        account(s, c).await,
        Account {
            available: 300,
            outflow: Some(DailyOutflow {
                day: later.date(),
                remaining: GENEROUS.daily_outflow - 200
            }),
            ..c0
        }
    );
    assert_eq!(account(s, a).await, a1, "carol's hold does not touch alice");

    // A second hold under a new key stacks on the first.
    let second = transfer(&alice, a, b, cny(250), later);
    assert_eq!(
        create(s, &second, "k2", "pay bob 250", later).await,
        Ok(PaymentOutcome::Created(second.clone()))
    );
    assert_eq!(
        account(s, a).await,
        Account {
            available: 450,
            outflow: Some(DailyOutflow {
                day: later.date(),
                remaining: 7_450
            }),
            ..a0
        }
    );
    assert_eq!(s.payment(p.id).await, Ok(Some(p)));
    assert_eq!(s.payment(second.id).await, Ok(Some(second)));
}

async fn expired_idempotency_records_free_their_key(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;

    let first = transfer(&alice, a, b, cny(300), T0);
    assert_eq!(
        create(s, &first, "k1", "first", T0).await,
        Ok(PaymentOutcome::Created(first.clone()))
    );

    // Still live one millisecond before it expires.
    let just_before = T0 + RETENTION - Duration::milliseconds(1);
    let early = transfer(&alice, a, b, cny(100), just_before);
    assert_eq!(
        create(s, &early, "k1", "second", just_before).await,
        Err(StoreError::IdempotencyKeyReused)
    );
    assert_eq!(s.payment(early.id).await, Ok(None));

    // At `expires_at` the record counts as absent, even if nothing has deleted it yet.
    let expiry = T0 + RETENTION;
    let second = transfer(&alice, a, b, cny(100), expiry);
    let second_rec = record(&second, "k1", "second", expiry);
    assert_eq!(
        s.create_payment(&second, &second_rec, expiry).await,
        Ok(PaymentOutcome::Created(second.clone()))
    );
    // The key now remembers the second request.
    let retry_at = expiry + minutes(1);
    let retry = transfer(&alice, a, b, cny(100), retry_at);
    assert_eq!(
        create(s, &retry, "k1", "second", retry_at).await,
        Ok(PaymentOutcome::Replayed(second_rec))
    );
    let stale = transfer(&alice, a, b, cny(300), retry_at);
    assert_eq!(
        create(s, &stale, "k1", "first", retry_at).await,
        Err(StoreError::IdempotencyKeyReused)
    );
    // Both holds stand (the first was never released): 1000 - 300 - 100.
    let a_now = account(s, a).await;
    assert_eq!((a_now.balance, a_now.available), (1_000, 600));
}

// 4. Hold failures.

async fn failed_holds_leave_no_trace(fx: Fixture) {
    failed_requests_leave_no_trace(&fx, false).await;
}

// 7 (failures). One-step payments fail for the same reasons, just as cleanly.
async fn failed_one_step_payments_leave_no_trace(fx: Fixture) {
    failed_requests_leave_no_trace(&fx, true).await;
}

async fn failed_requests_leave_no_trace(fx: &Fixture, one_step_mode: bool) {
    let s = fx.store();
    let make = |p: Payment| if one_step_mode { one_step(p) } else { p };
    let (alice, bob, mallory) = (client("alice"), client("bob"), client("mallory"));
    let limited = AccountLimits {
        per_payment: 500,
        daily_outflow: 800,
    };
    let a = open_funded(s, &alice, limited, 1_000, T0).await;
    let spare = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let poor = open_funded(s, &alice, GENEROUS, 100, T0).await;
    let open = async |owner: &ClientId, currency, status| {
        open_account(s, owner, currency, GENEROUS, status, T0)
            .await
            .id
    };
    let frozen_src = open(&alice, Currency::CNY, AccountStatus::Frozen).await;
    let closed_src = open(&alice, Currency::CNY, AccountStatus::Closed).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let frozen_dst = open(&bob, Currency::CNY, AccountStatus::Frozen).await;
    let closed_dst = open(&bob, Currency::CNY, AccountStatus::Closed).await;
    let usd_dst = open(&bob, Currency::USD, AccountStatus::Active).await;
    let m = open_funded(s, &mallory, GENEROUS, 1_000, T0).await;
    let missing = AccountId::generate(T0);

    // Use 500 of a's 800 daily budget, so that 300 remain.
    let first = make(transfer(&alice, a, b, cny(500), T0));
    must_create(s, &first, T0).await;
    let a_state = account(s, a).await;
    assert_eq!(
        (a_state.available, a_state.outflow_remaining(T0.date())),
        (500, 300)
    );

    let watched = [
        a, spare, poor, frozen_src, closed_src, b, frozen_dst, closed_dst, usd_dst, m,
    ];
    let snapshot = async || {
        let mut accounts = Vec::new();
        for id in watched.iter().copied().chain([treasury(), missing]) {
            accounts.push(s.account(id).await.expect("account read"));
        }
        let mut entries = Vec::new();
        for id in [a, b, poor, treasury()] {
            entries.push(all_entries(s, id).await);
        }
        (accounts, entries)
    };
    let before = snapshot().await;
    assert_eq!(
        before.0.last(),
        Some(&None),
        "the missing account is missing"
    );

    let now = T0 + minutes(1);
    let inactive = |account, status| StoreError::AccountInactive { account, status };
    let attempts: Vec<(
        ClientId,
        AccountId,
        AccountId,
        paygate_shared::Money,
        StoreError,
    )> = vec![
        // Someone else's source is indistinguishable from a missing one.
        (
            mallory.clone(),
            a,
            b,
            cny(10),
            StoreError::AccountNotFound(a),
        ),
        (
            alice.clone(),
            missing,
            b,
            cny(10),
            StoreError::AccountNotFound(missing),
        ),
        (
            alice.clone(),
            a,
            missing,
            cny(10),
            StoreError::AccountNotFound(missing),
        ),
        // Treasuries neither pay nor receive payments.
        (
            alice.clone(),
            a,
            treasury(),
            cny(10),
            StoreError::AccountNotFound(treasury()),
        ),
        (
            ClientId::system(),
            treasury(),
            b,
            cny(10),
            StoreError::AccountNotFound(treasury()),
        ),
        (
            alice.clone(),
            a,
            b,
            usd(10),
            StoreError::CurrencyMismatch {
                account: a,
                account_currency: Currency::CNY,
                payment_currency: Currency::USD,
            },
        ),
        (
            alice.clone(),
            a,
            usd_dst,
            cny(10),
            StoreError::CurrencyMismatch {
                account: usd_dst,
                account_currency: Currency::USD,
                payment_currency: Currency::CNY,
            },
        ),
        (
            alice.clone(),
            frozen_src,
            b,
            cny(10),
            inactive(frozen_src, AccountStatus::Frozen),
        ),
        (
            alice.clone(),
            closed_src,
            b,
            cny(10),
            inactive(closed_src, AccountStatus::Closed),
        ),
        (
            alice.clone(),
            a,
            frozen_dst,
            cny(10),
            inactive(frozen_dst, AccountStatus::Frozen),
        ),
        (
            alice.clone(),
            a,
            closed_dst,
            cny(10),
            inactive(closed_dst, AccountStatus::Closed),
        ),
        (
            alice.clone(),
            poor,
            b,
            cny(101),
            StoreError::InsufficientFunds {
                account: poor,
                available: 100,
                requested: 101,
            },
        ),
        (
            alice.clone(),
            a,
            b,
            cny(501),
            StoreError::PerPaymentLimitExceeded {
                account: a,
                limit: 500,
                requested: 501,
            },
        ),
        (
            alice.clone(),
            a,
            b,
            cny(301),
            StoreError::DailyLimitExceeded {
                account: a,
                remaining: 300,
                requested: 301,
            },
        ),
    ];

    let mut keys = Vec::new();
    for (i, (who, source, destination, amount, expected)) in attempts.into_iter().enumerate() {
        let key = format!("fail-{i}");
        let payment = make(transfer(&who, source, destination, amount, now));
        let result = create(s, &payment, &key, &format!("request {i}"), now).await;
        assert_eq!(
            result,
            Err(expected),
            "attempt {i}: {who} {source} -> {destination} {amount}"
        );
        assert_eq!(
            s.payment(payment.id).await,
            Ok(None),
            "attempt {i} stored its payment"
        );
        assert_eq!(snapshot().await, before, "attempt {i} left a trace");
        keys.push((who, key));
    }

    // None of the failed requests claimed its key: a valid request under each one goes through.
    let mut spare_holds = 0;
    for (who, key) in keys {
        let source = match who.as_str() {
            "alice" => spare,
            "mallory" => m,
            _ => continue, // the system client owns no customer account
        };
        if source == spare {
            spare_holds += 1;
        }
        let payment = make(transfer(&who, source, b, cny(1), now));
        assert_eq!(
            create(s, &payment, &key, "a different, valid request", now).await,
            Ok(PaymentOutcome::Created(payment.clone())),
            "key {key} of {who} should still be free"
        );
    }
    assert_eq!(spare_holds, 12);
    assert_eq!(account(s, spare).await.available, 1_000 - spare_holds);
}

async fn daily_limit_spans_holds_and_resets_each_utc_day(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let limits = AccountLimits {
        per_payment: 1_000,
        daily_outflow: 800,
    };
    let a = open_funded(s, &alice, limits, 5_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;
    let a0 = account(s, a).await;
    let day0 = T0.date();
    let state = |balance, available, day, remaining| Account {
        balance,
        available,
        outflow: Some(DailyOutflow { day, remaining }),
        ..a0.clone()
    };
    let hold = async |amount, at: OffsetDateTime| {
        let p = transfer(&alice, a, b, cny(amount), at);
        let key = format!("hold-{}", p.id);
        (create(s, &p, &key, &key, at).await, p)
    };
    let exceeded = |remaining, requested| {
        Err(StoreError::DailyLimitExceeded {
            account: a,
            remaining,
            requested,
        })
    };

    let (r, h1) = hold(500, T0).await;
    assert_eq!(r, Ok(PaymentOutcome::Created(h1.clone())));
    let (r, _) = hold(301, T0 + minutes(1)).await;
    assert_eq!(r, exceeded(300, 301));
    let (r, h3) = hold(300, T0 + minutes(1)).await;
    assert_eq!(r, Ok(PaymentOutcome::Created(h3.clone())));
    let (r, _) = hold(1, T0 + minutes(2)).await;
    assert_eq!(r, exceeded(0, 1));
    assert_eq!(account(s, a).await, state(5_000, 4_200, day0, 0));

    // Canceling a hold on the day it was placed gives its budget back.
    s.release(&h3, ReleaseReason::Canceled, T0 + minutes(3))
        .await
        .expect("cancel h3");
    assert_eq!(account(s, a).await, state(5_000, 4_500, day0, 300));
    let (r, h5) = hold(300, T0 + minutes(4)).await;
    assert_eq!(r, Ok(PaymentOutcome::Created(h5.clone())));
    assert_eq!(account(s, a).await, state(5_000, 4_200, day0, 0));

    // Capturing does not: the money really left.
    let captured = s.capture(&h1, T0 + minutes(5)).await.expect("capture h1");
    assert_eq!(captured.status(), PaymentStatus::Succeeded);
    let after_capture = account(s, a).await;
    assert_eq!(
        after_capture,
        Account {
            ledger_head: after_capture.ledger_head,
            ..state(4_500, 4_200, day0, 0)
        }
    );
    let (r, _) = hold(1, T0 + minutes(6)).await;
    assert_eq!(r, exceeded(0, 1));

    // The next UTC day has a full budget.
    let day1_at = T0 + Duration::days(1);
    let day1 = day1_at.date();
    let (r, _) = hold(801, day1_at).await;
    assert_eq!(r, exceeded(800, 801));
    let (r, h7) = hold(800, day1_at).await;
    assert_eq!(r, Ok(PaymentOutcome::Created(h7.clone())));
    let ledger_head = after_capture.ledger_head;
    assert_eq!(
        account(s, a).await,
        Account {
            ledger_head,
            ..state(4_500, 3_400, day1, 0)
        }
    );

    // Canceling yesterday's hold today frees its funds but not today's budget.
    s.release(&h5, ReleaseReason::Canceled, day1_at + minutes(1))
        .await
        .expect("cancel h5");
    assert_eq!(
        account(s, a).await,
        Account {
            ledger_head,
            ..state(4_500, 3_700, day1, 0)
        }
    );
    let (r, _) = hold(1, day1_at + minutes(1)).await;
    assert_eq!(r, exceeded(0, 1));

    // Canceling today's hold today restores today's budget.
    s.release(&h7, ReleaseReason::Canceled, day1_at + minutes(2))
        .await
        .expect("cancel h7");
    assert_eq!(
        account(s, a).await,
        Account {
            ledger_head,
            ..state(4_500, 4_500, day1, 800)
        }
    );
}

// 5. Capture.

async fn capture_posts_one_debit_and_one_credit_exactly_once(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let limits = AccountLimits {
        per_payment: 5_000,
        daily_outflow: 5_000,
    };
    let a = open_funded(s, &alice, limits, 1_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;
    let a0 = account(s, a).await;
    let b0 = account(s, b).await;
    let funding_entries = all_entries(s, a).await;

    let p = transfer(&alice, a, b, cny(300), T0);
    must_create(s, &p, T0).await;
    let at = T0 + minutes(1);
    let captured = s.capture(&p, at).await.expect("capture");
    assert_eq!(captured, p.capture(at).unwrap());
    assert_eq!(captured.status(), PaymentStatus::Succeeded);
    assert_eq!(captured.updated_at, at);
    assert_eq!(s.payment(p.id).await, Ok(Some(captured.clone())));

    let a_entries = all_entries(s, a).await;
    assert_eq!(a_entries.len(), 2);
    assert_eq!(&a_entries[1..], &funding_entries[..]);
    let debit = a_entries[0].clone();
    assert_eq!(
        debit,
        LedgerEntry {
            id: debit.id,
            account_id: a,
            payment_id: p.id,
            direction: Direction::Debit,
            amount: cny(300),
            balance_after: 700,
            counterparty: b,
            created_at: at,
        }
    );
    let b_entries = all_entries(s, b).await;
    assert_eq!(b_entries.len(), 1);
    let credit = b_entries[0].clone();
    assert_eq!(
        credit,
        LedgerEntry {
            id: credit.id,
            account_id: b,
            payment_id: p.id,
            direction: Direction::Credit,
            amount: cny(300),
            balance_after: 300,
            counterparty: a,
            created_at: at,
        }
    );
    let outflow = Some(DailyOutflow {
        day: T0.date(),
        remaining: 4_700,
    });
    let a1 = Account {
        balance: 700,
        available: 700,
        outflow,
        ledger_head: Some(debit.id),
        ..a0
    };
    let b1 = Account {
        balance: 300,
        available: 300,
        ledger_head: Some(credit.id),
        ..b0
    };
    assert_eq!(account(s, a).await, a1);
    assert_eq!(account(s, b).await, b1);
    let treasury_before = account(s, treasury()).await;

    // A second capture (with the caller's stale read) is refused with the payment as it stands.
    assert_eq!(
        s.capture(&p, at + minutes(1)).await,
        Err(StoreError::PaymentNotPending(Box::new(captured.clone())))
    );
    assert_eq!(
        s.capture(&captured, at + minutes(1)).await,
        Err(StoreError::PaymentNotPending(Box::new(captured.clone())))
    );
    assert_eq!(account(s, a).await, a1);
    assert_eq!(account(s, b).await, b1);
    assert_eq!(all_entries(s, a).await, a_entries);
    assert_eq!(all_entries(s, b).await, b_entries);
    assert_eq!(account(s, treasury()).await, treasury_before);

    // A canceled payment cannot be captured.
    let q = transfer(&alice, a, b, cny(100), T0 + minutes(2));
    must_create(s, &q, q.created_at).await;
    let canceled = s
        .release(&q, ReleaseReason::Canceled, T0 + minutes(3))
        .await
        .unwrap();
    assert_eq!(
        s.capture(&q, T0 + minutes(4)).await,
        Err(StoreError::PaymentNotPending(Box::new(canceled.clone())))
    );
    assert_eq!(s.payment(q.id).await, Ok(Some(canceled)));
    let a2 = account(s, a).await;
    assert_eq!((a2.balance, a2.available), (700, 700));

    // Capturing at the deadline expires the payment and releases its hold (and, the same day,
    // its daily budget).
    let r = transfer(&alice, a, b, cny(200), T0 + minutes(5));
    must_create(s, &r, r.created_at).await;
    let held = account(s, a).await;
    assert_eq!(
        (
            held.balance,
            held.available,
            held.outflow_remaining(T0.date())
        ),
        (700, 500, 4_500)
    );
    assert_eq!(
        s.capture(&r, r.expires_at).await,
        Err(StoreError::PaymentExpired(r.id))
    );
    let expired = r.release(ReleaseReason::Expired, r.expires_at).unwrap();
    assert_eq!(expired.status(), PaymentStatus::Expired);
    assert_eq!(s.payment(r.id).await, Ok(Some(expired.clone())));
    assert_eq!(
        account(s, a).await,
        Account {
            available: 700,
            outflow: Some(DailyOutflow {
                day: T0.date(),
                remaining: 4_700
            }),
            ..held
        }
    );
    assert_eq!(
        s.capture(&r, r.expires_at + minutes(1)).await,
        Err(StoreError::PaymentNotPending(Box::new(expired)))
    );

    // ... and so does capturing after it.
    let late = transfer(&alice, a, b, cny(50), T0 + minutes(6));
    must_create(s, &late, late.created_at).await;
    let after_deadline = late.expires_at + minutes(30);
    assert_eq!(
        s.capture(&late, after_deadline).await,
        Err(StoreError::PaymentExpired(late.id))
    );
    assert_eq!(
        s.payment(late.id).await,
        Ok(Some(
            late.release(ReleaseReason::Expired, after_deadline)
                .unwrap()
        ))
    );
    let a3 = account(s, a).await;
    assert_eq!(
        (a3.balance, a3.available, a3.ledger_head),
        (700, 700, Some(debit.id))
    );
    assert_eq!(all_entries(s, a).await, a_entries, "expiry posts nothing");
    assert_eq!(all_entries(s, b).await, b_entries);

    // An unknown payment.
    let ghost = transfer(&alice, a, b, cny(10), T0);
    assert_eq!(
        s.capture(&ghost, T0 + minutes(1)).await,
        Err(StoreError::PaymentNotFound(ghost.id))
    );
    assert_eq!(s.payment(ghost.id).await, Ok(None));
}

// 6. Release.

async fn release_cancels_or_expires_exactly_once(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;
    let a0 = account(s, a).await;
    let b0 = account(s, b).await;
    let a_entries = all_entries(s, a).await;
    let day = T0.date();
    let budget = GENEROUS.daily_outflow;

    let p = transfer(&alice, a, b, cny(300), T0);
    must_create(s, &p, T0).await;
    let at = T0 + minutes(1);
    let canceled = s
        .release(&p, ReleaseReason::Canceled, at)
        .await
        .expect("cancel");
    assert_eq!(canceled, p.release(ReleaseReason::Canceled, at).unwrap());
    assert_eq!(canceled.status(), PaymentStatus::Canceled);
    assert_eq!(s.payment(p.id).await, Ok(Some(canceled.clone())));
    let released = Account {
        outflow: Some(DailyOutflow {
            day,
            remaining: budget,
        }),
        ..a0.clone()
    };
    assert_eq!(account(s, a).await, released);
    assert_eq!(account(s, b).await, b0);

    for reason in [ReleaseReason::Canceled, ReleaseReason::Expired] {
        assert_eq!(
            s.release(&p, reason, p.expires_at + minutes(1)).await,
            Err(StoreError::PaymentNotPending(Box::new(canceled.clone()))),
            "{reason:?} after cancel"
        );
    }
    assert_eq!(account(s, a).await, released);

    // Expiring before the deadline is refused and changes nothing.
    let q = transfer(&alice, a, b, cny(200), T0 + minutes(2));
    must_create(s, &q, q.created_at).await;
    let held = Account {
        available: 800,
        outflow: Some(DailyOutflow {
            day,
            remaining: budget - 200,
        }),
        ..a0.clone()
    };
    assert_eq!(account(s, a).await, held);
    let early = q.expires_at - Duration::milliseconds(1);
    assert_eq!(
        s.release(&q, ReleaseReason::Expired, early).await,
        Err(StoreError::PaymentNotPending(Box::new(q.clone())))
    );
    assert_eq!(s.payment(q.id).await, Ok(Some(q.clone())));
    assert_eq!(account(s, a).await, held);

    // At the deadline it expires.
    let expired = s
        .release(&q, ReleaseReason::Expired, q.expires_at)
        .await
        .expect("expire");
    assert_eq!(
        expired,
        q.release(ReleaseReason::Expired, q.expires_at).unwrap()
    );
    assert_eq!(expired.status(), PaymentStatus::Expired);
    assert_eq!(s.payment(q.id).await, Ok(Some(expired.clone())));
    assert_eq!(account(s, a).await, released);
    assert_eq!(
        s.release(&q, ReleaseReason::Canceled, q.expires_at + minutes(1))
            .await,
        Err(StoreError::PaymentNotPending(Box::new(expired)))
    );
    // A succeeded payment cannot be released either.
    let r = transfer(&alice, a, b, cny(100), T0 + minutes(3));
    must_create(s, &r, r.created_at).await;
    let captured = s.capture(&r, T0 + minutes(4)).await.expect("capture");
    assert_eq!(
        s.release(&r, ReleaseReason::Canceled, T0 + minutes(5))
            .await,
        Err(StoreError::PaymentNotPending(Box::new(captured)))
    );
    let a1 = account(s, a).await;
    assert_eq!((a1.balance, a1.available), (900, 900));

    let ghost = transfer(&alice, a, b, cny(10), T0);
    assert_eq!(
        s.release(&ghost, ReleaseReason::Canceled, T0).await,
        Err(StoreError::PaymentNotFound(ghost.id))
    );
    // Releases post nothing: only the funding and the capture are in the ledger.
    let entries = all_entries(s, a).await;
    assert_eq!(entries.len(), a_entries.len() + 1);
    assert_eq!(entries[0].payment_id, r.id);
}

async fn overdue_payments_lists_overdue_pending_oldest_first(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;
    let hold = async |created_min: i64, ttl_min: i64| {
        let p = transfer_ttl(
            &alice,
            a,
            b,
            cny(100),
            T0 + minutes(created_min),
            minutes(ttl_min),
        );
        must_create(s, &p, p.created_at).await;
        p
    };
    let p1 = hold(0, 15).await; // due 10:15
    let p2 = hold(1, 5).await; // due 10:06
    let _p3 = hold(0, 30).await; // due 10:30
    let p4 = hold(0, 10).await; // due 10:10, captured
    let p5 = hold(0, 8).await; // due 10:08, canceled
    let p6 = hold(2, 18).await; // due 10:20, exactly at the query time
    let _p7 = hold(0, 60).await; // due 11:00
    s.capture(&p4, T0 + minutes(1)).await.expect("capture p4");
    s.release(&p5, ReleaseReason::Canceled, T0 + minutes(1))
        .await
        .expect("cancel p5");

    assert_eq!(s.overdue_payments(T0 + minutes(5), 10).await, Ok(vec![]));
    let now = T0 + minutes(20);
    assert_eq!(
        s.overdue_payments(now, 10).await,
        Ok(vec![p2.clone(), p1.clone(), p6.clone()])
    );
    assert_eq!(
        s.overdue_payments(now, 2).await,
        Ok(vec![p2.clone(), p1.clone()])
    );
    assert_eq!(s.overdue_payments(now, 1).await, Ok(vec![p2.clone()]));
    assert_eq!(s.overdue_payments(now, 0).await, Ok(vec![]));
    assert_eq!(
        s.overdue_payments(now - Duration::milliseconds(1), 10)
            .await,
        Ok(vec![p2.clone(), p1.clone()])
    );

    // Once expired, a payment is no longer overdue.
    s.release(&p2, ReleaseReason::Expired, now)
        .await
        .expect("expire p2");
    assert_eq!(s.overdue_payments(now, 10).await, Ok(vec![p1, p6]));
}

// 7. One-step payments.

async fn one_step_payments_post_at_once_and_replay(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let limits = AccountLimits {
        per_payment: 5_000,
        daily_outflow: 5_000,
    };
    let a = open_funded(s, &alice, limits, 1_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;
    let a0 = account(s, a).await;
    let b0 = account(s, b).await;
    let funding_entries = all_entries(s, a).await;

    let now = T0 + minutes(1);
    let pay = one_step(transfer(&alice, a, b, cny(300), now));
    assert_eq!(pay.status(), PaymentStatus::Succeeded);
    let rec = record(&pay, "k1", "pay bob 300 now", now);
    assert_eq!(
        s.create_payment(&pay, &rec, now).await,
        Ok(PaymentOutcome::Created(pay.clone()))
    );
    assert_eq!(s.payment(pay.id).await, Ok(Some(pay.clone())));

    let a_entries = all_entries(s, a).await;
    assert_eq!(a_entries.len(), 2);
    assert_eq!(&a_entries[1..], &funding_entries[..]);
    let debit = a_entries[0].clone();
    assert_eq!(
        debit,
        LedgerEntry {
            id: debit.id,
            account_id: a,
            payment_id: pay.id,
            direction: Direction::Debit,
            amount: cny(300),
            balance_after: 700,
            counterparty: b,
            created_at: now,
        }
    );
    let b_entries = all_entries(s, b).await;
    assert_eq!(b_entries.len(), 1);
    let credit = b_entries[0].clone();
    assert_eq!(
        credit,
        LedgerEntry {
            id: credit.id,
            account_id: b,
            payment_id: pay.id,
            direction: Direction::Credit,
            amount: cny(300),
            balance_after: 300,
            counterparty: a,
            created_at: now,
        }
    );
    let outflow = Some(DailyOutflow {
        day: now.date(),
        remaining: 4_700,
    });
    let a1 = Account {
        balance: 700,
        available: 700,
        outflow,
        ledger_head: Some(debit.id),
        ..a0
    };
    let b1 = Account {
        balance: 300,
        available: 300,
        ledger_head: Some(credit.id),
        ..b0
    };
    assert_eq!(account(s, a).await, a1);
    assert_eq!(account(s, b).await, b1);

    // A retry replays and posts nothing.
    let later = now + minutes(1);
    let retry = one_step(transfer(&alice, a, b, cny(300), later));
    assert_eq!(
        create(s, &retry, "k1", "pay bob 300 now", later).await,
        Ok(PaymentOutcome::Replayed(rec))
    );
    assert_eq!(
        create(s, &retry, "k1", "pay bob 301 now", later).await,
        Err(StoreError::IdempotencyKeyReused)
    );
    assert_eq!(s.payment(retry.id).await, Ok(None));
    assert_eq!(account(s, a).await, a1);
    assert_eq!(account(s, b).await, b1);
    assert_eq!(all_entries(s, a).await, a_entries);
    assert_eq!(all_entries(s, b).await, b_entries);

    // Already final: neither capturable nor releasable.
    assert_eq!(
        s.capture(&pay, later).await,
        Err(StoreError::PaymentNotPending(Box::new(pay.clone())))
    );
    assert_eq!(
        s.release(&pay, ReleaseReason::Canceled, later).await,
        Err(StoreError::PaymentNotPending(Box::new(pay.clone())))
    );
    assert_eq!(
        s.overdue_payments(pay.expires_at + minutes(1), 10).await,
        Ok(vec![])
    );
}

// 8. Entries.

async fn entries_page_newest_first_with_filters_and_cursors(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 0, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let at = |m: i64| T0 + minutes(m);

    let e1 = s.fund(a, cny(1_000), at(0)).await.unwrap();
    let e2 = s.fund(a, cny(500), at(1)).await.unwrap();
    let e3 = one_step(transfer(&alice, a, b, cny(200), at(2)));
    must_create(s, &e3, at(2)).await;
    let e4 = transfer(&alice, a, b, cny(100), at(3));
    must_create(s, &e4, at(3)).await;
    s.capture(&e4, at(4)).await.unwrap();
    let e5 = s.fund(a, cny(50), at(5)).await.unwrap();
    let e6 = one_step(transfer(&bob, b, a, cny(120), at(6)));
    must_create(s, &e6, at(6)).await;
    let e7 = one_step(transfer(&alice, a, b, cny(30), at(7)));
    must_create(s, &e7, at(7)).await;

    // (payment, direction, amount, balance_after, created_at), newest first.
    let expected: Vec<(PaymentId, Direction, i64, i64, OffsetDateTime)> = vec![
        (e7.id, Direction::Debit, 30, 1_340, at(7)),
        (e6.id, Direction::Credit, 120, 1_370, at(6)),
        (e5.id, Direction::Credit, 50, 1_250, at(5)),
        (e4.id, Direction::Debit, 100, 1_200, at(4)),
        (e3.id, Direction::Debit, 200, 1_300, at(2)),
        (e2.id, Direction::Credit, 500, 1_500, at(1)),
        (e1.id, Direction::Credit, 1_000, 1_000, at(0)),
    ];
    let summary =
        |entries: &[LedgerEntry]| -> Vec<(PaymentId, Direction, i64, i64, OffsetDateTime)> {
            entries
                .iter()
                .map(|e| {
                    (
                        e.payment_id,
                        e.direction,
                        e.amount.amount,
                        e.balance_after,
                        e.created_at,
                    )
                })
                .collect()
        };

    // Pages of 3, 3 and 1, chained through encoded cursors.
    let mut query = EntryQuery::first(3);
    let mut pages = Vec::new();
    loop {
        let page = s.entries(a, &query).await.expect("entries page");
        let cursor = page.next_cursor;
        pages.push(page.entries);
        let Some(cursor) = cursor else { break };
        assert_eq!(cursor.account, a);
        assert_eq!(
            Some(cursor.after),
            pages.last().unwrap().last().map(|e| e.id)
        );
        assert_eq!(
            EntryCursor::decode(&cursor.encode(), b),
            Err(StoreError::InvalidCursor)
        );
        query.after = Some(
            EntryCursor::decode(&cursor.encode(), a)
                .expect("decode")
                .after,
        );
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    let all: Vec<LedgerEntry> = pages.concat();
    assert_eq!(summary(&all), expected);
    for pair in all.windows(2) {
        assert!(pair[0].id > pair[1].id, "ids strictly decrease: {pair:?}");
        assert_eq!(
            pair[0].balance_after,
            pair[1].balance_after + pair[0].signed_amount()
        );
    }
    assert!(
        all.iter()
            .all(|e| e.account_id == a && e.amount.currency == Currency::CNY)
    );
    assert_eq!(assert_balance_chain(&all), 1_340);
    let a_now = account(s, a).await;
    assert_eq!(
        (a_now.balance, a_now.available, a_now.ledger_head),
        (1_340, 1_340, Some(all[0].id))
    );
    assert_eq!(all_entries(s, a).await, all);

    // The page size is exact: a full last page has no cursor; one short of it has one.
    let page = s.entries(a, &EntryQuery::first(7)).await.unwrap();
    assert_eq!(
        (page.entries.clone(), page.next_cursor),
        (all.clone(), None)
    );
    let page = s.entries(a, &EntryQuery::first(6)).await.unwrap();
    assert_eq!(page.entries, all[..6].to_vec());
    let cursor = page.next_cursor.expect("a seventh entry remains");
    assert_eq!(cursor.after, all[5].id);
    let rest = s
        .entries(
            a,
            &EntryQuery {
                after: Some(cursor.after),
                ..EntryQuery::first(6)
            },
        )
        .await;
    assert_eq!(
        rest.map(|p| (p.entries, p.next_cursor)),
        Ok((all[6..].to_vec(), None))
    );

    // Time windows: `from` inclusive, `to` exclusive.
    let window = |from: Option<i64>, to: Option<i64>, limit| EntryQuery {
        limit,
        after: None,
        from: from.map(at),
        to: to.map(at),
    };
    let page = s.entries(a, &window(Some(2), Some(5), 10)).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[3..5].to_vec(), None)
    );
    let page = s.entries(a, &window(Some(5), None, 10)).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[..3].to_vec(), None)
    );
    let page = s.entries(a, &window(None, Some(1), 10)).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[6..].to_vec(), None)
    );
    let page = s.entries(a, &window(Some(3), Some(4), 10)).await.unwrap();
    assert_eq!(
        (page.entries, page.next_cursor),
        (vec![], None),
        "nothing posted at 10:03"
    );
    let page = s.entries(a, &window(Some(5), Some(2), 10)).await.unwrap();
    assert_eq!(
        (page.entries, page.next_cursor),
        (vec![], None),
        "an empty window"
    );

    // Windows page too, and the cursor is exact at the window's edge.
    let page = s.entries(a, &window(Some(2), Some(5), 1)).await.unwrap();
    assert_eq!(summary(&page.entries), expected[3..4].to_vec());
    let cursor = page.next_cursor.expect("one more inside the window");
    let next = EntryQuery {
        after: Some(cursor.after),
        ..window(Some(2), Some(5), 1)
    };
    let page = s.entries(a, &next).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[4..5].to_vec(), None)
    );

    // The counterparty's side mirrors it.
    let b_entries = all_entries(s, b).await;
    assert_eq!(
        summary(&b_entries),
        vec![
            (e7.id, Direction::Credit, 30, 210, at(7)),
            (e6.id, Direction::Debit, 120, 180, at(6)),
            (e4.id, Direction::Credit, 100, 300, at(4)),
            (e3.id, Direction::Credit, 200, 200, at(2)),
        ]
    );
    assert!(b_entries.iter().all(|e| e.counterparty == a));

    // An account with no entries.
    let empty = open_funded(s, &alice, GENEROUS, 0, T0).await;
    let page = s
        .entries(empty, &EntryQuery::first(EntryQuery::DEFAULT_LIMIT))
        .await
        .unwrap();
    assert_eq!((page.entries, page.next_cursor), (vec![], None));
    let unknown = AccountId::generate(T0);
    let page = s.entries(unknown, &EntryQuery::first(5)).await.unwrap();
    assert_eq!((page.entries, page.next_cursor), (vec![], None));
}

// 9. Round trips (DynamoDB only: the memory store makes none).

async fn operations_cost_the_documented_round_trips(fx: Fixture) {
    let s = fx.store();
    let count = || {
        fx.round_trips()
            .expect("a DynamoDB fixture counts round trips")
    };
    let alice = client("alice");
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;

    let before = count();
    let read = s.account(a).await.unwrap().unwrap();
    assert_eq!(count() - before, 1, "balance read");
    assert_eq!(read.balance, 10_000);

    let p = transfer(&alice, a, b, cny(100), T0);
    let before = count();
    must_create(s, &p, T0).await;
    assert_eq!(count() - before, 1, "hold");

    let before = count();
    s.capture(&p, T0 + minutes(1)).await.expect("capture");
    let spent = count() - before;
    assert!(
        (1..=2).contains(&spent),
        "capture took {spent} round trips, at most 2 expected"
    );

    let before = count();
    let page = s
        .entries(a, &EntryQuery::first(EntryQuery::DEFAULT_LIMIT))
        .await
        .unwrap();
    assert_eq!(count() - before, 1, "entries page");
    assert_eq!(page.entries.len(), 2);

    let q = transfer(&alice, a, b, cny(100), T0 + minutes(2));
    must_create(s, &q, q.created_at).await;
    let before = count();
    s.release(&q, ReleaseReason::Canceled, T0 + minutes(3))
        .await
        .expect("release");
    assert_eq!(count() - before, 1, "release");

    let one = one_step(transfer(&alice, a, b, cny(100), T0 + minutes(4)));
    let before = count();
    must_create(s, &one, one.created_at).await;
    let spent = count() - before;
    assert!(
        (1..=2).contains(&spent),
        "one-step payment took {spent} round trips, at most 2 expected"
    );
}

// 10. Concurrency.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Capture,
    Cancel,
    /// Capture and cancel at the same time: exactly one may win.
    Race,
    LeavePending,
    /// Capture after the deadline: expires the payment.
    LateCapture,
    OneStep,
    /// The same request sent twice at once: at most one may create.
    Duplicate,
}

const ACTIONS: [Action; 7] = [
    Action::Capture,
    Action::Cancel,
    Action::Race,
    Action::LeavePending,
    Action::LateCapture,
    Action::OneStep,
    Action::Duplicate,
];

#[derive(Debug, Clone)]
struct TaskSpec {
    index: usize,
    client: ClientId,
    source: AccountId,
    destination: AccountId,
    amount: i64,
    /// The source's per-payment limit, to tell an expected refusal from a wrong one.
    per_payment: i64,
    action: Action,
    now: OffsetDateTime,
}

#[derive(Debug, Default)]
struct Tally {
    created: Vec<PaymentId>,
    conflicts: u64,
    refused: u64,
    captured: u64,
    released: u64,
    races_decided: u64,
    replays: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.created.extend(other.created);
        self.conflicts += other.conflicts;
        self.refused += other.refused;
        self.captured += other.captured;
        self.released += other.released;
        self.races_decided += other.races_decided;
        self.replays += other.replays;
    }
}

/// Checks a refused creation is one the request could legitimately meet.
fn expected_refusal(spec: &TaskSpec, error: &StoreError) -> bool {
    let amount = spec.amount;
    match *error {
        StoreError::InsufficientFunds {
            account,
            available,
            requested,
        } => account == spec.source && requested == amount && available < amount,
        StoreError::DailyLimitExceeded {
            account,
            remaining,
            requested,
        } => account == spec.source && requested == amount && remaining < amount,
        StoreError::PerPaymentLimitExceeded {
            account,
            limit,
            requested,
        } => {
            account == spec.source
                && requested == amount
                && limit == spec.per_payment
                && amount > limit
        }
        _ => false,
    }
}

/// Runs two futures at the same instant on two OS threads: each waits for the other at a
/// blocking rendezvous (inside `block_in_place`, which hands the worker's other tasks to another
/// thread), then both go. Plain `tokio::spawn` would often run them one after the other on one
/// worker, and a race that never overlaps proves nothing. The wait gives up after a few seconds,
/// so that a runtime shutting down after a failure (which drops the partner unstarted) cannot
/// hang on it.
async fn simultaneously<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future + Send + 'static,
    A::Output: Send + 'static,
    B: Future + Send + 'static,
    B::Output: Send + 'static,
{
    let rendezvous = Arc::new(Rendezvous::default());
    let (ra, rb) = (Arc::clone(&rendezvous), rendezvous);
    let a = tokio::spawn(async move {
        tokio::task::block_in_place(|| ra.arrive());
        a.await
    });
    let b = tokio::spawn(async move {
        tokio::task::block_in_place(|| rb.arrive());
        b.await
    });
    (
        a.await.expect("first racer"),
        b.await.expect("second racer"),
    )
}

/// A two-party barrier with a deadline.
#[derive(Default)]
struct Rendezvous {
    arrived: std::sync::Mutex<u8>,
    all_here: std::sync::Condvar,
}

impl Rendezvous {
    fn arrive(&self) {
        let mut arrived = self.arrived.lock().unwrap_or_else(|e| e.into_inner());
        *arrived += 1;
        self.all_here.notify_all();
        let deadline = std::time::Duration::from_secs(5);
        let _ = self
            .all_here
            .wait_timeout_while(arrived, deadline, |arrived| *arrived < 2)
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// Counts a creation that did not happen: a conflict, or a refusal the request could meet.
fn note_failure(spec: &TaskSpec, tally: &mut Tally, error: &StoreError) {
    if *error == StoreError::Conflict {
        tally.conflicts += 1;
    } else {
        assert!(
            expected_refusal(spec, error),
            "task {}: unexpected refusal {error:?}",
            spec.index
        );
        tally.refused += 1;
    }
}

async fn run_task(store: Arc<dyn Store>, spec: TaskSpec) -> Tally {
    use PaymentOutcome::{Created, Replayed};
    let mut tally = Tally::default();
    let s = store.as_ref();
    let key = format!("task-{}", spec.index);
    let request = format!(
        "{} {} -> {} {}",
        spec.index, spec.source, spec.destination, spec.amount
    );
    let build = |at: OffsetDateTime| {
        let p = transfer(
            &spec.client,
            spec.source,
            spec.destination,
            cny(spec.amount),
            at,
        );
        if spec.action == Action::OneStep {
            one_step(p)
        } else {
            p
        }
    };
    let now = spec.now;

    let created: Option<Payment> = if spec.action == Action::Duplicate {
        // Two identical requests (each with its own payment id) race under one key.
        let requests = [build(now), build(now)].map(|p| {
            let rec = record(&p, &key, &request, now);
            (p, rec)
        });
        let [(p1, r1), (p2, r2)] = requests.clone();
        let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
        let (first, second) = simultaneously(
            async move { s1.create_payment(&p1, &r1, now).await },
            async move { s2.create_payment(&p2, &r2, now).await },
        )
        .await;
        let results = [first, second];
        let mut winner = None;
        for (i, result) in results.iter().enumerate() {
            let (mine, other) = (&requests[i], &requests[1 - i]);
            match result {
                Ok(Created(p)) => {
                    assert_eq!(p, &mine.0, "task {}", spec.index);
                    assert!(
                        winner.is_none(),
                        "task {}: one key created two payments",
                        spec.index
                    );
                    winner = Some(p.clone());
                }
                Ok(Replayed(r)) => {
                    assert!(
                        matches!(results[1 - i], Ok(Created(_))),
                        "task {}: replayed a record nobody created: {results:?}",
                        spec.index
                    );
                    assert_eq!(
                        r, &other.1,
                        "task {}: the replay is the winner's record",
                        spec.index
                    );
                    tally.replays += 1;
                }
                Err(e) => note_failure(&spec, &mut tally, e),
            }
        }
        winner
    } else {
        let payment = build(now);
        match s
            .create_payment(&payment, &record(&payment, &key, &request, now), now)
            .await
        {
            Ok(Created(p)) => {
                assert_eq!(p, payment, "task {}", spec.index);
                Some(p)
            }
            Ok(Replayed(r)) => panic!("task {}: unexpected replay {r:?}", spec.index),
            Err(e) => {
                note_failure(&spec, &mut tally, &e);
                None
            }
        }
    };
    let Some(created) = created else { return tally };
    tally.created.push(created.id);

    let at = now + Duration::seconds(1);
    match spec.action {
        Action::OneStep => {
            tally.captured += 1;
            // A retry, concurrent with everyone else's traffic, replays.
            let retry = build(at);
            match s
                .create_payment(&retry, &record(&retry, &key, &request, at), at)
                .await
            {
                Ok(Replayed(r)) => {
                    assert_eq!(r, record(&created, &key, &request, now));
                    tally.replays += 1;
                }
                Err(StoreError::Conflict) => tally.conflicts += 1,
                other => panic!("task {}: a retry gave {other:?}", spec.index),
            }
        }
        Action::Capture | Action::Duplicate => match s.capture(&created, at).await {
            Ok(p) => {
                assert_eq!(p, created.capture(at).unwrap());
                tally.captured += 1;
            }
            Err(StoreError::Conflict) => tally.conflicts += 1,
            Err(e) => panic!("task {}: capture failed: {e:?}", spec.index),
        },
        Action::Cancel => match s.release(&created, ReleaseReason::Canceled, at).await {
            Ok(p) => {
                assert_eq!(p, created.release(ReleaseReason::Canceled, at).unwrap());
                tally.released += 1;
            }
            Err(StoreError::Conflict) => tally.conflicts += 1,
            Err(e) => panic!("task {}: cancel failed: {e:?}", spec.index),
        },
        Action::LateCapture => match s.capture(&created, created.expires_at).await {
            Err(StoreError::PaymentExpired(id)) => {
                assert_eq!(id, created.id);
                tally.released += 1;
            }
            Err(StoreError::Conflict) => tally.conflicts += 1,
            other => panic!("task {}: a late capture gave {other:?}", spec.index),
        },
        Action::LeavePending => {}
        Action::Race => {
            let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
            let (p1, p2) = (created.clone(), created.clone());
            let (captured, canceled) =
                simultaneously(async move { s1.capture(&p1, at).await }, async move {
                    s2.release(&p2, ReleaseReason::Canceled, at).await
                })
                .await;
            let as_captured = created.capture(at).unwrap();
            let as_canceled = created.release(ReleaseReason::Canceled, at).unwrap();
            let not_pending = |p: &Payment| Err(StoreError::PaymentNotPending(Box::new(p.clone())));
            let conflict = Err(StoreError::Conflict);
            match (&captured, &canceled) {
                (Ok(p), loser) => {
                    assert_eq!(p, &as_captured);
                    assert!(
                        *loser == not_pending(&as_captured) || *loser == conflict,
                        "task {}: capture won, the cancel gave {loser:?}",
                        spec.index
                    );
                    tally.captured += 1;
                    tally.races_decided += 1;
                }
                (loser, Ok(p)) => {
                    assert_eq!(p, &as_canceled);
                    assert!(
                        *loser == not_pending(&as_canceled) || *loser == conflict,
                        "task {}: cancel won, the capture gave {loser:?}",
                        spec.index
                    );
                    tally.released += 1;
                    tally.races_decided += 1;
                }
                (Err(StoreError::Conflict), Err(StoreError::Conflict)) => {
                    // Neither wrote: the payment must still be pending, hold in place.
                    assert_eq!(s.payment(created.id).await, Ok(Some(created.clone())));
                }
                _ => panic!(
                    "task {}: capture vs cancel, neither won: {captured:?} / {canceled:?}",
                    spec.index
                ),
            }
            tally.conflicts += [&captured, &canceled]
                .iter()
                .filter(|r| matches!(r, Err(StoreError::Conflict)))
                .count() as u64;
        }
    }
    tally
}

async fn concurrent_payments_keep_the_books_balanced(fx: Fixture) {
    let s = fx.store();
    let tasks = match fx.backend() {
        Backend::Memory => 200,
        Backend::DynamoDb => 40,
    };
    let seed = std::env::var("PAYGATE_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("concurrency case: {tasks} tasks, PAYGATE_TEST_SEED={seed}");
    if fx.backend() == Backend::DynamoDb {
        eprintln!(
            "concurrency case: on moto, the server must run one request at a time \
             (see tests/support/moto.rs); a threaded moto loses and duplicates transactions"
        );
    }
    let mut rng = StdRng::seed_from_u64(seed);

    let daily_limited = AccountLimits {
        per_payment: 2_000,
        daily_outflow: 3_000,
    };
    let generous = AccountLimits {
        per_payment: 100_000,
        daily_outflow: 1_000_000,
    };
    let owners = [client("alice"), client("bob"), client("carol")];
    let limits = [generous, generous, daily_limited];
    let mut ids = Vec::new();
    for (owner, limits) in owners.iter().zip(limits) {
        ids.push(open_funded(s, owner, limits, 10_000, T0).await);
    }
    let mut known: HashSet<PaymentId> = HashSet::new();
    for id in &ids {
        for entry in all_entries(s, *id).await {
            known.insert(entry.payment_id);
        }
    }
    assert_eq!(known.len(), 3, "three fundings");

    let mut handles = Vec::new();
    for index in 0..tasks {
        let from = rng.random_range(0..3);
        let to = (from + rng.random_range(1..3)) % 3;
        let spec = TaskSpec {
            index,
            client: owners[from].clone(),
            source: ids[from],
            destination: ids[to],
            amount: rng.random_range(1..=2_500),
            per_payment: limits[from].per_payment,
            action: ACTIONS[index % ACTIONS.len()],
            now: T0 + minutes(1) + Duration::milliseconds(index as i64),
        };
        handles.push(tokio::spawn(run_task(fx.shared(), spec)));
    }
    let mut tally = Tally::default();
    for handle in handles {
        tally.add(handle.await.expect("a task panicked"));
    }
    eprintln!(
        "concurrency case: {} created, {} refused, {} captured, {} released, {} races decided, \
         {} replays, {} conflicts",
        tally.created.len(),
        tally.refused,
        tally.captured,
        tally.released,
        tally.races_decided,
        tally.replays,
        tally.conflicts
    );
    if fx.backend() == Backend::Memory {
        assert_eq!(tally.conflicts, 0, "the memory store never conflicts");
    }
    assert!(
        tally.captured > 0 && tally.released > 0,
        "some payments must complete: {tally:?}"
    );
    assert!(
        tally.races_decided > 0,
        "some races must be decided: {tally:?}"
    );

    // Audit. Every payment, as stored.
    for id in &tally.created {
        assert!(known.insert(*id), "payment {id} reported twice");
    }
    let mut payments: HashMap<PaymentId, Payment> = HashMap::new();
    for id in &known {
        let payment = s
            .payment(*id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} is missing"));
        payments.insert(*id, payment);
    }
    if let Some(memory) = fx.memory_store() {
        let stored: HashSet<PaymentId> = memory.all_payments().iter().map(|p| p.id).collect();
        assert_eq!(
            stored, known,
            "the store holds exactly the payments the tasks created"
        );
    }

    // Every account's ledger.
    let mut by_payment: HashMap<PaymentId, Vec<LedgerEntry>> = HashMap::new();
    let mut total = 0_i64;
    for id in ids.iter().copied().chain([treasury()]) {
        let acc = account(s, id).await;
        let entries = all_entries(s, id).await;
        assert_eq!(
            assert_balance_chain(&entries),
            acc.balance,
            "{id}: balance = sum of entries"
        );
        assert_eq!(
            acc.ledger_head,
            entries.first().map(|e| e.id),
            "{id}: ledger head"
        );
        total += acc.balance;
        for entry in entries {
            by_payment.entry(entry.payment_id).or_default().push(entry);
        }
        if id == treasury() {
            assert_eq!((acc.balance, acc.available), (-30_000, -30_000));
            continue;
        }
        let pending: i64 = payments
            .values()
            .filter(|p| p.source == id && p.status() == PaymentStatus::Pending)
            .map(|p| p.amount.amount)
            .sum();
        let spent_today: i64 = payments
            .values()
            .filter(|p| p.source == id && p.kind == PaymentKind::Transfer)
            .filter(|p| {
                matches!(
                    p.status(),
                    PaymentStatus::Pending | PaymentStatus::Succeeded
                )
            })
            .map(|p| p.amount.amount)
            .sum();
        assert!(
            0 <= acc.available && acc.available <= acc.balance,
            "{id}: {acc:?}"
        );
        assert_eq!(
            acc.available,
            acc.balance - pending,
            "{id}: available = balance - holds"
        );
        assert!(
            spent_today <= acc.limits.daily_outflow,
            "{id} went over its daily limit"
        );
        assert_eq!(
            acc.outflow_remaining(T0.date()),
            acc.limits.daily_outflow - spent_today,
            "{id}: daily budget left"
        );
    }
    assert_eq!(total, 0, "all balances, treasury included, sum to zero");

    // Exactly one debit and one credit per succeeded payment, none for any other.
    for (id, payment) in &payments {
        let entries = by_payment.remove(id).unwrap_or_default();
        if payment.status() != PaymentStatus::Succeeded {
            assert!(
                entries.is_empty(),
                "{id} is {:?} but has entries",
                payment.status()
            );
            continue;
        }
        let debits: Vec<_> = entries
            .iter()
            .filter(|e| e.direction == Direction::Debit)
            .collect();
        let credits: Vec<_> = entries
            .iter()
            .filter(|e| e.direction == Direction::Credit)
            .collect();
        assert_eq!((debits.len(), credits.len()), (1, 1), "{id}: {entries:?}");
        let (debit, credit) = (debits[0], credits[0]);
        assert_eq!(
            (debit.account_id, debit.counterparty),
            (payment.source, payment.destination)
        );
        assert_eq!(
            (credit.account_id, credit.counterparty),
            (payment.destination, payment.source)
        );
        assert_eq!(
            (debit.amount, credit.amount),
            (payment.amount, payment.amount)
        );
    }
    assert!(
        by_payment.is_empty(),
        "entries of unknown payments: {by_payment:?}"
    );
}
