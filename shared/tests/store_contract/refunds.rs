//! Refunds: the payee gives back, in parts, up to what was captured; each refund is one debit
//! of the payee's account and one credit of the payer's, atomically; refusals write nothing;
//! requests replay by idempotency key.

#[allow(unused_imports)]
use super::*;

pub(crate) async fn refunds_post_back_to_the_payer_up_to_the_capture(fx: Fixture) {
    let s = fx.store();
    let (alice, bob, carol) = (client("alice"), client("bob"), client("carol"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 50, T0).await;
    let c = open_funded(s, &carol, GENEROUS, 0, T0).await;
    let books = [a, b, c];
    let p = transfer(&alice, a, b, cny(400), T0);
    must_create(s, &p, T0).await;

    // Not captured: refused, nothing written.
    let before = snapshot(s, &books, p.id).await;
    let (_, outcome) = refund_as(s, &p, 10, "r-early", "10", T0 + minutes(1)).await;
    assert_eq!(outcome, Err(PaymentError::NotCaptured(p.id).into()));
    assert_eq!(snapshot(s, &books, p.id).await, before);
    assert_eq!(before.1, Some((p.clone(), Vec::new())));

    let captured = s
        .capture(&p, cny(300), T0 + minutes(2))
        .await
        .expect("capture");
    let (a0, b0) = (account(s, a).await, account(s, b).await);
    assert_eq!((a0.balance, a0.available), (700, 700));
    assert_eq!((b0.balance, b0.available), (350, 350));

    // A first refund, with a reason: the payee's balance and available go down, the payer's up.
    let at = T0 + minutes(3);
    let r1 = Refund::new(p.id, cny(100), Some(RefundReason::RequestedByCustomer), at);
    let rec1 = refund_record(&bob, &r1, "k1", "refund 100", at);
    let refunded1 = captured.refund(cny(100), at).unwrap();
    assert_eq!(
        s.create_refund(&captured, &r1, &rec1, at).await,
        Ok(RefundOutcome::Created {
            refund: r1.clone(),
            payment: refunded1.clone()
        })
    );
    assert_eq!(s.payment(p.id).await, Ok(Some(refunded1.clone())));
    assert_eq!(refunded1.amount_refunded, 100);
    let (a1, b1) = (account(s, a).await, account(s, b).await);
    assert_eq!((a1.balance, a1.available), (800, 800));
    assert_eq!((b1.balance, b1.available), (250, 250));
    let debit = all_entries(s, b).await[0].clone();
    assert_eq!(
        debit,
        LedgerEntry {
            id: debit.id,
            account_id: b,
            owner: bob.clone(),
            payment_id: p.id,
            refund_id: Some(r1.id),
            direction: Direction::Debit,
            amount: cny(100),
            balance_after: 250,
            counterparty: a,
            created_at: at,
        }
    );
    let credit = all_entries(s, a).await[0].clone();
    assert_eq!(
        credit,
        LedgerEntry {
            id: credit.id,
            account_id: a,
            owner: alice.clone(),
            payment_id: p.id,
            refund_id: Some(r1.id),
            direction: Direction::Credit,
            amount: cny(100),
            balance_after: 800,
            counterparty: b,
            created_at: at,
        }
    );
    assert_eq!(
        (b1.ledger_head, a1.ledger_head),
        (Some(debit.id), Some(credit.id))
    );
    assert_books(s, &books).await;

    // The same request again (a fresh refund id, the same key and body): the first answer.
    let after1 = snapshot(s, &books, p.id).await;
    let (_, replay) = refund_as(s, &captured, 100, "k1", "refund 100", at + minutes(1)).await;
    assert_eq!(replay, Ok(RefundOutcome::Replayed(rec1.clone())));
    // The key with another request: refused.
    let (_, reused) = refund_as(s, &captured, 100, "k1", "refund 99", at + minutes(1)).await;
    assert_eq!(reused, Err(IdempotencyError::KeyReused.into()));
    // More than is left (200): refused, naming what is left.
    let (_, over) = refund_as(s, &captured, 201, "k2", "201", at + minutes(1)).await;
    assert_eq!(
        over,
        Err(PaymentError::RefundExceedsPayment {
            id: p.id,
            left: cny(200)
        }
        .into())
    );
    // Zero: refused.
    let (_, zero) = refund_as(s, &captured, 0, "k3", "0", at + minutes(1)).await;
    assert!(
        matches!(
            zero,
            Err(StoreError::Payment(PaymentError::InvalidAmount(_)))
        ),
        "{zero:?}"
    );
    assert_eq!(snapshot(s, &books, p.id).await, after1);

    // The payee's available does not cover it (bob holds 200 of his 250 for carol): refused,
    // nothing written.
    let spend = transfer(&bob, b, c, cny(200), at + minutes(1));
    must_create(s, &spend, spend.created_at).await;
    let held = snapshot(s, &books, p.id).await;
    let (_, short) = refund_as(s, &captured, 100, "k4", "100", at + minutes(2)).await;
    assert_eq!(
        short,
        Err(AccountError::InsufficientFunds {
            account: b,
            available: 50,
            requested: 100
        }
        .into())
    );
    assert_eq!(snapshot(s, &books, p.id).await, held);
    s.release(&spend, ReleaseReason::Canceled, at + minutes(3))
        .await
        .expect("cancel");

    // Several parts, up to exactly what was captured. The caller's copy may be stale (here:
    // still pending): the stored payment decides.
    let (r2, second) = refund_as(s, &p, 150, "k5", "150", at + minutes(4)).await;
    assert!(
        matches!(second, Ok(RefundOutcome::Created { .. })),
        "{second:?}"
    );
    let (r3, third) = refund_as(s, &captured, 50, "k6", "50", at + minutes(5)).await;
    let Ok(RefundOutcome::Created { payment: full, .. }) = third else {
        panic!("{third:?}");
    };
    assert_eq!(
        (
            full.amount_captured,
            full.amount_refunded,
            full.refundable()
        ),
        (300, 300, 0)
    );
    assert_eq!(full.status(), PaymentStatus::Succeeded);
    let (a2, b2) = (account(s, a).await, account(s, b).await);
    assert_eq!((a2.balance, a2.available), (1_000, 1_000));
    assert_eq!((b2.balance, b2.available), (50, 50));
    let (_, nothing_left) = refund_as(s, &full, 1, "k7", "1", at + minutes(6)).await;
    assert_eq!(
        nothing_left,
        Err(PaymentError::RefundExceedsPayment {
            id: p.id,
            left: cny(0)
        }
        .into())
    );
    // A replay still answers once nothing is left.
    let (_, late_replay) = refund_as(s, &full, 100, "k1", "refund 100", at + minutes(6)).await;
    assert_eq!(late_replay, Ok(RefundOutcome::Replayed(rec1)));

    // The payment and its refunds, oldest first.
    assert_eq!(
        s.payment_with_refunds(p.id).await,
        Ok(Some((full.clone(), vec![r1, r2, r3])))
    );
    assert_eq!(
        s.payment_with_refunds(PaymentId::generate(T0)).await,
        Ok(None)
    );
    assert_books(s, &books).await;

    // A funding is the system's: its payer is the treasury, which takes no payments.
    let funding = all_entries(s, c).await;
    assert!(funding.is_empty());
    let funded = s.fund(c, cny(500), at + minutes(7)).await.expect("fund");
    let before = snapshot(s, &books, funded.id).await;
    let (_, outcome) = refund_as(s, &funded, 100, "k8", "100", at + minutes(8)).await;
    assert_eq!(outcome, Err(AccountError::NotFound(treasury()).into()));
    assert_eq!(snapshot(s, &books, funded.id).await, before);
    assert_books(s, &books).await;
}
