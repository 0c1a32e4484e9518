//! Concurrent refund storms (issue 13): bob, the payee, fires many refunds of one payment at
//! once. With distinct Idempotency-Keys the refunds accepted never add up to more than was
//! captured; "refund all that is left" succeeds exactly once; one key sent many times at once
//! makes one refund; refunds racing bob's own payments out of the same account never overdraw
//! it. Every refused answer is a clean 4xx, and the payment, its refunds and both accounts agree
//! to the unit with the answers given; no money appears or disappears.

use std::sync::Arc;

use serde_json::Value;
use tokio::task::JoinSet;

use crate::{
    lifecycle::refund_body,
    support::{Answer, OPENING, Tally, Target, Watchlist},
};

/// How many requests each storm sends at once.
const STORM: usize = 48;
/// How many payments the partial-refund storm is run on, one after the other.
const ROUNDS: usize = 8;

/// What refund `i` of a partial storm asks for: 20 to 67, 2088 in all.
fn ask(i: usize) -> i64 {
    20 + i64::try_from(i).unwrap_or(0)
}

/// One partial-refund storm on a fresh payment of 1000; how many refunds were accepted.
async fn partial_storm(
    target: &Arc<Target>,
    alice_token: &str,
    bob_token: &str,
    round: usize,
) -> usize {
    let (alice, bob) = (&target.alice, &target.bob);
    let (a1, b1) = (alice.accounts[0], bob.accounts[0]);
    let case = format!("round {round}: {STORM} concurrent partial refunds of a 1000 payment");
    let paid = target.pay(alice, alice_token, (a1, b1), 1_000, true).await;
    let before_a = balance(target, alice, alice_token, a1).await;
    let before_b = balance(target, bob, bob_token, b1).await;
    let asks = (0..STORM)
        .map(|i| {
            (
                refund_body(Some(ask(i)), None),
                format!("storm-1-{round}-{i}"),
            )
        })
        .collect();
    let answers = storm(target, bob_token, &paid, asks).await;
    for answer in answers.iter().filter(|a| a.status != 201) {
        refused_cleanly(
            answer,
            &[(422, "refund_exceeds_payment"), (409, "concurrent_update")],
            &case,
        );
    }
    let ok = accepted(&answers);
    let sum: i64 = ok.iter().map(|(_, amount)| amount).sum();
    assert!(
        !ok.is_empty() && sum <= 1_000,
        "{case}: refunded {sum} of 1000 in {ok:?}"
    );
    // What is left only shrinks: a refund refused as too large was larger than what is left now.
    for (i, answer) in answers.iter().enumerate() {
        if answer.body["code"] == "refund_exceeds_payment" {
            assert!(
                ask(i) > 1_000 - sum,
                "{case}: {} refused with {} left",
                ask(i),
                1_000 - sum
            );
        }
    }
    let (refunded, mut listed) = refunds_of(target, alice_token, &paid).await;
    listed.sort();
    assert_eq!(
        (refunded, &listed),
        (sum, &ok),
        "{case}: the payment disagrees with the answers"
    );
    assert_eq!(
        balance(target, bob, bob_token, b1).await,
        (before_b.0 - sum, before_b.1 - sum),
        "{case}: B1"
    );
    assert_eq!(
        balance(target, alice, alice_token, a1).await,
        (before_a.0 + sum, before_a.1 + sum),
        "{case}: A1"
    );
    ok.len()
}

/// A refusal a storm may meet: a clean problem, never a 5xx.
fn refused_cleanly(answer: &Answer, allowed: &[(u16, &str)], case: &str) {
    let code = answer.body["code"].as_str().unwrap_or_default();
    assert!(
        allowed
            .iter()
            .any(|(s, c)| *s == answer.status && *c == code),
        "{case}: {} {:?}",
        answer.status,
        answer.body
    );
}

/// Sends every `(body, key)` refund of `payment` at once as bob; the answers in order.
async fn storm(
    target: &Arc<Target>,
    token: &str,
    payment: &str,
    refunds: Vec<(String, String)>,
) -> Vec<Answer> {
    let mut set = JoinSet::new();
    for (i, (body, key)) in refunds.into_iter().enumerate() {
        let (target, token, payment) = (target.clone(), token.to_owned(), payment.to_owned());
        set.spawn(async move {
            let bob = target.bob.clone();
            (i, target.refund(&bob, &token, &payment, &body, &key).await)
        });
    }
    let mut answers: Vec<(usize, Answer)> = set.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    answers.into_iter().map(|(_, a)| a).collect()
}

/// The payment's `amount_refunded` and its refunds (ids and amounts) as its payer sees them.
async fn refunds_of(target: &Target, token: &str, payment: &str) -> (i64, Vec<(String, i64)>) {
    let alice = &target.alice;
    let view = target
        .get(alice, &format!("/v1/payments/{payment}"), token)
        .await;
    let list = target
        .get(alice, &format!("/v1/payments/{payment}/refunds"), token)
        .await;
    assert_eq!(
        (view.status, list.status),
        (200, 200),
        "{:?} {:?}",
        view.body,
        list.body
    );
    let refunds = list.body["data"].as_array().cloned().unwrap_or_default();
    let refunds = refunds
        .iter()
        .map(|r: &Value| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["amount"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    (view.body["amount_refunded"].as_i64().unwrap_or(-1), refunds)
}

/// `(balance, available)` of `account` as its owner `client` reads it.
async fn balance(
    target: &Target,
    client: &crate::support::Client,
    token: &str,
    account: paygate_shared::AccountId,
) -> (i64, i64) {
    let answer = target
        .get(client, &format!("/v1/accounts/{account}/balance"), token)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    (
        answer.body["balance"].as_i64().unwrap_or(i64::MIN),
        answer.body["available"].as_i64().unwrap_or(i64::MIN),
    )
}

/// The answers' accepted refunds `(id, amount)`, each checked to be a fresh 201.
fn accepted(answers: &[Answer]) -> Vec<(String, i64)> {
    let mut accepted: Vec<(String, i64)> = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| {
            (
                a.body["id"].as_str().unwrap_or_default().to_owned(),
                a.body["amount"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    accepted.sort();
    accepted
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("storms");
    let target = Arc::new(Target::start(watch, "premium").await);
    let (alice, bob) = (target.alice.clone(), target.bob.clone());
    let (a1, b1, b2) = (alice.accounts[0], bob.accounts[0], bob.accounts[1]);
    let alice_token = target.token(&alice, None).await;
    let bob_token = target.token(&bob, None).await;
    let money = |books: &crate::support::Books| books.total();
    let total = money(&target.books().await);

    // 1. Distinct keys, partial amounts asking for twice what was captured, round after round
    // (a lost update needs two requests between the same read and write: many tries).
    let mut refunds = 0;
    for round in 0..ROUNDS {
        refunds += partial_storm(&target, &alice_token, &bob_token, round).await;
    }
    tally.refused(format!(
        "{ROUNDS} x {STORM} concurrent partial refunds (distinct keys) of a 1000 payment: {refunds} accepted, none beyond 1000"
    ));

    // 2. "All that is left", many times at once: exactly one refund of everything.
    let case = format!("{STORM} concurrent full refunds (distinct keys) of a 500 payment");
    let paid = target.pay(&alice, &alice_token, (a1, b1), 500, true).await;
    let asks = (0..STORM)
        .map(|i| ("{}".to_owned(), format!("storm-2-{i}")))
        .collect();
    let answers = storm(&target, &bob_token, &paid, asks).await;
    for answer in answers.iter().filter(|a| a.status != 201) {
        refused_cleanly(
            answer,
            &[(422, "refund_exceeds_payment"), (409, "concurrent_update")],
            &case,
        );
    }
    let ok = accepted(&answers);
    assert_eq!(
        ok.iter().map(|(_, a)| *a).collect::<Vec<_>>(),
        vec![500],
        "{case}: {ok:?}"
    );
    assert_eq!(
        refunds_of(&target, &alice_token, &paid).await,
        (500, ok),
        "{case}"
    );
    tally.refused(case);

    // 3. One key, many times at once: one refund; the others replay it or wait their turn.
    let case = format!("{STORM} concurrent refunds with one Idempotency-Key");
    let paid = target.pay(&alice, &alice_token, (a1, b1), 300, true).await;
    let asks = (0..STORM)
        .map(|_| (refund_body(Some(100), None), "storm-3".to_owned()))
        .collect();
    let answers = storm(&target, &bob_token, &paid, asks).await;
    for answer in answers.iter().filter(|a| a.status != 201) {
        refused_cleanly(answer, &[(409, "idempotency_key_in_use")], &case);
    }
    let ok = accepted(&answers);
    let fresh = answers
        .iter()
        .filter(|a| a.status == 201 && a.header("idempotent-replayed").is_none())
        .count();
    let mut ids: Vec<&String> = ok.iter().map(|(id, _)| id).collect();
    ids.dedup();
    assert_eq!((ids.len(), fresh), (1, 1), "{case}: {ok:?}");
    let (refunded, listed) = refunds_of(&target, &alice_token, &paid).await;
    assert_eq!((refunded, listed.len()), (100, 1), "{case}");
    tally.refused(case);

    // 4. Refunds racing the payee's own payments out of the same account: B2 holds exactly
    // the 1000 it received, and 3000 is asked of it at once.
    let case = format!("{STORM} refunds and payments at once out of a payee account holding 1000");
    let drain = target.pay(&bob, &bob_token, (b2, b1), OPENING, true).await;
    let paid = target
        .pay(&alice, &alice_token, (a1, b2), 1_000, true)
        .await;
    assert_eq!(
        balance(&target, &bob, &bob_token, b2).await,
        (1_000, 1_000),
        "{case}: {drain}"
    );
    let mut set = JoinSet::new();
    for i in 0..STORM {
        let (target, bob_token, paid) = (target.clone(), bob_token.clone(), paid.clone());
        set.spawn(async move {
            let bob = target.bob.clone();
            match i % 3 {
                0 => (
                    "refund",
                    target
                        .refund(
                            &bob,
                            &bob_token,
                            &paid,
                            &refund_body(Some(150), None),
                            &format!("storm-4-{i}"),
                        )
                        .await,
                ),
                1 => (
                    "pay",
                    target
                        .post(
                            &bob,
                            "/v1/payments",
                            &bob_token,
                            &Target::payment(b2, b1, 150, true),
                        )
                        .await,
                ),
                _ => (
                    "hold",
                    target
                        .post(
                            &bob,
                            "/v1/payments",
                            &bob_token,
                            &Target::payment(b2, b1, 150, false),
                        )
                        .await,
                ),
            }
        });
    }
    let answers = set.join_all().await;
    let mut spent = 0;
    let mut held = 0;
    for (kind, answer) in &answers {
        if answer.status == 201 {
            match *kind {
                "hold" => held += 150,
                _ => spent += 150,
            }
        } else {
            let allowed = [
                (422, "insufficient_funds"),
                (422, "refund_exceeds_payment"),
                (409, "concurrent_update"),
            ];
            refused_cleanly(answer, &allowed, &format!("{case} ({kind})"));
        }
    }
    let refunds = answers
        .iter()
        .filter(|(k, a)| *k == "refund" && a.status == 201)
        .count();
    let (refunded, listed) = refunds_of(&target, &alice_token, &paid).await;
    assert_eq!(
        (refunded, listed.len()),
        (150 * i64::try_from(refunds).unwrap_or(0), refunds),
        "{case}"
    );
    let (b2_balance, b2_available) = balance(&target, &bob, &bob_token, b2).await;
    assert!(
        spent + held <= 1_000,
        "{case}: {spent} spent and {held} held of 1000"
    );
    assert_eq!(
        (b2_balance, b2_available),
        (1_000 - spent, 1_000 - spent - held),
        "{case}"
    );
    tally.refused(format!("{case}: {spent} spent, {held} held"));

    assert_eq!(
        money(&target.books().await),
        total,
        "money appeared or disappeared"
    );
    tally
}
