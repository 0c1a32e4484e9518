//! Holds and idempotency: funds reserved once per key, replays answered as first.

#[allow(unused_imports)]
use super::*;

// 3. Holds and idempotency.

pub(crate) async fn holds_reserve_funds_and_replay_idempotently(fx: Fixture) {
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
        payee: bob.clone(),
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
        Err(StoreError::Idempotency(IdempotencyError::KeyReused))
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

pub(crate) async fn expired_idempotency_records_free_their_key(fx: Fixture) {
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
        Err(StoreError::Idempotency(IdempotencyError::KeyReused))
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
        Err(StoreError::Idempotency(IdempotencyError::KeyReused))
    );
    // Both holds stand (the first was never released): 1000 - 300 - 100.
    let a_now = account(s, a).await;
    assert_eq!((a_now.balance, a_now.available), (1_000, 600));
}
