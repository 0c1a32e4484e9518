//! Tokens without the scope a route needs. The authorizer allows any valid token (it checks who,
//! not what); each function checks its scope first and answers 403 `insufficient_scope` as
//! problem+json, before it reads anything. The token endpoint never grants more than a client
//! has. Nothing moves, and a pending payment stays pending.

use std::sync::Arc;

use crate::{
    forge::{self, claims, header, with},
    support::{Tally, Target, Watchlist, assert_problem},
};

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("scopes");
    let target = Target::start(watch, "premium").await;
    let (alice, carol) = (target.alice.clone(), target.carol.clone());
    let [a1, a2] = [alice.accounts[0], alice.accounts[1]];

    // A pending payment of alice's, for the routes that act on one.
    let full = target.token(&alice, None).await;
    let created = target
        .post(
            &alice,
            "/v1/payments",
            &full,
            &Target::payment(a1, a2, 700, false),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let payment = created.body["id"].as_str().expect("payment id").to_owned();
    let before = target.books().await;

    // The token endpoint grants no scope beyond the client's.
    for (case, scope) in [
        ("carol asks for payments:write", "payments:write"),
        (
            "carol asks for payments:write with her own scope",
            "accounts:read payments:write",
        ),
        ("carol asks for an unknown scope (admin)", "admin"),
    ] {
        let answer = target.token_request(&carol, Some(scope)).await;
        assert_eq!(answer.status, 400, "{case}: {:?}", answer.body);
        assert_eq!(answer.body["error"], "invalid_scope", "{case}");
        assert!(answer.body["access_token"].is_null(), "{case}");
        tally.refused(format!("token endpoint: {case}"));
    }

    let read_only = target.token(&carol, None).await;
    let alice_read = target.token(&alice, Some("accounts:read")).await;
    let alice_write = target.token(&alice, Some("payments:write")).await;
    let alice_payments_read = target.token(&alice, Some("payments:read")).await;
    let no_scope = forge::es256(
        &target.signing_key,
        &header(&target.signing_key.kid),
        &with(claims(&alice.id), serde_json::json!({"scope": ""})),
    );
    let carol_account = carol.accounts[0];

    // (case, client, token, method, path, body)
    let pay = Target::payment(a1, a2, 100, true);
    let carol_pay = Target::payment(carol_account, a1, 100, true);
    let confirm = format!("/v1/payments/{payment}/confirm");
    let cancel = format!("/v1/payments/{payment}/cancel");
    let show = format!("/v1/payments/{payment}");
    let balance = format!("/v1/accounts/{a1}/balance");
    let entries = format!("/v1/accounts/{a1}/transactions");
    let cases: Vec<(&str, &crate::support::Client, &str, &str, String, String)> = vec![
        (
            "accounts:read only (carol): create a payment",
            &carol,
            &read_only,
            "POST",
            "/v1/payments".into(),
            carol_pay.clone(),
        ),
        (
            "accounts:read only (carol): confirm",
            &carol,
            &read_only,
            "POST",
            confirm.clone(),
            String::new(),
        ),
        (
            "accounts:read only (carol): cancel",
            &carol,
            &read_only,
            "POST",
            cancel.clone(),
            String::new(),
        ),
        (
            "accounts:read only (carol): show a payment",
            &carol,
            &read_only,
            "GET",
            show.clone(),
            String::new(),
        ),
        (
            "accounts:read token of alice: create a payment",
            &alice,
            &alice_read,
            "POST",
            "/v1/payments".into(),
            pay.clone(),
        ),
        (
            "accounts:read token of alice: confirm",
            &alice,
            &alice_read,
            "POST",
            confirm.clone(),
            String::new(),
        ),
        (
            "accounts:read token of alice: cancel",
            &alice,
            &alice_read,
            "POST",
            cancel.clone(),
            String::new(),
        ),
        (
            "payments:write token of alice: read a balance",
            &alice,
            &alice_write,
            "GET",
            balance.clone(),
            String::new(),
        ),
        (
            "payments:write token of alice: list transactions",
            &alice,
            &alice_write,
            "GET",
            entries.clone(),
            String::new(),
        ),
        (
            "payments:write token of alice: show a payment",
            &alice,
            &alice_write,
            "GET",
            show.clone(),
            String::new(),
        ),
        (
            "payments:read token of alice: create a payment",
            &alice,
            &alice_payments_read,
            "POST",
            "/v1/payments".into(),
            pay.clone(),
        ),
        (
            "payments:read token of alice: confirm",
            &alice,
            &alice_payments_read,
            "POST",
            confirm.clone(),
            String::new(),
        ),
        (
            "validly signed token with no scope: create a payment",
            &alice,
            &no_scope,
            "POST",
            "/v1/payments".into(),
            pay.clone(),
        ),
        (
            "validly signed token with no scope: read a balance",
            &alice,
            &no_scope,
            "GET",
            balance.clone(),
            String::new(),
        ),
        (
            "validly signed token with no scope: confirm",
            &alice,
            &no_scope,
            "POST",
            confirm.clone(),
            String::new(),
        ),
    ];
    for (case, client, token, method, path, body) in cases {
        let answer = if method == "GET" {
            target.get(client, &path, token).await
        } else {
            target.post(client, &path, token, &body).await
        };
        assert_problem(&answer, 403, "insufficient_scope", case);
        assert!(
            answer
                .header("www-authenticate")
                .is_some_and(|v| v.contains("insufficient_scope")),
            "{case}: {:?}",
            answer.headers
        );
        tally.refused(case);
    }

    assert_eq!(
        target.books().await,
        before,
        "no scope-less request moved money"
    );
    let still = target.get(&alice, &show, &full).await;
    assert_eq!(still.body["status"], "pending", "{:?}", still.body);
    tally
}
