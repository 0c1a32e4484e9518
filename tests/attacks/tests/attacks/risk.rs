//! Risk control (issue 16), attacked: a merchant granting itself the reviewer's scope or
//! reviewing its own payment, an operator deciding twice (in turn and at once), velocity limits
//! evaded with concurrent requests or fresh `Idempotency-Key`s, and a large payment split to stay
//! under `review_amount` (which `review_amount` alone does not catch: `max_amount_per_hour`
//! does, as docs/risk.md says). Every refusal leaves the books exactly as they were.

use std::sync::Arc;

use paygate_shared::{ClientId, RiskRules, store::ClientStore};
use serde_json::json;

use crate::support::{Tally, Target, Watchlist, assert_problem};

async fn rules(target: &Target, client: &str, rules: serde_json::Value) {
    let id: ClientId = client.parse().unwrap();
    let rules = RiskRules::from_value(&rules).unwrap();
    target
        .store
        .set_risk_rules(&id, Some(&rules))
        .await
        .expect("set rules")
        .expect("the client exists");
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("risk");
    let target = Target::start(watch, "premium").await;
    let (alice, bob, dave, erin) = (&target.alice, &target.bob, &target.dave, &target.erin);
    let (a1, a2, b1, d1) = (
        alice.accounts[0],
        alice.accounts[1],
        bob.accounts[0],
        dave.accounts[0],
    );
    // Set before any payment of theirs: the gateway caches rules up to a minute.
    rules(
        &target,
        &alice.id,
        json!({"max_payments_per_hour": 5, "review_amount": 10_000, "max_amount_per_hour": 15_000}),
    )
    .await;
    rules(&target, &dave.id, json!({"review_amount": 1})).await;
    let alice_token = target.token(alice, None).await;
    let bob_token = target.token(bob, None).await;
    let dave_token = target.token(dave, None).await;

    // 1. A merchant granting itself the reviewer's scope.
    for scope in ["risk:review", "payments:write risk:review"] {
        let case = format!("alice asks for `{scope}`");
        let answer = target.token_request(alice, Some(scope)).await;
        assert_eq!(answer.status, 400, "{case}: {:?}", answer.body);
        assert_eq!(answer.body["error"], "invalid_scope", "{case}");
        tally.refused(case);
    }
    // A record that lists the scope without the operator flag (written behind the API's
    // back) still gets no such token.
    let mut record = target
        .store
        .client(&alice.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    record.client_id = "mallory-shop".parse().unwrap();
    record.scopes.push("risk:review".into());
    target.store.create_client(&record).await.unwrap();
    let mallory = crate::support::Client {
        id: "mallory-shop".into(),
        ..alice.clone()
    };
    let granted = target.token_request(&mallory, None).await;
    // alice's secret hash was copied with the record: the token is issued, without the scope.
    assert_eq!(granted.status, 200, "{:?}", granted.body);
    assert!(
        !granted.body["scope"]
            .as_str()
            .unwrap()
            .contains("risk:review"),
        "{:?}",
        granted.body
    );
    let asked = target.token_request(&mallory, Some("risk:review")).await;
    assert_eq!(asked.body["error"], "invalid_scope", "{:?}", asked.body);
    tally.refused("a non-operator record listing risk:review");

    // 2. Reviewing one's own payment: dave's payments all go to review.
    let held = target
        .post(
            dave,
            "/v1/payments",
            &dave_token,
            &Target::payment(d1, b1, 100, true),
        )
        .await;
    assert_eq!(held.body["status"], "requires_review", "{:?}", held.body);
    let held_id = held.body["id"].as_str().unwrap().to_owned();
    let review_path = format!("/v1/payments/{held_id}/review");
    let before = target.books().await;
    let approve = json!({"decision": "approve"}).to_string();
    for (case, client, token) in [
        ("dave approves his own payment", dave, &dave_token),
        ("bob (the payee) approves it", bob, &bob_token),
    ] {
        let answer = target.post(client, &review_path, token, &approve).await;
        assert_problem(&answer, 403, "insufficient_scope", case);
        let list = target.get(client, "/v1/reviews", token).await;
        assert_problem(&list, 403, "insufficient_scope", case);
        assert_eq!(target.books().await, before, "{case}");
        tally.refused(case.to_owned());
    }

    // 3. Approving twice, in turn and at once.
    let erin_token = target.token(erin, None).await;
    let first = target.post(erin, &review_path, &erin_token, &approve).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(
        first.body["status"], "succeeded",
        "created with confirm: captured"
    );
    let after_first = target.books().await;
    for (case, body) in [
        ("erin approves again", approve.clone()),
        (
            "erin declines what she approved",
            json!({"decision": "decline"}).to_string(),
        ),
    ] {
        let answer = target.post(erin, &review_path, &erin_token, &body).await;
        assert_problem(&answer, 409, "payment_not_in_review", case);
        assert_eq!(target.books().await, after_first, "{case}: captured once");
        tally.refused(case.to_owned());
    }
    let raced = target
        .post(
            dave,
            "/v1/payments",
            &dave_token,
            &Target::payment(d1, b1, 200, false),
        )
        .await;
    let raced_path = format!("/v1/payments/{}/review", raced.body["id"].as_str().unwrap());
    let before_race = target.books().await;
    let decide = |decision: &'static str| {
        let (target, path, token) = (&target, raced_path.clone(), erin_token.clone());
        async move {
            target
                .post(
                    &target.erin,
                    &path,
                    &token,
                    &json!({ "decision": decision }).to_string(),
                )
                .await
        }
    };
    let (approved, declined) = tokio::join!(decide("approve"), decide("decline"));
    let statuses = [approved.status, declined.status];
    assert!(
        statuses.contains(&200) && statuses.contains(&409),
        "exactly one decision wins: {statuses:?}"
    );
    let after_race = target.books().await;
    let d1_available = |books: &crate::support::Books| books.of(d1).map(|(_, a, _)| a);
    if approved.status == 200 {
        assert_eq!(
            d1_available(&after_race),
            d1_available(&before_race),
            "still held"
        );
    } else {
        assert_eq!(
            d1_available(&after_race),
            d1_available(&before_race).map(|a| a + 200),
            "released once"
        );
    }
    tally.refused("approve and decline at once: one wins".to_owned());

    // 4. Evading the velocity limit (5 per hour on a1) with 20 concurrent requests, each with
    // its own Idempotency-Key.
    let before = target.books().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (target, token) = (&target, alice_token.clone());
        tasks.push(async move {
            target
                .post(
                    &target.alice,
                    "/v1/payments",
                    &token,
                    &Target::payment(a1, b1, 100 + i, false),
                )
                .await
        });
    }
    let answers = futures_util::future::join_all(tasks).await;
    let held: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.body["code"] == "velocity_limit_exceeded")
        .collect();
    assert_eq!(
        (held.len(), refused.len()),
        (5, 15),
        "exactly the limit is held"
    );
    let held_total: i64 = held
        .iter()
        .map(|a| a.body["amount"].as_i64().unwrap())
        .sum();
    let after = target.books().await;
    assert_eq!(
        after.of(a1).map(|(_, available, _)| available),
        before
            .of(a1)
            .map(|(_, available, _)| available - held_total)
    );
    tally.refused("20 concurrent payments against 5 per hour: 15 refused".to_owned());
    // A fresh key is a fresh payment, refused; replaying an accepted one is not a new payment.
    let fresh = target
        .post(
            alice,
            "/v1/payments",
            &alice_token,
            &Target::payment(a1, b1, 1, false),
        )
        .await;
    assert_problem(
        &fresh,
        422,
        "velocity_limit_exceeded",
        "a sixth payment, new key",
    );
    tally.refused("a sixth payment under a new Idempotency-Key".to_owned());
    assert_eq!(target.books().await, after, "nothing held by the refusals");

    // 5. Splitting 12,000 (which would go to review) into 4,000s below review_amount: each
    // part passes review_amount, and max_amount_per_hour (15,000) stops the fourth.
    for n in 1..=3 {
        let part = target
            .post(
                alice,
                "/v1/payments",
                &alice_token,
                &Target::payment(a2, b1, 4_000, false),
            )
            .await;
        assert_eq!(part.body["status"], "pending", "part {n}: {:?}", part.body);
    }
    let before = target.books().await;
    let fourth = target
        .post(
            alice,
            "/v1/payments",
            &alice_token,
            &Target::payment(a2, b1, 4_000, false),
        )
        .await;
    assert_problem(
        &fourth,
        422,
        "velocity_limit_exceeded",
        "a fourth part over the hour's amount",
    );
    assert_eq!(target.books().await, before);
    tally.refused("splitting under review_amount: stopped by max_amount_per_hour".to_owned());
    tally
}
