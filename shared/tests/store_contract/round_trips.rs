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

/// Batched posting (issue 15): a payment into a batched account costs what one into an
/// immediate account does (the credit item replaces the account's update in the same write);
/// the poster posts the credits a trigger names with a read of the account and one write; a
/// batched balance reads the credit shards.
pub(crate) async fn batched_posting_costs_the_documented_round_trips(fx: Fixture) {
    use paygate_shared::PostingMode;
    let s = fx.store();
    let count = || {
        fx.round_trips()
            .expect("a DynamoDB fixture counts round trips")
    };
    let alice = client("alice");
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let m = open_funded(s, &client("merchant"), GENEROUS, 0, T0).await;

    let before = count();
    s.set_posting(m, PostingMode::Batched, T0)
        .await
        .expect("set_posting");
    assert_eq!(count() - before, 1, "set_posting batched");

    let one = one_step(transfer(&alice, a, m, cny(100), T0 + minutes(1)));
    let before = count();
    must_create(s, &one, one.created_at).await;
    assert_eq!(
        count() - before,
        2,
        "one-step payment into a batched account"
    );

    let held = transfer(&alice, a, m, cny(50), T0 + minutes(2));
    must_create(s, &held, held.created_at).await;
    let before = count();
    s.capture(&held, held.amount, T0 + minutes(3))
        .await
        .expect("capture");
    let spent = count() - before;
    assert!(
        (1..=2).contains(&spent),
        "capture into a batched account took {spent} round trips, at most 2 expected"
    );

    let before = count();
    let balance = s.balance(m).await.expect("balance").expect("the account");
    assert_eq!(balance.incoming, 150);
    assert_eq!(
        count() - before,
        10,
        "batched balance: GetItem, 8 shard Queries, GetItem"
    );

    let credits = s.unposted(m, 10).await.expect("unposted");
    let before = count();
    let posted = s
        .post_known(m, &credits, T0 + minutes(4))
        .await
        .expect("post_known");
    assert_eq!(posted.credits, 2);
    assert_eq!(
        count() - before,
        2,
        "post_known: GetItem + TransactWriteItems"
    );

    let again = one_step(transfer(&alice, a, m, cny(7), T0 + minutes(5)));
    must_create(s, &again, again.created_at).await;
    let before = count();
    let posted = s
        .post_credits(m, 49, T0 + minutes(6))
        .await
        .expect("post_credits");
    assert_eq!((posted.credits, posted.more), (1, false));
    assert_eq!(
        count() - before,
        10,
        "post_credits: GetItem and 8 shard Queries, then TransactWriteItems"
    );
    let before = count();
    assert_eq!(
        s.balance(m)
            .await
            .expect("balance")
            .expect("it")
            .account
            .balance,
        157
    );
    assert_eq!(count() - before, 10, "batched balance with nothing waiting");
}
