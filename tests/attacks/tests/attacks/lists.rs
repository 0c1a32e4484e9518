//! The lists of issue 13 (`GET /payments`, `GET /accounts`): a cursor is bound to the client,
//! the role and the filters of the query that issued it, so one from another query (other role,
//! other filters, other client, other list) is `400 invalid_cursor`, as is a damaged one; each
//! cursor works on its own query (the control). `GET /accounts` shows only the caller's own
//! accounts. Nothing moves.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::support::{Answer, Client, Tally, Target, Watchlist, assert_problem};

fn cursor_of(answer: &Answer, what: &str) -> String {
    assert_eq!(answer.status, 200, "{what}: {:?}", answer.body);
    answer.body["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no next_cursor in {:?}", answer.body))
        .to_owned()
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["data"]
        .as_array()
        .map_or_else(Vec::new, |data| {
            data.iter()
                .filter_map(|p| p["id"].as_str().or(p["account_id"].as_str()))
                .map(str::to_owned)
                .collect()
        })
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("lists");
    let target = Target::start(watch, "premium").await;
    let (alice, bob, dave) = (
        target.alice.clone(),
        target.bob.clone(),
        target.dave.clone(),
    );
    let (a1, a2, b1) = (alice.accounts[0], alice.accounts[1], bob.accounts[0]);
    let alice_token = target.token(&alice, None).await;
    let bob_token = target.token(&bob, None).await;
    let dave_token = target.token(&dave, None).await;

    // alice → bob: two captured, one pending; alice → alice: one captured.
    for (route, amount, confirm) in [
        ((a1, b1), 100, true),
        ((a1, b1), 200, true),
        ((a1, b1), 300, false),
        ((a1, a2), 400, true),
    ] {
        target
            .pay(&alice, &alice_token, route, amount, confirm)
            .await;
    }
    let entries = target
        .get(
            &alice,
            &format!("/v1/accounts/{a1}/transactions?limit=1"),
            &alice_token,
        )
        .await;
    let before = target.books().await;

    let payer_first = target
        .get(&alice, "/v1/payments?role=payer&limit=1", &alice_token)
        .await;
    let payer = cursor_of(&payer_first, "alice's payments as payer");
    let payee = cursor_of(
        &target
            .get(
                &bob,
                "/v1/payments?role=payee&status=succeeded&limit=1",
                &bob_token,
            )
            .await,
        "bob's succeeded payments as payee",
    );
    let accounts_first = target
        .get(&alice, "/v1/accounts?limit=1", &alice_token)
        .await;
    let accounts = cursor_of(&accounts_first, "alice's accounts");
    let transactions = cursor_of(&entries, "alice's A1 transactions");

    // The controls: each cursor continues its own query.
    let next = target
        .get(
            &alice,
            &format!("/v1/payments?role=payer&limit=1&cursor={payer}"),
            &alice_token,
        )
        .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_eq!(ids(&next).len(), 1, "{:?}", next.body);
    assert_ne!(ids(&next), ids(&payer_first), "the cursor moved on");
    let next = target
        .get(
            &bob,
            &format!("/v1/payments?role=payee&status=succeeded&limit=1&cursor={payee}"),
            &bob_token,
        )
        .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    let next = target
        .get(
            &alice,
            &format!("/v1/accounts?limit=1&cursor={accounts}"),
            &alice_token,
        )
        .await;
    let mut both = [ids(&accounts_first), ids(&next)].concat();
    both.sort();
    let mut own = vec![a1.to_string(), a2.to_string()];
    own.sort();
    assert_eq!(both, own, "{:?}", next.body);

    let from = "2026-11-01T00:00:00Z";
    let to = "2027-01-01T00:00:00Z";
    let truncated = payer[..payer.len() - 2].to_owned();
    let injected = URL_SAFE_NO_PAD.encode(r#"{"client":"alice-shop","after":{"$gt":""}}"#);
    let cases: Vec<(&str, &Client, &str, String)> = vec![
        (
            "alice's payer cursor as payee",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payee&limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor with a status filter",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&status=succeeded&limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor with an account filter",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&account_id={a1}&limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor with from",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&from={from}&limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor with to",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&to={to}&limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor used by bob as payer",
            &bob,
            &bob_token,
            format!("/v1/payments?role=payer&limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor used by bob as payee (his side of the same payments)",
            &bob,
            &bob_token,
            format!("/v1/payments?role=payee&limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor used by dave",
            &dave,
            &dave_token,
            format!("/v1/payments?role=payer&limit=1&cursor={payer}"),
        ),
        (
            "bob's succeeded-payee cursor with status=pending",
            &bob,
            &bob_token,
            format!("/v1/payments?role=payee&status=pending&limit=1&cursor={payee}"),
        ),
        (
            "bob's succeeded-payee cursor with status=succeeded,pending",
            &bob,
            &bob_token,
            format!("/v1/payments?role=payee&status=succeeded,pending&limit=1&cursor={payee}"),
        ),
        (
            "bob's succeeded-payee cursor without the status filter",
            &bob,
            &bob_token,
            format!("/v1/payments?role=payee&limit=1&cursor={payee}"),
        ),
        (
            "bob's payee cursor used by alice as payer",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&status=succeeded&limit=1&cursor={payee}"),
        ),
        (
            "alice's accounts cursor on her payments",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&limit=1&cursor={accounts}"),
        ),
        (
            "alice's payments cursor on her accounts",
            &alice,
            &alice_token,
            format!("/v1/accounts?limit=1&cursor={payer}"),
        ),
        (
            "alice's accounts cursor used by bob",
            &bob,
            &bob_token,
            format!("/v1/accounts?limit=1&cursor={accounts}"),
        ),
        (
            "alice's transactions cursor on her payments",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&limit=1&cursor={transactions}"),
        ),
        (
            "alice's payments cursor on her transactions",
            &alice,
            &alice_token,
            format!("/v1/accounts/{a1}/transactions?limit=1&cursor={payer}"),
        ),
        (
            "alice's payer cursor truncated",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&limit=1&cursor={truncated}"),
        ),
        (
            "a base64url cursor with an injected operator",
            &alice,
            &alice_token,
            format!("/v1/payments?role=payer&limit=1&cursor={injected}"),
        ),
        (
            "a payments cursor that is not base64url",
            &alice,
            &alice_token,
            "/v1/payments?role=payer&cursor=%27%20OR%201%3D1".to_owned(),
        ),
    ];
    for (case, client, token, path) in cases {
        let answer = target.get(client, &path, token).await;
        assert_problem(&answer, 400, "invalid_cursor", case);
        tally.refused(case);
    }

    // GET /accounts: only the caller's own, never the treasury.
    for (case, client, token) in [
        ("dave lists accounts: only his own", &dave, &dave_token),
        ("bob lists accounts: only his own", &bob, &bob_token),
    ] {
        let answer = target.get(client, "/v1/accounts?limit=100", token).await;
        assert_eq!(answer.status, 200, "{case}: {:?}", answer.body);
        let mut seen = ids(&answer);
        seen.sort();
        let mut own: Vec<String> = client.accounts.iter().map(ToString::to_string).collect();
        own.sort();
        assert_eq!(seen, own, "{case}");
        tally.refused(case);
    }

    assert_eq!(target.books().await, before, "no list request moved money");
    tally
}
