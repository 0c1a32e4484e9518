//! The parties of a payment (issue 13): alice pays bob, so alice is the payer and bob the payee.
//! dave, with every scope, is neither: on every route that names one of their payments he gets
//! the very answer a missing payment gets (404 `payment_not_found`, same headers and body but
//! for the id), and his lists never show it. The wrong party gets 403: the payee confirming or
//! canceling (`not_payer`), the payer refunding (`not_payee`), also when replaying the other
//! party's Idempotency-Key. After each refused case the books and the payments are unchanged.

use std::sync::Arc;

use paygate_shared::PaymentId;

use crate::{
    lifecycle::{assert_like_missing, refund_body},
    support::{Answer, Client, OPENING, T0, Tally, Target, Watchlist, assert_problem},
};

/// One request of a route that names a payment: `(name, method, path suffix, body)`.
const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("reads", "GET", "", ""),
    ("lists the refunds of", "GET", "/refunds", ""),
    ("refunds 1 of", "POST", "/refunds", r#"{"amount": 1}"#),
    ("refunds all of", "POST", "/refunds", "{}"),
    ("confirms", "POST", "/confirm", ""),
    ("partly confirms", "POST", "/confirm", r#"{"amount": 1}"#),
    ("cancels", "POST", "/cancel", ""),
];

/// Sends `route` (one of [`ROUTES`]) for payment `id` as `client`.
async fn call(
    target: &Target,
    client: &Client,
    token: &str,
    route: &(&str, &str, &str, &str),
    id: &str,
) -> Answer {
    let (_, method, suffix, body) = *route;
    let path = format!("/v1/payments/{id}{suffix}");
    if method == "GET" {
        target.get(client, &path, token).await
    } else {
        target.post(client, &path, token, body).await
    }
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("parties");
    let target = Target::start(watch, "premium").await;
    let (alice, bob, dave) = (
        target.alice.clone(),
        target.bob.clone(),
        target.dave.clone(),
    );
    let (a1, b1) = (alice.accounts[0], bob.accounts[0]);
    let alice_token = target.token(&alice, None).await;
    let bob_token = target.token(&bob, None).await;
    let dave_token = target.token(&dave, None).await;

    // alice → bob: captured and partly refunded by bob, pending, canceled.
    let captured = target
        .pay(&alice, &alice_token, (a1, b1), 1_000, true)
        .await;
    let refund_key = "bob-refund-1";
    let refunded = target
        .refund(
            &bob,
            &bob_token,
            &captured,
            &refund_body(Some(100), None),
            refund_key,
        )
        .await;
    assert_eq!(refunded.status, 201, "bob refunds 100: {:?}", refunded.body);
    let pending = target.pay(&alice, &alice_token, (a1, b1), 700, false).await;
    let canceled = target.pay(&alice, &alice_token, (a1, b1), 300, false).await;
    let cancel = target
        .settle(&alice, &alice_token, &canceled, "cancel", "")
        .await;
    assert_eq!(cancel.status, 200, "{:?}", cancel.body);

    // The control: both parties read the payment and its refunds.
    for (who, client, token) in [("alice", &alice, &alice_token), ("bob", &bob, &bob_token)] {
        let view = target
            .get(client, &format!("/v1/payments/{captured}"), token)
            .await;
        assert_eq!(view.status, 200, "{who} reads: {:?}", view.body);
        assert_eq!(
            (
                view.body["amount_captured"].as_i64(),
                view.body["amount_refunded"].as_i64()
            ),
            (Some(1_000), Some(100)),
            "{who}"
        );
        let refunds = target
            .get(client, &format!("/v1/payments/{captured}/refunds"), token)
            .await;
        assert_eq!(
            refunds.status, 200,
            "{who} lists refunds: {:?}",
            refunds.body
        );
        assert_eq!(refunds.body["data"][0]["id"], refunded.body["id"], "{who}");
    }
    let payments = [captured.as_str(), pending.as_str(), canceled.as_str()];
    let before = target.ledger(&alice, &payments).await;

    // dave, neither payer nor payee: every answer is a missing payment's.
    let missing = PaymentId::generate(T0).to_string();
    for route in ROUTES {
        let what = route.0;
        let absent = call(&target, &dave, &dave_token, route, &missing).await;
        for (state, id) in [
            ("captured", &captured),
            ("pending", &pending),
            ("canceled", &canceled),
        ] {
            let case = format!("dave (no party) {what} alice's {state} payment to bob");
            let answer = call(&target, &dave, &dave_token, route, id).await;
            assert_like_missing(&answer, &absent, id, &missing, &case);
            tally.refused(case);
        }
    }
    assert_eq!(
        target.ledger(&alice, &payments).await,
        before,
        "dave moved nothing"
    );

    // The wrong party: 403 naming the party the action belongs to, and nothing changes.
    let check = |answer: &Answer, code: &str, case: &str| {
        assert_problem(answer, 403, code, case);
        assert!(answer.header("idempotent-replayed").is_none(), "{case}");
    };
    for (case, id, action, body) in [
        (
            "bob (payee) confirms alice's pending payment",
            &pending,
            "confirm",
            "",
        ),
        (
            "bob (payee) partly confirms alice's pending payment",
            &pending,
            "confirm",
            r#"{"amount": 1}"#,
        ),
        (
            "bob (payee) cancels alice's pending payment",
            &pending,
            "cancel",
            "",
        ),
        (
            "bob (payee) confirms alice's captured payment again",
            &captured,
            "confirm",
            "",
        ),
        (
            "bob (payee) cancels alice's canceled payment again",
            &canceled,
            "cancel",
            "",
        ),
    ] {
        let answer = target.settle(&bob, &bob_token, id, action, body).await;
        check(&answer, "not_payer", case);
        assert_eq!(
            target.ledger(&alice, &payments).await,
            before,
            "{case}: something changed"
        );
        tally.refused(case);
    }
    let bob_key = refund_body(Some(100), None);
    for (case, id, body, key) in [
        (
            "alice (payer) refunds part of her captured payment",
            &captured,
            refund_body(Some(1), None),
            "alice-refund-1",
        ),
        (
            "alice (payer) refunds all of her captured payment",
            &captured,
            "{}".to_owned(),
            "alice-refund-2",
        ),
        (
            "alice (payer) refunds her pending payment",
            &pending,
            "{}".to_owned(),
            "alice-refund-3",
        ),
        (
            "alice (payer) replays bob's refund Idempotency-Key and body",
            &captured,
            bob_key.clone(),
            refund_key,
        ),
    ] {
        let answer = target.refund(&alice, &alice_token, id, &body, key).await;
        check(&answer, "not_payee", case);
        assert_eq!(
            target.ledger(&alice, &payments).await,
            before,
            "{case}: something changed"
        );
        tally.refused(case);
    }
    let case = "dave replays bob's refund Idempotency-Key and body";
    let absent = target
        .refund(&dave, &dave_token, &missing, &bob_key, "dave-absent")
        .await;
    let answer = target
        .refund(&dave, &dave_token, &captured, &bob_key, refund_key)
        .await;
    assert_like_missing(&answer, &absent, &captured, &missing, case);
    assert!(answer.header("idempotent-replayed").is_none(), "{case}");
    tally.refused(case);

    // The funding that opened bob's account moved money in from the treasury: it is no
    // client's payment, so bob cannot refund it back out (nor read, confirm or cancel it).
    let entries = target
        .get(
            &bob,
            &format!("/v1/accounts/{b1}/transactions?limit=100"),
            &bob_token,
        )
        .await;
    let oldest = entries.body["data"]
        .as_array()
        .and_then(|data| data.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&oldest["direction"], &oldest["amount"]),
        (&"credit".into(), &OPENING.into()),
        "the funding entry: {oldest}"
    );
    let funding = oldest["payment_id"]
        .as_str()
        .expect("its payment")
        .to_owned();
    assert!(!payments.contains(&funding.as_str()), "{funding}");
    for route in ROUTES {
        let case = format!("bob (funded) {} the funding of his account", route.0);
        let absent = call(&target, &bob, &bob_token, route, &missing).await;
        let answer = call(&target, &bob, &bob_token, route, &funding).await;
        assert_like_missing(&answer, &absent, &funding, &missing, &case);
        assert_eq!(
            target.ledger(&alice, &payments).await,
            before,
            "{case}: something changed"
        );
        tally.refused(case);
    }

    // Lists: a payment shows only to its parties, on their side.
    let ids = |a: &Answer| -> Vec<String> {
        a.body["data"].as_array().map_or_else(Vec::new, |d| {
            d.iter()
                .filter_map(|p| p["id"].as_str().map(str::to_owned))
                .collect()
        })
    };
    for (case, client, token, query) in [
        (
            "dave lists his payments as payer",
            &dave,
            &dave_token,
            "role=payer",
        ),
        (
            "dave lists his payments as payee",
            &dave,
            &dave_token,
            "role=payee",
        ),
        (
            "dave lists his payments (default role)",
            &dave,
            &dave_token,
            "",
        ),
        (
            "alice lists her payments as payee",
            &alice,
            &alice_token,
            "role=payee",
        ),
        (
            "bob lists his payments as payer",
            &bob,
            &bob_token,
            "role=payer",
        ),
    ] {
        let answer = target
            .get(client, &format!("/v1/payments?{query}"), token)
            .await;
        assert_eq!(answer.status, 200, "{case}: {:?}", answer.body);
        assert_eq!(answer.body["object"], "list", "{case}");
        assert_eq!(
            ids(&answer),
            Vec::<String>::new(),
            "{case}: shows a payment it is no party to on that side"
        );
        tally.refused(case);
    }
    // The control: each party sees all three on its own side.
    for (who, client, token, role) in [
        ("alice", &alice, &alice_token, "payer"),
        ("bob", &bob, &bob_token, "payee"),
    ] {
        let answer = target
            .get(client, &format!("/v1/payments?role={role}"), token)
            .await;
        let mut seen = ids(&answer);
        seen.sort();
        let mut all: Vec<String> = payments.iter().map(|p| (*p).to_owned()).collect();
        all.sort();
        assert_eq!(seen, all, "{who} as {role}: {:?}", answer.body);
    }
    // Filtering on the other party's account reveals nothing either.
    for (case, client, token, query) in [
        (
            "dave lists payments into bob's account",
            &dave,
            &dave_token,
            format!("role=payee&account_id={b1}"),
        ),
        (
            "dave lists payments out of alice's account",
            &dave,
            &dave_token,
            format!("role=payer&account_id={a1}"),
        ),
        (
            "alice lists payments out of bob's account",
            &alice,
            &alice_token,
            format!("role=payer&account_id={b1}"),
        ),
        (
            "bob lists payments into alice's account",
            &bob,
            &bob_token,
            format!("role=payee&account_id={a1}"),
        ),
    ] {
        let answer = target
            .get(client, &format!("/v1/payments?{query}"), token)
            .await;
        assert_not_listed(&answer, &payments, case);
        tally.refused(case);
    }

    assert_eq!(
        target.ledger(&alice, &payments).await,
        before,
        "no party attack moved money"
    );
    tally
}

/// Another client's account as a list filter: the 404 a missing account gets, nothing listed.
fn assert_not_listed(answer: &Answer, payments: &[&str], case: &str) {
    assert_problem(answer, 404, "account_not_found", case);
    let text = answer.body.to_string();
    assert!(payments.iter().all(|p| !text.contains(p)), "{case}: {text}");
}
