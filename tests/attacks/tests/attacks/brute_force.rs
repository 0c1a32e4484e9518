//! Client-secret brute force against `POST /v1/oauth/token`: guesses are capped by the API
//! key's usage plan (the template's standard plan: rate 50/s, burst 100), so the attempts that
//! reach the secret check are at most `burst + rate × elapsed`, on the gateway's own clock (a
//! manual one here: no timing in the assertions). Every admitted guess is refused alike, the
//! throttled ones never run, and the right secret is throttled just the same. Without an API
//! key there is no guess at all.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;
use time::Duration;

use crate::support::{Answer, Client, Tally, Target, Watchlist};

/// The standard usage plan's `(rate, burst)`, read from the bundled template.
fn standard_plan() -> (u64, u64) {
    let template = paygate_template::Template::bundled().expect("the bundled template");
    let throttle = template
        .usage_plans()
        .iter()
        .find(|plan| plan.logical_id == "StandardUsagePlan")
        .and_then(|plan| plan.throttle)
        .expect("the standard plan has a throttle");
    let rate = throttle.rate_limit.expect("a rate limit");
    assert!(
        rate.fract() == 0.0 && rate >= 1.0,
        "a whole rate per second: {rate}"
    );
    (rate as u64, throttle.burst_limit.expect("a burst limit"))
}

async fn guess(target: &Target, api_key: Option<&str>, client: &Client, secret: &str) -> Answer {
    let basic = STANDARD.encode(format!("{}:{secret}", client.id));
    let authorization = format!("Basic {basic}");
    let mut headers = vec![
        ("authorization", authorization.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    if let Some(key) = api_key {
        headers.push(("x-api-key", key));
    }
    target
        .send(
            "POST",
            "/v1/oauth/token",
            &headers,
            "grant_type=client_credentials",
        )
        .await
}

/// Sends `attempts` wrong guesses; returns how many were admitted (reached the function).
async fn hammer(target: &Target, client: &Client, attempts: u64, round: &str) -> u64 {
    let mut admitted = 0;
    for n in 0..attempts {
        let answer = guess(
            target,
            Some(&client.api_key),
            client,
            &format!("guess-{round}-{n}"),
        )
        .await;
        match answer.status {
            401 => {
                assert_eq!(answer.body["error"], "invalid_client", "{:?}", answer.body);
                admitted += 1;
            }
            429 => {
                assert_eq!(answer.body, json!({"message": "Too Many Requests"}));
                assert_eq!(
                    answer.header("x-amzn-errortype"),
                    Some("ThrottlingException")
                );
            }
            other => panic!("guess {n} of round {round}: {other} {:?}", answer.body),
        }
    }
    admitted
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("brute_force");
    let (rate, burst) = standard_plan();
    let target = Target::start(watch, "standard").await;
    let alice = target.alice.clone();

    // No API key, no guess: API Gateway refuses before anything runs.
    for n in 0..20 {
        let answer = guess(&target, None, &alice, &format!("keyless-{n}")).await;
        assert_eq!(answer.status, 403, "{:?}", answer.body);
        assert_eq!(answer.body, json!({"message": "Forbidden"}));
    }
    tally.refused("20 guesses without an API key: all 403 before the token endpoint");

    // A frozen clock: exactly the burst is admitted, then everything is throttled.
    let attempts = burst + 50;
    let admitted = hammer(&target, &alice, attempts, "frozen").await;
    assert_eq!(
        admitted, burst,
        "no time passed: the burst and nothing more"
    );
    tally.refused(format!(
        "{attempts} wrong secrets at once: {admitted} admitted (burst {burst}), all invalid_client"
    ));

    let right = guess(&target, Some(&alice.api_key), &alice, &alice.secret).await;
    assert_eq!(right.status, 429, "{:?}", right.body);
    assert!(right.body["access_token"].is_null());
    tally.refused("the right secret while throttled: 429, no token");

    // Time passes: at most `rate` more per second, never more than the burst at once.
    let mut total = admitted;
    for (round, seconds) in [("one second", 1_u64), ("ten seconds", 10)] {
        target.clock.advance(Duration::seconds(seconds as i64));
        let elapsed = seconds;
        let admitted = hammer(&target, &alice, burst + 50, round).await;
        assert!(
            admitted <= (rate * elapsed).min(burst),
            "{round}: {admitted} admitted"
        );
        assert!(admitted > 0, "{round}: the bucket refills");
        total += admitted;
        tally.refused(format!(
            "{} wrong secrets after {round}: {admitted} admitted (≤ min(burst, {rate}/s × {elapsed} s))",
            burst + 50
        ));
    }
    let elapsed = 11;
    assert!(
        total <= burst + rate * elapsed,
        "{total} guesses admitted in {elapsed} s: more than the plan allows"
    );
    tally
}
