//! Spending money that has not arrived (issue 15): bob's second account is batched, so what
//! alice pays into it waits as `incoming` until the poster posts it. bob tries to pay it out and
//! to refund it back before it posts: both `422 insufficient_funds`, and the books (balances,
//! available, entries, incoming) are exactly as before. Once posted, the same requests go
//! through. The suite's gateway runs no poster of its own: posting happens when this group says.

use std::{sync::Arc, time::Duration};

use paygate_shared::{PostingMode, store::PostingStore};

use crate::{
    lifecycle::refund_body,
    support::{OPENING, T0, Tally, Target, Watchlist, assert_problem},
};

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("incoming");
    let target = Target::start(watch, "premium").await;
    let (alice, bob) = (target.alice.clone(), target.bob.clone());
    let (a1, b1, b2) = (alice.accounts[0], bob.accounts[0], bob.accounts[1]);
    let alice_token = target.token(&alice, None).await;
    let bob_token = target.token(&bob, None).await;

    // bob keeps 100 of his opening balance in b2, which becomes a busy merchant's account.
    target
        .pay(&bob, &bob_token, (b2, b1), OPENING - 100, true)
        .await;
    target
        .store
        .set_posting(b2, PostingMode::Batched, T0)
        .await
        .expect("set_posting");
    let paid = target.pay(&alice, &alice_token, (a1, b2), 500, true).await;
    let before = target.books().await;
    assert_eq!(
        before.of(b2),
        Some((100, 100, 500)),
        "posted 100, 500 incoming"
    );
    let shown = target
        .get(&bob, &format!("/v1/accounts/{b2}/balance"), &bob_token)
        .await;
    assert_eq!(shown.body["posting"], "batched", "{:?}", shown.body);

    let cases: Vec<(&str, String, String)> = vec![
        (
            "bob pays out 200 of 100 posted and 500 incoming",
            "/v1/payments".into(),
            Target::payment(b2, a1, 200, true),
        ),
        (
            "bob holds 600 (posted and incoming together)",
            "/v1/payments".into(),
            Target::payment(b2, a1, 600, false),
        ),
        (
            "bob refunds 200 of alice's 500 before it posts",
            format!("/v1/payments/{paid}/refunds"),
            refund_body(Some(200), None),
        ),
        (
            "bob refunds all of alice's 500 before it posts",
            format!("/v1/payments/{paid}/refunds"),
            refund_body(None, None),
        ),
    ];
    for (case, path, body) in &cases {
        let answer = target.post(&bob, path, &bob_token, body).await;
        assert_problem(&answer, 422, "insufficient_funds", case);
        assert_eq!(
            target.books().await,
            before,
            "{case}: a refused request changed something"
        );
        tally.refused((*case).to_owned());
    }

    // Posted: the payout and the refund now go through, and no money was made or lost.
    let drained = target
        .poster
        .drain(b2, Duration::from_secs(10))
        .await
        .expect("the poster drains");
    assert_eq!(drained.credits, 1);
    assert_eq!(target.books().await.of(b2), Some((600, 600, 0)));
    let out = target
        .post(
            &bob,
            "/v1/payments",
            &bob_token,
            &Target::payment(b2, a1, 200, true),
        )
        .await;
    assert_eq!(out.status, 201, "{:?}", out.body);
    let refund = target
        .post(
            &bob,
            &format!("/v1/payments/{paid}/refunds"),
            &bob_token,
            &refund_body(Some(200), None),
        )
        .await;
    assert_eq!(refund.status, 201, "{:?}", refund.body);
    let after = target.books().await;
    assert_eq!(after.of(b2), Some((200, 200, 0)));
    assert_eq!(
        after.total(),
        before.total(),
        "money moved, none made or lost"
    );
    tally
}
