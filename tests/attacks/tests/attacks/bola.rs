//! Broken object-level authorization: bob, with a valid token carrying every scope, goes after
//! alice's accounts, payments and transactions, and after the treasury. Every answer is the
//! 404 a missing object gets, with the same code and title, and a detail that differs only in
//! the id (so existence does not leak); nothing moves and alice's pending payment stays
//! pending. Cursors are bound to the account they were issued for.

use std::sync::Arc;

use paygate_shared::{Account, AccountId, Currency, PaymentId};

use crate::support::{T0, Tally, Target, Watchlist, assert_problem, like_missing};

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("bola");
    let target = Target::start(watch, "premium").await;
    let (alice, bob) = (target.alice.clone(), target.bob.clone());
    let [a1, a2] = [alice.accounts[0], alice.accounts[1]];
    let [b1, b2] = [bob.accounts[0], bob.accounts[1]];
    let alice_token = target.token(&alice, None).await;
    let bob_token = target.token(&bob, None).await;

    // Alice's objects: a captured payment (so A1 has two entries and a cursor) and a pending one.
    let paid = target
        .post(
            &alice,
            "/v1/payments",
            &alice_token,
            &Target::payment(a1, a2, 300, true),
        )
        .await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    let pending = target
        .post(
            &alice,
            "/v1/payments",
            &alice_token,
            &Target::payment(a1, a2, 700, false),
        )
        .await;
    assert_eq!(pending.status, 201, "{:?}", pending.body);
    let pending_id = pending.body["id"].as_str().expect("id").to_owned();
    let page = target
        .get(
            &alice,
            &format!("/v1/accounts/{a1}/transactions?limit=1"),
            &alice_token,
        )
        .await;
    let alice_cursor = page.body["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let before = target.books().await;

    let missing_account = AccountId::generate(T0).to_string();
    let missing_payment = PaymentId::generate(T0).to_string();
    let missing_balance = target
        .get(
            &bob,
            &format!("/v1/accounts/{missing_account}/balance"),
            &bob_token,
        )
        .await;
    let missing_show = target
        .get(&bob, &format!("/v1/payments/{missing_payment}"), &bob_token)
        .await;
    assert_problem(
        &missing_balance,
        404,
        "account_not_found",
        "a missing account",
    );
    assert_problem(&missing_show, 404, "payment_not_found", "a missing payment");
    let treasury = Account::treasury_id(Currency::CNY);

    let a1s = a1.to_string();
    let reads = [
        (
            "bob reads alice's balance",
            format!("/v1/accounts/{a1}/balance"),
            &a1s,
            &missing_balance,
            &missing_account,
        ),
        (
            "bob lists alice's transactions",
            format!("/v1/accounts/{a1}/transactions"),
            &a1s,
            &missing_balance,
            &missing_account,
        ),
        (
            "bob lists alice's transactions with alice's own cursor",
            format!("/v1/accounts/{a1}/transactions?cursor={alice_cursor}"),
            &a1s,
            &missing_balance,
            &missing_account,
        ),
        (
            "bob reads alice's pending payment",
            format!("/v1/payments/{pending_id}"),
            &pending_id,
            &missing_show,
            &missing_payment,
        ),
        (
            "bob reads the CNY treasury's balance",
            format!("/v1/accounts/{treasury}/balance"),
            &treasury.to_string(),
            &missing_balance,
            &missing_account,
        ),
        (
            "bob lists the CNY treasury's transactions",
            format!("/v1/accounts/{treasury}/transactions"),
            &treasury.to_string(),
            &missing_balance,
            &missing_account,
        ),
    ];
    for (case, path, id, missing, missing_id) in reads {
        let answer = target.get(&bob, &path, &bob_token).await;
        like_missing(&answer, missing, id, missing_id, case);
        tally.refused(case);
    }

    let missing_confirm = target
        .post(
            &bob,
            &format!("/v1/payments/{missing_payment}/confirm"),
            &bob_token,
            "",
        )
        .await;
    for action in ["confirm", "cancel"] {
        let case = format!("bob tries to {action} alice's pending payment");
        let answer = target
            .post(
                &bob,
                &format!("/v1/payments/{pending_id}/{action}"),
                &bob_token,
                "",
            )
            .await;
        like_missing(
            &answer,
            &missing_confirm,
            &pending_id,
            &missing_payment,
            &case,
        );
        tally.refused(case);
    }

    let missing_source = target
        .post(
            &bob,
            "/v1/payments",
            &bob_token,
            &Target::payment(missing_account.parse().expect("id"), b1, 100, true),
        )
        .await;
    for (case, body, id) in [
        (
            "bob pays from alice's account into his own (hold)",
            Target::payment(a1, b1, 100, false),
            a1s.clone(),
        ),
        (
            "bob pays from alice's account into his own (one step)",
            Target::payment(a1, b1, 100, true),
            a1s.clone(),
        ),
        (
            "bob pays from alice's account into alice's other account",
            Target::payment(a1, a2, 100, true),
            a1s.clone(),
        ),
        (
            "bob pays from the CNY treasury into his account",
            Target::payment(treasury, b1, 100, true),
            treasury.to_string(),
        ),
    ] {
        let answer = target.post(&bob, "/v1/payments", &bob_token, &body).await;
        like_missing(&answer, &missing_source, &id, &missing_account, case);
        tally.refused(case);
    }
    let answer = target
        .post(
            &bob,
            "/v1/payments",
            &bob_token,
            &Target::payment(b1, treasury, 100, true),
        )
        .await;
    assert_problem(
        &answer,
        404,
        "account_not_found",
        "paying into the treasury",
    );
    tally.refused("bob pays from his account into the CNY treasury");

    // Idempotency keys are per client: bob reusing alice's key and body replays nothing of hers.
    let key = "shared-key-1";
    let alice_first = target
        .post_with(
            &alice,
            "/v1/payments",
            &alice_token,
            &Target::payment(a1, a2, 50, false),
            &[("idempotency-key", key)],
        )
        .await;
    assert_eq!(alice_first.status, 201, "{:?}", alice_first.body);
    let replay = target
        .post_with(
            &bob,
            "/v1/payments",
            &bob_token,
            &Target::payment(a1, a2, 50, false),
            &[("idempotency-key", key)],
        )
        .await;
    assert_problem(&replay, 404, "account_not_found", "replaying alice's key");
    assert!(replay.header("idempotent-replayed").is_none());
    tally.refused("bob replays alice's Idempotency-Key and body");
    let cancel = target
        .post(
            &alice,
            &format!(
                "/v1/payments/{}/cancel",
                alice_first.body["id"].as_str().unwrap_or_default()
            ),
            &alice_token,
            "",
        )
        .await;
    assert_eq!(cancel.status, 200, "{:?}", cancel.body);

    // Cursors: bound to one account, opaque, and checked.
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    // One character of the account id changed (to another valid ULID character).
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&alice_cursor).expect("base64url"))
        .expect("a text cursor");
    let last = a1s.chars().last().expect("an id");
    let other = if last == 'Z' { 'Y' } else { 'Z' };
    let altered_id = format!("{}{other}", &a1s[..a1s.len() - 1]);
    let altered = URL_SAFE_NO_PAD.encode(text.replace(&a1s, &altered_id));
    let truncated = alice_cursor[..alice_cursor.len() - 3].to_owned();
    let reencoded = URL_SAFE_NO_PAD.encode(format!("v1:{b1}:txn_' OR '1'='1"));
    let cursors = [
        (
            "alice's A1 cursor on alice's A2",
            &alice,
            &alice_token,
            a2,
            alice_cursor.clone(),
        ),
        (
            "alice's A1 cursor on bob's own B1",
            &bob,
            &bob_token,
            b1,
            alice_cursor.clone(),
        ),
        (
            "alice's cursor with one character of its account id altered",
            &alice,
            &alice_token,
            a1,
            altered,
        ),
        (
            "alice's cursor truncated",
            &alice,
            &alice_token,
            a1,
            truncated,
        ),
        (
            "a well-formed cursor for bob's account with an injected entry id",
            &bob,
            &bob_token,
            b1,
            reencoded,
        ),
        (
            "a cursor that is not base64url",
            &bob,
            &bob_token,
            b1,
            "%27%20OR%201%3D1".to_owned(),
        ),
        (
            "a cursor of the wrong version",
            &bob,
            &bob_token,
            b2,
            "djI6eDp5".to_owned(),
        ),
    ];
    for (case, client, token, account, cursor) in cursors {
        let answer = target
            .get(
                client,
                &format!("/v1/accounts/{account}/transactions?cursor={cursor}"),
                token,
            )
            .await;
        assert_problem(&answer, 400, "invalid_cursor", case);
        tally.refused(case);
    }

    assert_eq!(target.books().await, before, "no BOLA attempt moved money");
    let still = target
        .get(&alice, &format!("/v1/payments/{pending_id}"), &alice_token)
        .await;
    assert_eq!(still.body["status"], "pending", "{:?}", still.body);
    tally
}
