//! Refunds under concurrency: a storm of refunds of one payment never refunds more than was
//! captured; refunds racing captures into, and holds out of, the payee's account never
//! overdraw it. Each ends with a full audit of the books.

#[allow(unused_imports)]
use super::*;

/// What a storm's task saw.
#[derive(Debug)]
enum Seen {
    Refunded(i64),
    Replayed,
    /// Refused for a rule the request could legitimately meet (which one, for the log).
    Refused(#[allow(dead_code)] String),
    /// Too much contention: the client would retry.
    Busy,
}

/// Checks a refund refusal is one the state could explain: nothing (or too little) left, or
/// the payee's available short of the amount.
fn refused_rightly(error: &StoreError, amount: i64, payee: AccountId) -> bool {
    match error {
        StoreError::Payment(PaymentError::RefundExceedsPayment { left, .. }) => {
            left.amount < amount
        }
        StoreError::Account(AccountError::InsufficientFunds {
            account,
            available,
            requested,
        }) => *account == payee && *requested == amount && *available < amount,
        _ => false,
    }
}

fn seen(outcome: Result<RefundOutcome, StoreError>, amount: i64, payee: AccountId) -> Seen {
    match outcome {
        Ok(RefundOutcome::Created { refund, .. }) => {
            assert_eq!(refund.amount, cny(amount));
            Seen::Refunded(amount)
        }
        Ok(RefundOutcome::Replayed(_)) => Seen::Replayed,
        Err(StoreError::Conflict | StoreError::Idempotency(IdempotencyError::KeyInFlight)) => {
            Seen::Busy
        }
        Err(e) if refused_rightly(&e, amount, payee) => Seen::Refused(e.to_string()),
        Err(e) => panic!("refund of {amount}: unexpected {e:?}"),
    }
}

/// The refunds of `payment` as stored, checked against its refunded total and against the
/// entries they posted on both accounts.
async fn assert_refunds_posted(store: &dyn Store, payment: PaymentId) -> (Payment, i64) {
    let (stored, refunds) = store
        .payment_with_refunds(payment)
        .await
        .unwrap()
        .expect("the payment");
    let total: i64 = refunds.iter().map(|r| r.amount.amount).sum();
    assert_eq!(stored.amount_refunded, total, "{payment}: refunded total");
    assert!(
        stored.amount_refunded <= stored.amount_captured,
        "{payment} refunded more than it captured: {stored:?}"
    );
    for pair in refunds.windows(2) {
        assert!(pair[0].id < pair[1].id, "refunds oldest first");
    }
    let entries = |account| async move {
        all_entries(store, account)
            .await
            .into_iter()
            .filter(|e| e.payment_id == payment && e.refund_id.is_some())
            .collect::<Vec<_>>()
    };
    let debits = entries(stored.destination).await;
    let credits = entries(stored.source).await;
    assert_eq!(
        (debits.len(), credits.len()),
        (refunds.len(), refunds.len())
    );
    for refund in &refunds {
        let debit = debits.iter().find(|e| e.refund_id == Some(refund.id));
        let credit = credits.iter().find(|e| e.refund_id == Some(refund.id));
        let (Some(debit), Some(credit)) = (debit, credit) else {
            panic!("refund {} lacks an entry", refund.id);
        };
        assert_eq!(
            (debit.direction, debit.amount),
            (Direction::Debit, refund.amount)
        );
        assert_eq!(
            (credit.direction, credit.amount),
            (Direction::Credit, refund.amount)
        );
    }
    (stored, total)
}

/// Net money that moved from the payment's source to its destination in the ledger: what was
/// captured minus what was refunded.
async fn net_moved(store: &dyn Store, payment: &Payment) -> i64 {
    all_entries(store, payment.destination)
        .await
        .iter()
        .filter(|e| e.payment_id == payment.id)
        .map(LedgerEntry::signed_amount)
        .sum()
}

pub(crate) async fn concurrent_refunds_never_exceed_the_capture(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 5_000, T0).await;
    let p = transfer(&alice, a, b, cny(1_000), T0);
    must_create(s, &p, T0).await;
    let captured = s.capture(&p, cny(700), T0).await.expect("capture");
    let tasks: usize = match fx.backend() {
        Backend::Memory => 60,
        Backend::DynamoDb => 16,
    };
    let mut handles = Vec::new();
    for i in 0..tasks {
        let store = fx.shared();
        let payment = captured.clone();
        // 60 to 150 each: even 16 of them ask for more than the 700 captured.
        let amount = 60 + (i as i64 * 37) % 91;
        // Every fourth task resends the request of the one before it, at the same time.
        let key = if i % 4 == 3 { i - 1 } else { i };
        let amount = if i % 4 == 3 {
            60 + ((i - 1) as i64 * 37) % 91
        } else {
            amount
        };
        let now = T0 + minutes(1) + Duration::milliseconds(i as i64);
        handles.push(tokio::spawn(async move {
            let (_, outcome) = refund_as(
                store.as_ref(),
                &payment,
                amount,
                &format!("storm-{key}"),
                &amount.to_string(),
                now,
            )
            .await;
            seen(outcome, amount, b)
        }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.expect("a refund task panicked"));
    }
    let refunded: i64 = outcomes
        .iter()
        .map(|o| match o {
            Seen::Refunded(n) => *n,
            _ => 0,
        })
        .sum();
    eprintln!("refund storm: {outcomes:?}");
    assert!(refunded > 0, "some refunds must post: {outcomes:?}");
    // The storm asks for more than was captured: what is not refunded was refused (or, on
    // DynamoDB, gave up on contention and would be retried by its client).
    let refused = outcomes.iter().any(|o| matches!(o, Seen::Refused(_)));
    let busy = outcomes.iter().any(|o| matches!(o, Seen::Busy));
    match fx.backend() {
        Backend::Memory => assert!(refused && !busy, "{outcomes:?}"),
        Backend::DynamoDb => assert!(refused || busy, "{outcomes:?}"),
    }
    let (stored, total) = assert_refunds_posted(s, p.id).await;
    assert_eq!(
        total, refunded,
        "every refund reported is stored, and no other"
    );
    assert!(stored.amount_refunded <= 700);
    assert_eq!(net_moved(s, &stored).await, 700 - total);
    let (a1, b1) = (account(s, a).await, account(s, b).await);
    assert_eq!((a1.balance, a1.available), (9_300 + total, 9_300 + total));
    assert_eq!((b1.balance, b1.available), (5_700 - total, 5_700 - total));
    assert_books(s, &[a, b]).await;
}

pub(crate) async fn refunds_and_captures_never_overdraw_the_payee(fx: Fixture) {
    let s = fx.store();
    let (alice, bob, carol) = (client("alice"), client("bob"), client("carol"));
    let a = open_funded(s, &alice, GENEROUS, 20_000, T0).await;
    let scale: usize = match fx.backend() {
        Backend::Memory => 4,
        Backend::DynamoDb => 1,
    };
    // With his 300 per scale, all of bob's spends cannot take so much that no refund fits;
    // refunds and spends together still ask for more than he ever has.
    let b = open_funded(s, &bob, GENEROUS, 300 * scale as i64, T0).await;
    let c = open_funded(s, &carol, GENEROUS, 0, T0).await;
    // Bob receives 300 a payment, paid at once; more is held for him, to be captured.
    let mut paid = Vec::new();
    for i in 0..4 * scale {
        let one = one_step(transfer(
            &alice,
            a,
            b,
            cny(300),
            T0 + Duration::milliseconds(i as i64),
        ));
        must_create(s, &one, one.created_at).await;
        paid.push(one);
    }
    let mut held = Vec::new();
    for i in 0..4 * scale {
        let hold = transfer(
            &alice,
            a,
            b,
            cny(200),
            T0 + Duration::milliseconds(i as i64),
        );
        must_create(s, &hold, hold.created_at).await;
        held.push(hold);
    }
    let at = T0 + minutes(1);
    let mut handles = Vec::new();
    // Bob refunds each paid payment twice over (2 × 250 of 300 captured)...
    for (i, payment) in paid.iter().enumerate() {
        for round in 0..2 {
            let (store, payment) = (fx.shared(), payment.clone());
            handles.push(tokio::spawn(async move {
                let key = format!("refund-{i}-{round}");
                let (_, outcome) = refund_as(store.as_ref(), &payment, 250, &key, &key, at).await;
                ("refund", seen(outcome, 250, b))
            }));
        }
    }
    // ... while alice captures part of each hold into his account ...
    for (i, hold) in held.iter().enumerate() {
        let (store, hold) = (fx.shared(), hold.clone());
        handles.push(tokio::spawn(async move {
            let amount = cny(50 + 40 * (i as i64 % 4));
            match store.capture(&hold, amount, at).await {
                Ok(p) => {
                    assert_eq!(p.amount_captured, amount.amount);
                    ("capture", Seen::Refunded(amount.amount))
                }
                Err(StoreError::Conflict) => ("capture", Seen::Busy),
                Err(e) => panic!("capture: unexpected {e:?}"),
            }
        }));
    }
    // ... and bob spends from it: holds to carol that compete for the same available funds.
    for i in 0..3 * scale {
        let store = fx.shared();
        let spend = transfer(&bob, b, c, cny(350), at + Duration::milliseconds(i as i64));
        handles.push(tokio::spawn(async move {
            let key = format!("spend-{}", spend.id);
            match create(store.as_ref(), &spend, &key, &key, spend.created_at).await {
                Ok(PaymentOutcome::Created(_)) => ("spend", Seen::Refunded(350)),
                Err(StoreError::Account(AccountError::InsufficientFunds {
                    account,
                    available,
                    requested: 350,
                })) if account == b && available < 350 => {
                    ("spend", Seen::Refused(format!("{available} available")))
                }
                Err(StoreError::Conflict) => ("spend", Seen::Busy),
                other => panic!("spend: unexpected {other:?}"),
            }
        }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.expect("a task panicked"));
    }
    eprintln!("refunds, captures and spends: {outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|(kind, o)| *kind == "refund" && matches!(o, Seen::Refunded(_))),
        "some refunds must post: {outcomes:?}"
    );

    // Audit: bob's account never went below zero, and holds nothing it does not have.
    let bob_account = account(s, b).await;
    let entries = all_entries(s, b).await;
    assert!(
        entries.iter().all(|e| e.balance_after >= 0),
        "bob's balance went negative: {entries:?}"
    );
    // Bob's holds stay pending: each one that was created still holds its 350.
    let spends = outcomes
        .iter()
        .filter(|(kind, o)| *kind == "spend" && matches!(o, Seen::Refunded(_)))
        .count();
    let bobs_holds = 350 * spends as i64;
    assert_eq!(
        bob_account.available,
        bob_account.balance - bobs_holds,
        "available = balance - holds"
    );
    assert!(bob_account.available >= 0);
    // Each payment: refunded within its capture, and the ledger moved captured - refunded.
    for payment in paid.iter().chain(&held) {
        let (stored, refunded) = assert_refunds_posted(s, payment.id).await;
        assert_eq!(
            net_moved(s, &stored).await,
            stored.amount_captured - refunded,
            "{}: net movement",
            payment.id
        );
    }
    assert_books(s, &[a, b, c]).await;
}
