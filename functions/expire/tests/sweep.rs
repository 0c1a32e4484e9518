//! The sweep against the in-memory store.

use std::sync::Arc;

use paygate_expire::{ExpireDeps, sweep};
use paygate_shared::{
    Account, AccountId, AccountLimits, Clock, Fingerprint, IdempotencyKey, IdempotencyRecord,
    ManualClock, Money, NewPayment, Payment, PaymentStatus, ReleaseReason,
    idempotency::RETENTION,
    metrics::{DYNAMODB_ROUND_TRIPS, Metrics, PAYMENT_EVENTS},
    money::Currency,
    store::{AccountStore, LedgerStore, PaymentStore, memory::MemoryStore},
};
use time::{Duration, macros::datetime};

#[tokio::test]
async fn overdue_holds_are_released_exactly_once() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-22 10:00 UTC)));
    let now = clock.now();
    let limits = AccountLimits {
        per_payment: 1_000_000,
        daily_outflow: 10_000_000,
    };
    let alice = Account::open(
        AccountId::generate(now),
        "alice".parse().unwrap(),
        Currency::CNY,
        limits,
        now,
    );
    let bob = Account::open(
        AccountId::generate(now),
        "bob".parse().unwrap(),
        Currency::CNY,
        limits,
        now,
    );
    store.create_account(&alice).await.unwrap();
    store.create_account(&bob).await.unwrap();
    store
        .fund(alice.id, Money::new(100_000, Currency::CNY), now)
        .await
        .unwrap();
    let mut payments = Vec::new();
    for i in 0..150 {
        let new = NewPayment {
            client_id: alice.owner.clone(),
            payee: bob.owner.clone(),
            source: alice.id,
            destination: bob.id,
            amount: Money::new(100, Currency::CNY),
            description: None,
        };
        let ttl = if i < 120 {
            Duration::minutes(15)
        } else {
            Duration::hours(2)
        };
        let payment = Payment::pending(new, now, ttl).unwrap();
        let record = IdempotencyRecord {
            key: IdempotencyKey::new(alice.owner.clone(), &format!("k{i}")).unwrap(),
            fingerprint: Fingerprint::of(&[b"x"]),
            payment_id: payment.id,
            response_status: 201,
            response_body: String::new(),
            created_at: now,
            expires_at: now + RETENTION,
        };
        store.create_payment(&payment, &record, now).await.unwrap();
        payments.push(payment);
    }
    // One of the overdue ones is canceled by its owner first.
    store
        .release(&payments[0], ReleaseReason::Canceled, now)
        .await
        .unwrap();
    clock.advance(Duration::minutes(16));
    let (metrics, captured) = Metrics::capture("paygate/test");
    let deps = ExpireDeps {
        store: store.clone(),
        clock: clock.clone(),
        metrics,
    };
    let done = sweep(&deps).await.unwrap();
    assert_eq!(
        (done.expired, done.already_settled, done.more),
        (119, 0, false)
    );
    let alice_now = store.account(alice.id).await.unwrap().unwrap();
    assert_eq!(
        (alice_now.balance, alice_now.available),
        (100_000, 100_000 - 30 * 100)
    );
    let statuses: Vec<PaymentStatus> = {
        let mut v = Vec::new();
        for p in &payments {
            v.push(store.payment(p.id).await.unwrap().unwrap().status());
        }
        v
    };
    assert_eq!(statuses[0], PaymentStatus::Canceled);
    assert!(
        statuses[1..120]
            .iter()
            .all(|s| *s == PaymentStatus::Expired)
    );
    assert!(statuses[120..].iter().all(|s| *s == PaymentStatus::Pending));
    let expired = captured.with_metric(PAYMENT_EVENTS);
    assert_eq!(expired.len(), 119, "one per hold released");
    assert!(expired.iter().all(|record| record["Event"] == "expired"
        && record["Currency"] == "CNY"
        && record["PaymentAmount"] == 100));
    assert_eq!(
        sweep(&deps).await.unwrap().expired,
        0,
        "a second sweep finds nothing"
    );
    assert_eq!(
        captured.with_metric(PAYMENT_EVENTS).len(),
        119,
        "and counts nothing"
    );
    let sweeps = captured.with_metric(DYNAMODB_ROUND_TRIPS);
    assert_eq!(sweeps.len(), 2, "one per sweep");
    assert_eq!(
        (&sweeps[0]["Function"], &sweeps[0]["DynamoDbRoundTrips"]),
        (&serde_json::json!("expire"), &serde_json::json!(0)),
        "the memory store makes no round trip"
    );
}
