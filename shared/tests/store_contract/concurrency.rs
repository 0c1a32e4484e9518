//! Concurrency: many tasks on hot accounts, then a full audit.

#[allow(unused_imports)]
use super::*;

// 10. Concurrency.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Capture,
    Cancel,
    /// Capture and cancel at the same time: exactly one may win.
    Race,
    LeavePending,
    /// Capture after the deadline: expires the payment.
    LateCapture,
    OneStep,
    /// The same request sent twice at once: at most one may create.
    Duplicate,
}

const ACTIONS: [Action; 7] = [
    Action::Capture,
    Action::Cancel,
    Action::Race,
    Action::LeavePending,
    Action::LateCapture,
    Action::OneStep,
    Action::Duplicate,
];

#[derive(Debug, Clone)]
struct TaskSpec {
    index: usize,
    client: ClientId,
    source: AccountId,
    destination: AccountId,
    amount: i64,
    /// The source's per-payment limit, to tell an expected refusal from a wrong one.
    per_payment: i64,
    action: Action,
    now: OffsetDateTime,
}

#[derive(Debug, Default)]
struct Tally {
    created: Vec<PaymentId>,
    conflicts: u64,
    refused: u64,
    captured: u64,
    released: u64,
    races_decided: u64,
    replays: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.created.extend(other.created);
        self.conflicts += other.conflicts;
        self.refused += other.refused;
        self.captured += other.captured;
        self.released += other.released;
        self.races_decided += other.races_decided;
        self.replays += other.replays;
    }
}

/// Checks a refused creation is one the request could legitimately meet.
fn expected_refusal(spec: &TaskSpec, error: &StoreError) -> bool {
    let amount = spec.amount;
    match *error {
        StoreError::Account(AccountError::InsufficientFunds {
            account,
            available,
            requested,
        }) => account == spec.source && requested == amount && available < amount,
        StoreError::Account(AccountError::DailyLimitExceeded {
            account,
            remaining,
            requested,
        }) => account == spec.source && requested == amount && remaining < amount,
        StoreError::Account(AccountError::PerPaymentLimitExceeded {
            account,
            limit,
            requested,
        }) => {
            account == spec.source
                && requested == amount
                && limit == spec.per_payment
                && amount > limit
        }
        _ => false,
    }
}

/// Runs two futures at the same instant on two OS threads: each waits for the other at a
/// blocking rendezvous (inside `block_in_place`, which hands the worker's other tasks to another
/// thread), then both go. Plain `tokio::spawn` would often run them one after the other on one
/// worker, and a race that never overlaps proves nothing. The wait gives up after a few seconds,
/// so that a runtime shutting down after a failure (which drops the partner unstarted) cannot
/// hang on it.
async fn simultaneously<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future + Send + 'static,
    A::Output: Send + 'static,
    B: Future + Send + 'static,
    B::Output: Send + 'static,
{
    let rendezvous = Arc::new(Rendezvous::default());
    let (ra, rb) = (Arc::clone(&rendezvous), rendezvous);
    let a = tokio::spawn(async move {
        tokio::task::block_in_place(|| ra.arrive());
        a.await
    });
    let b = tokio::spawn(async move {
        tokio::task::block_in_place(|| rb.arrive());
        b.await
    });
    (
        a.await.expect("first racer"),
        b.await.expect("second racer"),
    )
}

/// A two-party barrier with a deadline.
#[derive(Default)]
struct Rendezvous {
    arrived: std::sync::Mutex<u8>,
    all_here: std::sync::Condvar,
}

impl Rendezvous {
    fn arrive(&self) {
        let mut arrived = self.arrived.lock().unwrap_or_else(|e| e.into_inner());
        *arrived += 1;
        self.all_here.notify_all();
        let deadline = std::time::Duration::from_secs(5);
        let _ = self
            .all_here
            .wait_timeout_while(arrived, deadline, |arrived| *arrived < 2)
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// Counts a creation that did not happen: a conflict, or a refusal the request could meet.
fn note_failure(spec: &TaskSpec, tally: &mut Tally, error: &StoreError) {
    if *error == StoreError::Conflict {
        tally.conflicts += 1;
    } else {
        assert!(
            expected_refusal(spec, error),
            "task {}: unexpected refusal {error:?}",
            spec.index
        );
        tally.refused += 1;
    }
}

async fn run_task(store: Arc<dyn Store>, spec: TaskSpec) -> Tally {
    use PaymentOutcome::{Created, Replayed};
    let mut tally = Tally::default();
    let s = store.as_ref();
    let key = format!("task-{}", spec.index);
    let request = format!(
        "{} {} -> {} {}",
        spec.index, spec.source, spec.destination, spec.amount
    );
    let build = |at: OffsetDateTime| {
        let p = transfer(
            &spec.client,
            spec.source,
            spec.destination,
            cny(spec.amount),
            at,
        );
        if spec.action == Action::OneStep {
            one_step(p)
        } else {
            p
        }
    };
    let now = spec.now;

    let created: Option<Payment> = if spec.action == Action::Duplicate {
        // Two identical requests (each with its own payment id) race under one key.
        let requests = [build(now), build(now)].map(|p| {
            let rec = record(&p, &key, &request, now);
            (p, rec)
        });
        let [(p1, r1), (p2, r2)] = requests.clone();
        let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
        let (first, second) = simultaneously(
            async move { s1.create_payment(&p1, &r1, now).await },
            async move { s2.create_payment(&p2, &r2, now).await },
        )
        .await;
        let results = [first, second];
        let mut winner = None;
        for (i, result) in results.iter().enumerate() {
            let (mine, other) = (&requests[i], &requests[1 - i]);
            match result {
                Ok(Created(p)) => {
                    assert_eq!(p, &mine.0, "task {}", spec.index);
                    assert!(
                        winner.is_none(),
                        "task {}: one key created two payments",
                        spec.index
                    );
                    winner = Some(p.clone());
                }
                Ok(Replayed(r)) => {
                    assert!(
                        matches!(results[1 - i], Ok(Created(_))),
                        "task {}: replayed a record nobody created: {results:?}",
                        spec.index
                    );
                    assert_eq!(
                        r, &other.1,
                        "task {}: the replay is the winner's record",
                        spec.index
                    );
                    tally.replays += 1;
                }
                Err(e) => note_failure(&spec, &mut tally, e),
            }
        }
        winner
    } else {
        let payment = build(now);
        match s
            .create_payment(&payment, &record(&payment, &key, &request, now), now)
            .await
        {
            Ok(Created(p)) => {
                assert_eq!(p, payment, "task {}", spec.index);
                Some(p)
            }
            Ok(Replayed(r)) => panic!("task {}: unexpected replay {r:?}", spec.index),
            Err(e) => {
                note_failure(&spec, &mut tally, &e);
                None
            }
        }
    };
    let Some(created) = created else { return tally };
    tally.created.push(created.id);

    let at = now + Duration::seconds(1);
    match spec.action {
        Action::OneStep => {
            tally.captured += 1;
            // A retry, concurrent with everyone else's traffic, replays.
            let retry = build(at);
            match s
                .create_payment(&retry, &record(&retry, &key, &request, at), at)
                .await
            {
                Ok(Replayed(r)) => {
                    assert_eq!(r, record(&created, &key, &request, now));
                    tally.replays += 1;
                }
                Err(StoreError::Conflict) => tally.conflicts += 1,
                other => panic!("task {}: a retry gave {other:?}", spec.index),
            }
        }
        Action::Capture | Action::Duplicate => {
            match s.capture(&created, created.amount, at).await {
                Ok(p) => {
                    assert_eq!(p, created.capture(created.amount, at).unwrap());
                    tally.captured += 1;
                }
                Err(StoreError::Conflict) => tally.conflicts += 1,
                Err(e) => panic!("task {}: capture failed: {e:?}", spec.index),
            }
        }
        Action::Cancel => match s.release(&created, ReleaseReason::Canceled, at).await {
            Ok(p) => {
                assert_eq!(p, created.release(ReleaseReason::Canceled, at).unwrap());
                tally.released += 1;
            }
            Err(StoreError::Conflict) => tally.conflicts += 1,
            Err(e) => panic!("task {}: cancel failed: {e:?}", spec.index),
        },
        Action::LateCapture => match s
            .capture(&created, created.amount, created.expires_at)
            .await
        {
            Err(StoreError::Payment(PaymentError::Expired(id))) => {
                assert_eq!(id, created.id);
                tally.released += 1;
            }
            Err(StoreError::Conflict) => tally.conflicts += 1,
            other => panic!("task {}: a late capture gave {other:?}", spec.index),
        },
        Action::LeavePending => {}
        Action::Race => {
            let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
            let (p1, p2) = (created.clone(), created.clone());
            let (captured, canceled) = simultaneously(
                async move { s1.capture(&p1, p1.amount, at).await },
                async move { s2.release(&p2, ReleaseReason::Canceled, at).await },
            )
            .await;
            let as_captured = created.capture(created.amount, at).unwrap();
            let as_canceled = created.release(ReleaseReason::Canceled, at).unwrap();
            let not_pending = |p: &Payment| {
                Err(StoreError::Payment(PaymentError::NotPending(Box::new(
                    p.clone(),
                ))))
            };
            let conflict = Err(StoreError::Conflict);
            match (&captured, &canceled) {
                (Ok(p), loser) => {
                    assert_eq!(p, &as_captured);
                    assert!(
                        *loser == not_pending(&as_captured) || *loser == conflict,
                        "task {}: capture won, the cancel gave {loser:?}",
                        spec.index
                    );
                    tally.captured += 1;
                    tally.races_decided += 1;
                }
                (loser, Ok(p)) => {
                    assert_eq!(p, &as_canceled);
                    assert!(
                        *loser == not_pending(&as_canceled) || *loser == conflict,
                        "task {}: cancel won, the capture gave {loser:?}",
                        spec.index
                    );
                    tally.released += 1;
                    tally.races_decided += 1;
                }
                (Err(StoreError::Conflict), Err(StoreError::Conflict)) => {
                    // Neither wrote: the payment must still be pending, hold in place.
                    assert_eq!(s.payment(created.id).await, Ok(Some(created.clone())));
                }
                _ => panic!(
                    "task {}: capture vs cancel, neither won: {captured:?} / {canceled:?}",
                    spec.index
                ),
            }
            tally.conflicts += [&captured, &canceled]
                .iter()
                .filter(|r| matches!(r, Err(StoreError::Conflict)))
                .count() as u64;
        }
    }
    tally
}

pub(crate) async fn concurrent_payments_keep_the_books_balanced(fx: Fixture) {
    let s = fx.store();
    let tasks = match fx.backend() {
        Backend::Memory => 200,
        Backend::DynamoDb => 40,
    };
    let seed = std::env::var("PAYGATE_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("concurrency case: {tasks} tasks, PAYGATE_TEST_SEED={seed}");
    if fx.backend() == Backend::DynamoDb {
        eprintln!(
            "concurrency case: on moto, the server must run one request at a time \
             (see tests/support/moto.rs); a threaded moto loses and duplicates transactions"
        );
    }
    let mut rng = StdRng::seed_from_u64(seed);

    let daily_limited = AccountLimits {
        per_payment: 2_000,
        daily_outflow: 3_000,
    };
    let generous = AccountLimits {
        per_payment: 100_000,
        daily_outflow: 1_000_000,
    };
    let owners = [client("alice"), client("bob"), client("carol")];
    let limits = [generous, generous, daily_limited];
    let mut ids = Vec::new();
    for (owner, limits) in owners.iter().zip(limits) {
        ids.push(open_funded(s, owner, limits, 10_000, T0).await);
    }
    let mut known: HashSet<PaymentId> = HashSet::new();
    for id in &ids {
        for entry in all_entries(s, *id).await {
            known.insert(entry.payment_id);
        }
    }
    assert_eq!(known.len(), 3, "three fundings");

    let mut handles = Vec::new();
    for index in 0..tasks {
        let from = rng.random_range(0..3);
        let to = (from + rng.random_range(1..3)) % 3;
        let spec = TaskSpec {
            index,
            client: owners[from].clone(),
            source: ids[from],
            destination: ids[to],
            amount: rng.random_range(1..=2_500),
            per_payment: limits[from].per_payment,
            action: ACTIONS[index % ACTIONS.len()],
            now: T0 + minutes(1) + Duration::milliseconds(index as i64),
        };
        handles.push(tokio::spawn(run_task(fx.shared(), spec)));
    }
    let mut tally = Tally::default();
    for handle in handles {
        tally.add(handle.await.expect("a task panicked"));
    }
    eprintln!(
        "concurrency case: {} created, {} refused, {} captured, {} released, {} races decided, \
         {} replays, {} conflicts",
        tally.created.len(),
        tally.refused,
        tally.captured,
        tally.released,
        tally.races_decided,
        tally.replays,
        tally.conflicts
    );
    if fx.backend() == Backend::Memory {
        assert_eq!(tally.conflicts, 0, "the memory store never conflicts");
    }
    assert!(
        tally.captured > 0 && tally.released > 0,
        "some payments must complete: {tally:?}"
    );
    assert!(
        tally.races_decided > 0,
        "some races must be decided: {tally:?}"
    );

    // Audit. Every payment, as stored.
    for id in &tally.created {
        assert!(known.insert(*id), "payment {id} reported twice");
    }
    let mut payments: HashMap<PaymentId, Payment> = HashMap::new();
    for id in &known {
        let payment = s
            .payment(*id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} is missing"));
        payments.insert(*id, payment);
    }
    if let Some(memory) = fx.memory_store() {
        let stored: HashSet<PaymentId> = memory.all_payments().iter().map(|p| p.id).collect();
        assert_eq!(
            stored, known,
            "the store holds exactly the payments the tasks created"
        );
    }

    // Every account's ledger.
    let mut by_payment: HashMap<PaymentId, Vec<LedgerEntry>> = HashMap::new();
    let mut total = 0_i64;
    for id in ids.iter().copied().chain([treasury()]) {
        let acc = account(s, id).await;
        let entries = all_entries(s, id).await;
        assert_eq!(
            assert_balance_chain(&entries),
            acc.balance,
            "{id}: balance = sum of entries"
        );
        assert_eq!(
            acc.ledger_head,
            entries.first().map(|e| e.id),
            "{id}: ledger head"
        );
        total += acc.balance;
        for entry in entries {
            by_payment.entry(entry.payment_id).or_default().push(entry);
        }
        if id == treasury() {
            assert_eq!((acc.balance, acc.available), (-30_000, -30_000));
            continue;
        }
        let pending: i64 = payments
            .values()
            .filter(|p| p.source == id && p.status() == PaymentStatus::Pending)
            .map(|p| p.amount.amount)
            .sum();
        let spent_today: i64 = payments
            .values()
            .filter(|p| p.source == id && p.kind == PaymentKind::Transfer)
            .filter(|p| {
                matches!(
                    p.status(),
                    PaymentStatus::Pending | PaymentStatus::Succeeded
                )
            })
            .map(|p| p.amount.amount)
            .sum();
        assert!(
            0 <= acc.available && acc.available <= acc.balance,
            "{id}: {acc:?}"
        );
        assert_eq!(
            acc.available,
            acc.balance - pending,
            "{id}: available = balance - holds"
        );
        assert!(
            spent_today <= acc.limits.daily_outflow,
            "{id} went over its daily limit"
        );
        assert_eq!(
            acc.outflow_remaining(T0.date()),
            acc.limits.daily_outflow - spent_today,
            "{id}: daily budget left"
        );
    }
    assert_eq!(total, 0, "all balances, treasury included, sum to zero");

    // Exactly one debit and one credit per succeeded payment, none for any other.
    for (id, payment) in &payments {
        let entries = by_payment.remove(id).unwrap_or_default();
        if payment.status() != PaymentStatus::Succeeded {
            assert!(
                entries.is_empty(),
                "{id} is {:?} but has entries",
                payment.status()
            );
            continue;
        }
        let debits: Vec<_> = entries
            .iter()
            .filter(|e| e.direction == Direction::Debit)
            .collect();
        let credits: Vec<_> = entries
            .iter()
            .filter(|e| e.direction == Direction::Credit)
            .collect();
        assert_eq!((debits.len(), credits.len()), (1, 1), "{id}: {entries:?}");
        let (debit, credit) = (debits[0], credits[0]);
        assert_eq!(
            (debit.account_id, debit.counterparty),
            (payment.source, payment.destination)
        );
        assert_eq!(
            (credit.account_id, credit.counterparty),
            (payment.destination, payment.source)
        );
        assert_eq!(
            (debit.amount, credit.amount),
            (payment.amount, payment.amount)
        );
    }
    assert!(
        by_payment.is_empty(),
        "entries of unknown payments: {by_payment:?}"
    );
}
