//! Taking back more than was given (issue 13): bob, the payee, refunds more than is left of a
//! payment (`422 refund_exceeds_payment`, the detail naming what is left), refunds payments that
//! were never captured (`409 payment_not_captured`), refunds money he no longer has
//! (`422 insufficient_funds`), sends hostile refund bodies and reuses keys. After each refused
//! case the books and the payments are exactly as before; the accepted refunds in between move
//! exactly their amount.

use std::sync::Arc;

use crate::{
    lifecycle::{assert_exceeds, refund_body, unchanged},
    support::{Answer, OPENING, Tally, Target, Watchlist, assert_problem},
};

fn refunded_amount(answer: &Answer, amount: i64, case: &str) {
    assert_eq!(answer.status, 201, "{case}: {:?}", answer.body);
    assert_eq!(answer.body["object"], "refund", "{case}");
    assert_eq!(answer.body["amount"], amount, "{case}");
    assert_eq!(answer.body["status"], "succeeded", "{case}");
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("refunds");
    let target = Target::start(watch, "premium").await;
    let (alice, bob) = (target.alice.clone(), target.bob.clone());
    let (a1, b1, b2) = (alice.accounts[0], bob.accounts[0], bob.accounts[1]);
    let alice_token = target.token(&alice, None).await;
    let bob_token = target.token(&bob, None).await;
    let mut keys = 0;
    let mut key = || {
        keys += 1;
        format!("bob-refund-{keys}")
    };

    let whole = target
        .pay(&alice, &alice_token, (a1, b1), 1_000, true)
        .await;
    let pending = target.pay(&alice, &alice_token, (a1, b1), 700, false).await;
    let canceled = target.pay(&alice, &alice_token, (a1, b1), 300, false).await;
    let cancel = target
        .settle(&alice, &alice_token, &canceled, "cancel", "")
        .await;
    assert_eq!(cancel.status, 200, "{:?}", cancel.body);
    let partial = target
        .pay(&alice, &alice_token, (a1, b1), 1_000, false)
        .await;
    let payments = [
        whole.as_str(),
        pending.as_str(),
        canceled.as_str(),
        partial.as_str(),
    ];

    // alice captures 300 of her 1000 hold (the `captures` group attacks the capture itself).
    let captured = target
        .settle(
            &alice,
            &alice_token,
            &partial,
            "confirm",
            r#"{"amount": 300}"#,
        )
        .await;
    assert_eq!(captured.body["amount_captured"], 300, "{:?}", captured.body);
    let mut before = target.ledger(&alice, &payments).await;

    // Over-refunds: never beyond what was captured, and what is left is named.
    let over: Vec<(&str, &str, Option<i64>, i64)> = vec![
        (
            "bob refunds 1001 of a 1000 payment",
            whole.as_str(),
            Some(1_001),
            1_000,
        ),
        (
            "bob refunds i64::MAX of a 1000 payment",
            whole.as_str(),
            Some(i64::MAX),
            1_000,
        ),
        (
            "bob refunds 301 of 1000 held, 300 captured",
            partial.as_str(),
            Some(301),
            300,
        ),
        (
            "bob refunds 1000 (the amount) of 300 captured",
            partial.as_str(),
            Some(1_000),
            300,
        ),
    ];
    for (case, payment, amount, left) in over {
        let answer = target
            .refund(
                &bob,
                &bob_token,
                payment,
                &refund_body(amount, None),
                &key(),
            )
            .await;
        assert_exceeds(&answer, left, case);
        unchanged(&target, &mut tally, &payments, &before, case).await;
    }
    let answer = target
        .refund(
            &bob,
            &bob_token,
            &whole,
            &refund_body(Some(600), Some("duplicate")),
            &key(),
        )
        .await;
    refunded_amount(&answer, 600, "bob refunds 600 of 1000");
    let answer = target
        .refund(&bob, &bob_token, &partial, &refund_body(None, None), &key())
        .await;
    refunded_amount(&answer, 300, "bob refunds all that is left of 300 captured");
    before = target.ledger(&alice, &payments).await;
    for (case, payment, amount, left) in [
        (
            "bob refunds 401 with 400 left",
            whole.as_str(),
            Some(401),
            400,
        ),
        (
            "bob refunds 1 of a fully refunded payment",
            partial.as_str(),
            Some(1),
            0,
        ),
        (
            "bob refunds all that is left of a fully refunded payment",
            partial.as_str(),
            None,
            0,
        ),
    ] {
        let answer = target
            .refund(
                &bob,
                &bob_token,
                payment,
                &refund_body(amount, None),
                &key(),
            )
            .await;
        assert_exceeds(&answer, left, case);
        unchanged(&target, &mut tally, &payments, &before, case).await;
    }

    // Payments that were never captured.
    for (case, payment, amount) in [
        (
            "bob refunds 1 of a pending payment",
            pending.as_str(),
            Some(1),
        ),
        (
            "bob refunds all of a pending payment",
            pending.as_str(),
            None,
        ),
        ("bob refunds a canceled payment", canceled.as_str(), Some(1)),
    ] {
        let answer = target
            .refund(
                &bob,
                &bob_token,
                payment,
                &refund_body(amount, None),
                &key(),
            )
            .await;
        assert_problem(&answer, 409, "payment_not_captured", case);
        unchanged(&target, &mut tally, &payments, &before, case).await;
    }

    // Hostile refund bodies and headers: 400 naming the problem.
    for (case, body, code) in [
        ("a refund of 0", r#"{"amount": 0}"#, "invalid_amount"),
        ("a refund of -1", r#"{"amount": -1}"#, "invalid_amount"),
        (
            "a refund of i64::MIN",
            r#"{"amount": -9223372036854775808}"#,
            "invalid_amount",
        ),
        ("a refund of 1.5", r#"{"amount": 1.5}"#, "invalid_field"),
        (
            "a refund of \"100\"",
            r#"{"amount": "100"}"#,
            "invalid_field",
        ),
        (
            "a refund of i64::MAX + 1",
            r#"{"amount": 9223372036854775808}"#,
            "invalid_field",
        ),
        (
            "a refund with reason chargeback",
            r#"{"amount": 1, "reason": "chargeback"}"#,
            "invalid_field",
        ),
        (
            "a refund with a smuggled payment_id",
            &format!(r#"{{"amount": 1, "payment_id": "{pending}"}}"#),
            "invalid_field",
        ),
        (
            "a refund with a smuggled currency",
            r#"{"amount": 1, "currency": "USD"}"#,
            "invalid_field",
        ),
        (
            "a refund with a smuggled status",
            r#"{"amount": 1, "status": "succeeded"}"#,
            "invalid_field",
        ),
        ("a refund body that is an array", "[1]", "invalid_body"),
    ] {
        let answer = target.refund(&bob, &bob_token, &whole, body, &key()).await;
        assert_problem(&answer, 400, code, case);
        unchanged(&target, &mut tally, &payments, &before, case).await;
    }
    let case = "a refund without an Idempotency-Key";
    let answer = target
        .post_with(
            &bob,
            &format!("/v1/payments/{whole}/refunds"),
            &bob_token,
            r#"{"amount": 1}"#,
            &[],
        )
        .await;
    assert_problem(&answer, 400, "idempotency_key_missing", case);
    unchanged(&target, &mut tally, &payments, &before, case).await;

    // Keys: a replay moves nothing, a different body under a used key is refused.
    let used = "bob-refund-once";
    let first = target
        .refund(&bob, &bob_token, &whole, &refund_body(Some(50), None), used)
        .await;
    refunded_amount(&first, 50, "bob refunds 50");
    before = target.ledger(&alice, &payments).await;
    let case = "bob replays his refund of 50 (replayed, not refunded twice)";
    let replay = target
        .refund(&bob, &bob_token, &whole, &refund_body(Some(50), None), used)
        .await;
    assert_eq!(
        (replay.status, replay.header("idempotent-replayed")),
        (201, Some("true")),
        "{case}: {:?}",
        replay.body
    );
    assert_eq!(replay.body["id"], first.body["id"], "{case}");
    unchanged(&target, &mut tally, &payments, &before, case).await;
    let case = "bob reuses his refund key for 60";
    let answer = target
        .refund(&bob, &bob_token, &whole, &refund_body(Some(60), None), used)
        .await;
    assert_problem(&answer, 422, "idempotency_key_reused", case);
    unchanged(&target, &mut tally, &payments, &before, case).await;
    let case = "bob reuses his refund key on another payment";
    let other = target.pay(&alice, &alice_token, (a1, b1), 100, true).await;
    let mut with_other = payments.to_vec();
    with_other.push(&other);
    let before_other = target.ledger(&alice, &with_other).await;
    let answer = target
        .refund(&bob, &bob_token, &other, &refund_body(Some(50), None), used)
        .await;
    assert_problem(&answer, 422, "idempotency_key_reused", case);
    unchanged(&target, &mut tally, &with_other, &before_other, case).await;

    // The payee no longer has the money: bob holds almost all of B1 for a payment to B2.
    let balance = target
        .get(&bob, &format!("/v1/accounts/{b1}/balance"), &bob_token)
        .await;
    let available = balance.body["available"].as_i64().expect("available");
    assert_eq!(
        available,
        OPENING + 1_000 + 300 + 100 - 600 - 300 - 50,
        "{:?}",
        balance.body
    );
    target
        .pay(&bob, &bob_token, (b1, b2), available - 10, false)
        .await;
    let before_hold = target.ledger(&alice, &with_other).await;
    for (case, amount) in [
        ("bob refunds 11 with 10 available", Some(11)),
        ("bob refunds all (100 left) with 10 available", None),
    ] {
        let answer = target
            .refund(&bob, &bob_token, &other, &refund_body(amount, None), &key())
            .await;
        assert_problem(&answer, 422, "insufficient_funds", case);
        unchanged(&target, &mut tally, &with_other, &before_hold, case).await;
    }
    let answer = target
        .refund(
            &bob,
            &bob_token,
            &other,
            &refund_body(Some(10), None),
            &key(),
        )
        .await;
    refunded_amount(&answer, 10, "bob refunds the 10 he has");

    // Every accepted refund moved exactly its amount from B1 back to A1.
    let a = target
        .get(&alice, &format!("/v1/accounts/{a1}/balance"), &alice_token)
        .await;
    assert_eq!(
        a.body["balance"],
        OPENING - 1_000 - 300 - 100 + 600 + 300 + 50 + 10,
        "{:?}",
        a.body
    );
    assert_eq!(
        a.body["available"],
        OPENING - 1_000 - 300 - 100 + 600 + 300 + 50 + 10 - 700,
        "{:?}",
        a.body
    );
    let b = target
        .get(&bob, &format!("/v1/accounts/{b1}/balance"), &bob_token)
        .await;
    assert_eq!(
        b.body["balance"],
        OPENING + 1_000 + 300 + 100 - 600 - 300 - 50 - 10,
        "{:?}",
        b.body
    );
    assert_eq!(b.body["available"], 0, "{:?}", b.body);
    tally
}
