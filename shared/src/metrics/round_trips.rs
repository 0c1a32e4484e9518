//! The DynamoDB round trips of one request (or one invocation of a background function),
//! counted where they happen: the DynamoDB client's interceptor
//! ([`crate::store::dynamodb::RoundTripCounter`]) calls [`add_round_trip`] for every HTTP
//! attempt, retries included, and the count goes to the innermost [`count_round_trips`] whose
//! future is being polled. The count is task-local, not global: the local gateway runs many
//! handlers at once in one process, and each request counts only its own calls. Work spawned
//! onto another task is not counted (nothing in a request spawns its DynamoDB calls).

use std::cell::Cell;

tokio::task_local! {
    static ROUND_TRIPS: Cell<u64>;
}

/// Runs `work` and answers its output with the DynamoDB round trips made while it ran.
pub async fn count_round_trips<F: Future>(work: F) -> (F::Output, u64) {
    ROUND_TRIPS
        .scope(Cell::new(0), async move {
            let output = work.await;
            (output, ROUND_TRIPS.with(Cell::get))
        })
        .await
}

/// Counts one round trip for the [`count_round_trips`] in progress; outside one, nothing.
pub fn add_round_trip() {
    // Outside any scope (a test, a start-up read), there is nothing to count for.
    let _ = ROUND_TRIPS.try_with(|count| count.set(count.get().saturating_add(1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_calls_inside_the_scope_count() {
        add_round_trip();
        let ((), inside) = count_round_trips(async {
            add_round_trip();
            tokio::task::yield_now().await;
            add_round_trip();
        })
        .await;
        assert_eq!(inside, 2, "the call before the scope is not counted");
        let ((), none) = count_round_trips(async {}).await;
        assert_eq!(none, 0, "each scope starts at 0");
    }

    #[tokio::test]
    async fn a_nested_scope_counts_apart_from_its_parent() {
        let (inner, outer) = count_round_trips(async {
            add_round_trip();
            let ((), inner) = count_round_trips(async { add_round_trip() }).await;
            add_round_trip();
            inner
        })
        .await;
        assert_eq!((inner, outer), (1, 2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_count_only_their_own_calls() {
        let request = |calls: u64| {
            count_round_trips(async move {
                for _ in 0..calls {
                    add_round_trip();
                    tokio::task::yield_now().await;
                }
            })
        };
        let tasks: Vec<_> = (1..=8).map(|calls| tokio::spawn(request(calls))).collect();
        let mut counts = Vec::new();
        for task in tasks {
            counts.push(task.await.unwrap().1);
        }
        assert_eq!(counts, (1..=8).collect::<Vec<u64>>());
        // Interleaved on one task too: each future sees its own count while it is polled.
        let (a, b) = tokio::join!(request(3), request(5));
        assert_eq!((a.1, b.1), (3, 5));
    }

    #[tokio::test]
    async fn a_task_spawned_inside_the_scope_is_not_counted() {
        let ((), counted) = count_round_trips(async {
            add_round_trip();
            tokio::spawn(async {
                add_round_trip();
                add_round_trip();
            })
            .await
            .unwrap();
        })
        .await;
        assert_eq!(counted, 1);
    }
}
