//! The round-trip interceptor against replayed DynamoDB answers: each HTTP attempt counts in
//! the request (the [`count_round_trips`] scope) that made it, retries included, and in no
//! other, however many requests share the store.

use time::macros::datetime;

use super::tx_replay_tests::{Answer, operations_sent, replaying};
use crate::{PaymentId, metrics::count_round_trips, store::PaymentStore};

fn throttled() -> Answer {
    Answer {
        status: 400,
        body: r#"{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.to_owned(),
    }
}

/// A `GetItem` that found no item.
fn nothing() -> Answer {
    Answer {
        status: 200,
        body: "{}".to_owned(),
    }
}

fn payment_id() -> PaymentId {
    PaymentId::generate(datetime!(2026-11-22 10:00 UTC))
}

#[tokio::test]
async fn every_attempt_counts_in_the_request_that_made_it() {
    let (store, http) = replaying(vec![throttled(), nothing(), nothing()]);
    let (read, counted) = count_round_trips(store.payment(payment_id())).await;
    assert!(read.unwrap().is_none());
    assert_eq!(counted, 2, "the throttled attempt and its retry");
    // Outside any request (a start-up read): counted by the store only.
    assert!(store.payment(payment_id()).await.unwrap().is_none());
    assert_eq!(store.round_trips(), 3);
    assert_eq!(operations_sent(&http), ["GetItem", "GetItem", "GetItem"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sharing_a_store_count_only_their_own_calls() {
    let (store, _) = replaying((0..6).map(|_| nothing()).collect());
    let request = |reads: usize| {
        let store = store.clone();
        async move {
            let ((), counted) = count_round_trips(async {
                for _ in 0..reads {
                    store.payment(payment_id()).await.unwrap();
                }
            })
            .await;
            counted
        }
    };
    let (one, two) = tokio::join!(tokio::spawn(request(1)), tokio::spawn(request(2)));
    let three = request(3).await;
    assert_eq!((one.unwrap(), two.unwrap(), three), (1, 2, 3));
    assert_eq!(store.round_trips(), 6);
}
