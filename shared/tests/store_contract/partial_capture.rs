//! Partial capture: n of the held amount posts, the rest of the hold (with its share of the
//! day's outflow budget) is released in the same write.

#[allow(unused_imports)]
use super::*;

pub(crate) async fn partial_capture_posts_n_and_releases_the_rest(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let limits = AccountLimits {
        per_payment: 5_000,
        daily_outflow: 5_000,
    };
    let a = open_funded(s, &alice, limits, 1_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let p = transfer(&alice, a, b, cny(300), T0);
    must_create(s, &p, T0).await;
    let held = account(s, a).await;
    assert_eq!(
        (
            held.balance,
            held.available,
            held.outflow_remaining(T0.date())
        ),
        (1_000, 700, 4_700)
    );
    let before = snapshot(s, &[a, b], p.id).await;

    // Above the hold, zero, or another currency: refused, nothing written.
    let at = T0 + minutes(1);
    assert_eq!(
        s.capture(&p, cny(301), at).await,
        Err(StoreError::Payment(PaymentError::CaptureExceedsHold {
            id: p.id,
            held: cny(300)
        }))
    );
    for bad in [cny(0), cny(-5), usd(100)] {
        assert!(
            matches!(
                s.capture(&p, bad, at).await,
                Err(StoreError::Payment(PaymentError::InvalidAmount(_)))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(snapshot(s, &[a, b], p.id).await, before);

    let captured = s.capture(&p, cny(120), at).await.expect("partial capture");
    assert_eq!(captured, p.capture(cny(120), at).unwrap());
    assert_eq!(
        (
            captured.amount,
            captured.amount_captured,
            captured.amount_refunded
        ),
        (cny(300), 120, 0)
    );
    assert_eq!(s.payment(p.id).await, Ok(Some(captured.clone())));
    // 120 leaves the balance; the other 180 held comes back to available and to today's budget.
    let a1 = account(s, a).await;
    assert_eq!(
        (a1.balance, a1.available, a1.outflow_remaining(T0.date())),
        (880, 880, 4_880)
    );
    let b1 = account(s, b).await;
    assert_eq!((b1.balance, b1.available), (120, 120));
    let debit = all_entries(s, a).await[0].clone();
    let credit = all_entries(s, b).await[0].clone();
    assert_eq!(
        (
            debit.direction,
            debit.amount,
            debit.balance_after,
            debit.payment_id,
            debit.refund_id
        ),
        (Direction::Debit, cny(120), 880, p.id, None)
    );
    assert_eq!(
        (
            credit.direction,
            credit.amount,
            credit.balance_after,
            credit.counterparty
        ),
        (Direction::Credit, cny(120), 120, a)
    );
    assert_eq!(all_entries(s, b).await.len(), 1);
    assert_books(s, &[a, b]).await;

    // Captured once: another capture, of any amount, is refused with the payment as it stands.
    let after = snapshot(s, &[a, b], p.id).await;
    for amount in [120, 180, 300] {
        assert_eq!(
            s.capture(&p, cny(amount), at + minutes(1)).await,
            Err(StoreError::Payment(PaymentError::NotPending(Box::new(
                captured.clone()
            ))))
        );
    }
    assert_eq!(snapshot(s, &[a, b], p.id).await, after);

    // The whole hold, captured with its own amount, releases nothing.
    let whole = transfer(&alice, a, b, cny(100), at);
    must_create(s, &whole, at).await;
    s.capture(&whole, cny(100), at).await.expect("capture");
    let a2 = account(s, a).await;
    assert_eq!(
        (a2.balance, a2.available, a2.outflow_remaining(T0.date())),
        (780, 780, 4_780)
    );
    assert_books(s, &[a, b]).await;

    // A hold captured in part the day after it was placed: the rest comes back to available,
    // not to the budget (it was drawn from the hold's day, which is over).
    let old = transfer_ttl(&alice, a, b, cny(200), at, Duration::days(2));
    must_create(s, &old, at).await;
    let a3 = account(s, a).await;
    assert_eq!(
        (a3.balance, a3.available, a3.outflow_remaining(T0.date())),
        (780, 580, 4_580)
    );
    let next_day = at + Duration::days(1);
    let old_captured = s.capture(&old, cny(50), next_day).await.expect("capture");
    assert_eq!(old_captured.amount_captured, 50);
    let a4 = account(s, a).await;
    assert_eq!(
        (
            a4.balance,
            a4.available,
            a4.outflow_remaining(T0.date()),
            a4.outflow_remaining(next_day.date())
        ),
        (730, 730, 4_580, 5_000)
    );
    assert_eq!(account(s, b).await.balance, 270);
    assert_books(s, &[a, b]).await;
}
