//! Release: cancel and expire exactly once; the overdue listing.

#[allow(unused_imports)]
use super::*;

// 6. Release.

pub(crate) async fn release_cancels_or_expires_exactly_once(fx: Fixture) {
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
            Err(StoreError::Payment(PaymentError::NotPending(Box::new(
                canceled.clone()
            )))),
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
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            q.clone()
        ))))
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
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            expired
        ))))
    );
    // A succeeded payment cannot be released either.
    let r = transfer(&alice, a, b, cny(100), T0 + minutes(3));
    must_create(s, &r, r.created_at).await;
    let captured = s
        .capture(&r, r.amount, T0 + minutes(4))
        .await
        .expect("capture");
    assert_eq!(
        s.release(&r, ReleaseReason::Canceled, T0 + minutes(5))
            .await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            captured.clone()
        ))))
    );
    let a1 = account(s, a).await;
    assert_eq!((a1.balance, a1.available), (900, 900));
    // A stale pending copy, not yet due, of a payment captured since: the answer is the
    // payment as it stands (found by the differential test).
    assert_eq!(
        s.release(&r, ReleaseReason::Expired, T0 + minutes(5)).await,
        Err(StoreError::Payment(PaymentError::NotPending(Box::new(
            captured.clone()
        ))))
    );

    let ghost = transfer(&alice, a, b, cny(10), T0);
    assert_eq!(
        s.release(&ghost, ReleaseReason::Canceled, T0).await,
        Err(StoreError::Payment(PaymentError::NotFound(ghost.id)))
    );
    // Releases post nothing: only the funding and the capture are in the ledger.
    let entries = all_entries(s, a).await;
    assert_eq!(entries.len(), a_entries.len() + 1);
    assert_eq!(entries[0].payment_id, r.id);
}

pub(crate) async fn overdue_payments_lists_overdue_pending_oldest_first(fx: Fixture) {
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
    s.capture(&p4, p4.amount, T0 + minutes(1))
        .await
        .expect("capture p4");
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
