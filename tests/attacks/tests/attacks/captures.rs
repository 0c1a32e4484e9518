//! Capturing what was not held (issue 13): alice, the payer, captures more than her hold
//! (`422 capture_exceeds_hold`), sends hostile capture amounts (400), changes the amount after
//! the capture (`409 payment_not_pending`) and retries her capture (answered, not captured
//! twice). After each case the books and the payment are exactly as before.

use std::sync::Arc;

use crate::{
    lifecycle::unchanged,
    support::{Tally, Target, Watchlist, assert_problem},
};

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("captures");
    let target = Target::start(watch, "premium").await;
    let (alice, bob) = (target.alice.clone(), target.bob.clone());
    let (a1, b1) = (alice.accounts[0], bob.accounts[0]);
    let alice_token = target.token(&alice, None).await;
    let partial = target
        .pay(&alice, &alice_token, (a1, b1), 1_000, false)
        .await;
    let payments = [partial.as_str()];
    let mut before = target.ledger(&alice, &payments).await;

    // Captures beyond the hold, and a different amount after the capture.
    for (case, body, status, code) in [
        (
            "alice captures 1001 of a 1000 hold",
            r#"{"amount": 1001}"#,
            422,
            "capture_exceeds_hold",
        ),
        (
            "alice captures i64::MAX of a 1000 hold",
            r#"{"amount": 9223372036854775807}"#,
            422,
            "capture_exceeds_hold",
        ),
        (
            "alice captures 0",
            r#"{"amount": 0}"#,
            400,
            "invalid_amount",
        ),
        (
            "alice captures -1",
            r#"{"amount": -1}"#,
            400,
            "invalid_amount",
        ),
        (
            "alice captures 1.5",
            r#"{"amount": 1.5}"#,
            400,
            "invalid_field",
        ),
        (
            "alice captures \"500\"",
            r#"{"amount": "500"}"#,
            400,
            "invalid_field",
        ),
        (
            "alice captures with a smuggled currency",
            r#"{"amount": 500, "currency": "USD"}"#,
            400,
            "invalid_field",
        ),
    ] {
        let answer = target
            .settle(&alice, &alice_token, &partial, "confirm", body)
            .await;
        assert_problem(&answer, status, code, case);
        unchanged(&target, &mut tally, &payments, &before, case).await;
    }
    let captured = target
        .settle(
            &alice,
            &alice_token,
            &partial,
            "confirm",
            r#"{"amount": 300}"#,
        )
        .await;
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    assert_eq!(
        (
            captured.body["status"].as_str(),
            captured.body["amount_captured"].as_i64()
        ),
        (Some("succeeded"), Some(300))
    );
    before = target.ledger(&alice, &payments).await;
    let case = "alice captures 400 after capturing 300";
    let answer = target
        .settle(
            &alice,
            &alice_token,
            &partial,
            "confirm",
            r#"{"amount": 400}"#,
        )
        .await;
    assert_problem(&answer, 409, "payment_not_pending", case);
    unchanged(&target, &mut tally, &payments, &before, case).await;
    let case = "alice retries her capture of 300 (answered, not captured twice)";
    let answer = target
        .settle(
            &alice,
            &alice_token,
            &partial,
            "confirm",
            r#"{"amount": 300}"#,
        )
        .await;
    assert_eq!(
        (answer.status, answer.body["amount_captured"].as_i64()),
        (200, Some(300)),
        "{case}: {:?}",
        answer.body
    );
    unchanged(&target, &mut tally, &payments, &before, case).await;

    tally
}
