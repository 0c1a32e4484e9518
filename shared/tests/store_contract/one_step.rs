//! One-step payments: hold and capture in one write.

#[allow(unused_imports)]
use super::*;

// 7. One-step payments.

pub(crate) async fn one_step_payments_post_at_once_and_replay(fx: Fixture) {
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
            owner: alice.clone(),
            payment_id: pay.id,
            refund_id: None,
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
            owner: client("bob"),
            payment_id: pay.id,
            refund_id: None,
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
        Err(StoreError::Idempotency(IdempotencyError::KeyReused))
    );
    assert_eq!(s.payment(retry.id).await, Ok(None));
    assert_eq!(account(s, a).await, a1);
    assert_eq!(account(s, b).await, b1);
    assert_eq!(all_entries(s, a).await, a_entries);
    assert_eq!(all_entries(s, b).await, b_entries);

    // Already final: neither capturable nor releasable.
    assert_eq!(
        s.capture(&pay, pay.amount, later).await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            pay.clone()
        ))))
    );
    assert_eq!(
        s.release(&pay, ReleaseReason::Canceled, later).await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            pay.clone()
        ))))
    );
    assert_eq!(
        s.overdue_payments(pay.expires_at + minutes(1), 10).await,
        Ok(vec![])
    );
}
