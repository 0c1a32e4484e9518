//! Hold failures: every rule broken leaves no trace; daily limits per UTC day.

#[allow(unused_imports)]
use super::*;

// 4. Hold failures.

pub(crate) async fn failed_holds_leave_no_trace(fx: Fixture) {
    failed_requests_leave_no_trace(&fx, false).await;
}

// 7 (failures). One-step payments fail for the same reasons, just as cleanly.
pub(crate) async fn failed_one_step_payments_leave_no_trace(fx: Fixture) {
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
    let inactive =
        |account, status| StoreError::Account(AccountError::Inactive { account, status });
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
            StoreError::Account(AccountError::NotFound(a)),
        ),
        (
            alice.clone(),
            missing,
            b,
            cny(10),
            StoreError::Account(AccountError::NotFound(missing)),
        ),
        (
            alice.clone(),
            a,
            missing,
            cny(10),
            StoreError::Account(AccountError::NotFound(missing)),
        ),
        // Treasuries neither pay nor receive payments.
        (
            alice.clone(),
            a,
            treasury(),
            cny(10),
            StoreError::Account(AccountError::NotFound(treasury())),
        ),
        (
            ClientId::system(),
            treasury(),
            b,
            cny(10),
            StoreError::Account(AccountError::NotFound(treasury())),
        ),
        (
            alice.clone(),
            a,
            b,
            usd(10),
            StoreError::Account(AccountError::CurrencyMismatch {
                account: a,
                account_currency: Currency::CNY,
                payment_currency: Currency::USD,
            }),
        ),
        (
            alice.clone(),
            a,
            usd_dst,
            cny(10),
            StoreError::Account(AccountError::CurrencyMismatch {
                account: usd_dst,
                account_currency: Currency::USD,
                payment_currency: Currency::CNY,
            }),
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
            StoreError::Account(AccountError::InsufficientFunds {
                account: poor,
                available: 100,
                requested: 101,
            }),
        ),
        (
            alice.clone(),
            a,
            b,
            cny(501),
            StoreError::Account(AccountError::PerPaymentLimitExceeded {
                account: a,
                limit: 500,
                requested: 501,
            }),
        ),
        (
            alice.clone(),
            a,
            b,
            cny(301),
            StoreError::Account(AccountError::DailyLimitExceeded {
                account: a,
                remaining: 300,
                requested: 301,
            }),
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

pub(crate) async fn daily_limit_spans_holds_and_resets_each_utc_day(fx: Fixture) {
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
        Err(StoreError::Account(AccountError::DailyLimitExceeded {
            account: a,
            remaining,
            requested,
        }))
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
    let captured = s
        .capture(&h1, h1.amount, T0 + minutes(5))
        .await
        .expect("capture h1");
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
