//! Round trips: what each DynamoDB operation costs, counted.

#[allow(unused_imports)]
use super::*;

// 9. Round trips (DynamoDB only: the memory store makes none).

pub(crate) async fn operations_cost_the_documented_round_trips(fx: Fixture) {
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

    // The pay handler resolves the payee first: one GetItem the first time a store sees the
    // destination, none after (owners never change, the store remembers them).
    let before = count();
    assert_eq!(s.account_owner(b).await, Ok(Some(client("bob"))));
    assert_eq!(count() - before, 1, "owner lookup, cold");
    let before = count();
    assert_eq!(s.account_owner(b).await, Ok(Some(client("bob"))));
    assert_eq!(count() - before, 0, "owner lookup, warm");

    let p = transfer(&alice, a, b, cny(100), T0);
    let before = count();
    must_create(s, &p, T0).await;
    assert_eq!(count() - before, 1, "hold");

    let before = count();
    s.capture(&p, p.amount, T0 + minutes(1))
        .await
        .expect("capture");
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

    // Partial capture: as a whole capture, the accounts' read and the write.
    let partial = transfer(&alice, a, b, cny(300), T0 + minutes(5));
    must_create(s, &partial, partial.created_at).await;
    let before = count();
    let captured = s
        .capture(&partial, cny(200), T0 + minutes(6))
        .await
        .expect("partial capture");
    assert_eq!(count() - before, 2, "partial capture");

    // Refund: one BatchGetItem (payment, both accounts, idempotency record), one write.
    let before = count();
    let (_, refunded) = refund_as(s, &captured, 50, "rt-refund", "50", T0 + minutes(7)).await;
    assert!(
        matches!(refunded, Ok(RefundOutcome::Created { .. })),
        "{refunded:?}"
    );
    assert_eq!(count() - before, 2, "refund");
    // Its replay stops at the read.
    let before = count();
    let (_, replayed) = refund_as(s, &captured, 50, "rt-refund", "50", T0 + minutes(8)).await;
    assert!(
        matches!(replayed, Ok(RefundOutcome::Replayed(_))),
        "{replayed:?}"
    );
    assert_eq!(count() - before, 1, "refund replay");

    // The payment with its refunds: one query.
    let before = count();
    let (payment, refunds) = s
        .payment_with_refunds(partial.id)
        .await
        .unwrap()
        .expect("the payment");
    assert_eq!(count() - before, 1, "payment with refunds");
    assert_eq!((payment.amount_refunded, refunds.len()), (50, 1));
}
