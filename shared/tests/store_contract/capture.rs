//! Capture: one debit and one credit, exactly once.

#[allow(unused_imports)]
use super::*;

// 5. Capture.

pub(crate) async fn capture_posts_one_debit_and_one_credit_exactly_once(fx: Fixture) {
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
    let captured = s.capture(&p, p.amount, at).await.expect("capture");
    assert_eq!(captured, p.capture(p.amount, at).unwrap());
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
            owner: alice.clone(),
            payment_id: p.id,
            refund_id: None,
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
            owner: client("bob"),
            payment_id: p.id,
            refund_id: None,
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
        s.capture(&p, p.amount, at + minutes(1)).await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            captured.clone()
        ))))
    );
    assert_eq!(
        s.capture(&captured, captured.amount, at + minutes(1)).await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            captured.clone()
        ))))
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
        s.capture(&q, q.amount, T0 + minutes(4)).await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            canceled.clone()
        ))))
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
        s.capture(&r, r.amount, r.expires_at).await,
        Err(StoreError::Payment(PaymentError::Expired(r.id)))
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
        s.capture(&r, r.amount, r.expires_at + minutes(1)).await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            expired
        ))))
    );

    // ... and so does capturing after it.
    let late = transfer(&alice, a, b, cny(50), T0 + minutes(6));
    must_create(s, &late, late.created_at).await;
    let after_deadline = late.expires_at + minutes(30);
    assert_eq!(
        s.capture(&late, late.amount, after_deadline).await,
        Err(StoreError::Payment(PaymentError::Expired(late.id)))
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
        s.capture(&ghost, ghost.amount, T0 + minutes(1)).await,
        Err(StoreError::Payment(PaymentError::NotFound(ghost.id)))
    );
    assert_eq!(s.payment(ghost.id).await, Ok(None));
}
