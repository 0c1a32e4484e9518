//! Batched credit posting through `paygate-local` as the command line starts it, on the
//! embedded store (its posting queue) and on moto (the transactions table's stream, polled as
//! the template's `post` mapping reads it, from the poster's own checkpoint): payments into a
//! batched account are answered before they post, show as `incoming` and not as spendable, and
//! are posted by the poster, each once, in order, with exact balances.

mod common;

use std::time::{Duration, Instant};

use paygate_shared::PostingMode;

/// Makes the demo seed's second account batched, pays into it, and waits for the poster.
async fn paid_into_a_batched_account_posts(
    running: &paygate_local::cli::Running,
    api: &common::Api,
) {
    let store = &running.gateway.backend().store;
    let merchant = api.seeded.accounts[1];
    let before = store
        .balance(merchant)
        .await
        .expect("balance")
        .expect("exists");
    store
        .set_posting(
            merchant,
            PostingMode::Batched,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("set_posting");
    let token = api.token().await;
    let shown = api
        .get(&format!("/v1/accounts/{merchant}/balance"), &token)
        .await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(shown.body["posting"], "batched");

    let started = Instant::now();
    for amount in [100, 200, 300] {
        let paid = api
            .post("/v1/payments", &token, Some(api.payment(amount, true)))
            .await;
        assert_eq!(paid.status, 201, "{:?}", paid.body);
        assert_eq!(paid.body["status"], "succeeded");
    }
    let expected = before.account.balance + 600;
    let posted = loop {
        let shown = api
            .get(&format!("/v1/accounts/{merchant}/balance"), &token)
            .await;
        assert_eq!(shown.status, 200, "{:?}", shown.body);
        let (balance, incoming) = (
            shown.body["balance"].as_i64().unwrap(),
            shown.body["incoming"].as_i64().unwrap(),
        );
        // Every payment counted once, posted or incoming, at every read.
        assert_eq!(balance + incoming, expected, "{:?}", shown.body);
        if incoming == 0 {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the poster did not post: {:?}",
            shown.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("[posting] three payments answered and posted in {posted:?}");
    let entries = api
        .get(
            &format!("/v1/accounts/{merchant}/transactions?limit=10"),
            &token,
        )
        .await;
    assert_eq!(entries.status, 200, "{:?}", entries.body);
    let credits: Vec<(i64, i64)> = entries.body["data"]
        .as_array()
        .expect("entries")
        .iter()
        .take(3)
        .map(|e| {
            (
                e["amount"].as_i64().unwrap(),
                e["balance_after"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        credits,
        [
            (300, expected),
            (200, expected - 300),
            (100, expected - 500)
        ],
        "posted in payment order, with exact balances"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_posts_batched_credits() {
    let (running, api) = common::start_cli(&["--listen", "127.0.0.1:0"]).await;
    paid_into_a_batched_account_posts(&running, &api).await;
    running.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_posts_batched_credits_from_the_stream() {
    let names = common::unique("pst");
    let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
    args.extend(common::on_moto(&names));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (running, api) = common::start_cli(&args).await;
    paid_into_a_batched_account_posts(&running, &api).await;
    running.stop().await.expect("stops");
}
