//! A refund that loses a race on its payment: the `BatchGetItem` saw the payment with room for
//! the refund, but by the time of the write another refund took it. Only the payment's own
//! condition (`amount_refunded <= captured - r`) can catch that when the two reads straddle the
//! other refund (a `BatchGetItem` is not a snapshot), which moto, serving one request at a
//! time, never shows: the race is replayed through the SDK's test HTTP client.

use aws_sdk_dynamodb::types::AttributeValue;
use time::macros::datetime;

use super::{
    attrs::Item,
    items::{account_item, payment_item},
    tx_replay_tests::{Answer, FINE, cancelled, operations_sent, replaying},
};
use crate::{
    Account, AccountId, AccountLimits, ClientId, Fingerprint, IdempotencyKey, IdempotencyRecord,
    Money, NewPayment, Payment, PaymentError, Refund, StoreError, money::Currency,
    store::PaymentStore,
};

/// An item in DynamoDB's JSON (strings and numbers are all the items here hold).
fn json(item: &Item) -> String {
    let attributes: Vec<String> = item
        .iter()
        .map(|(name, value)| match value {
            AttributeValue::S(s) => format!(r#""{name}":{{"S":{}}}"#, serde_json::json!(s)),
            AttributeValue::N(n) => format!(r#""{name}":{{"N":"{n}"}}"#),
            other => panic!("{name}: {other:?}"),
        })
        .collect();
    format!("{{{}}}", attributes.join(","))
}

#[tokio::test]
async fn a_refund_that_lost_its_payment_to_another_refund_names_what_is_left() {
    let now = datetime!(2026-11-22 10:00:00 UTC);
    let (alice, bob): (ClientId, ClientId) = ("alice".parse().unwrap(), "bob".parse().unwrap());
    let cny = |n| Money::new(n, Currency::CNY);
    let limits = AccountLimits {
        per_payment: 10_000,
        daily_outflow: 10_000,
    };
    let mut payer = Account::open(
        AccountId::generate(now),
        alice.clone(),
        Currency::CNY,
        limits,
        now,
    );
    let mut payee = Account::open(
        AccountId::generate(now),
        bob.clone(),
        Currency::CNY,
        limits,
        now,
    );
    (payer.balance, payer.available) = (700, 700);
    (payee.balance, payee.available) = (300, 300);
    let new = NewPayment {
        client_id: alice,
        payee: bob.clone(),
        source: payer.id,
        destination: payee.id,
        amount: cny(300),
        description: None,
    };
    let pending = Payment::pending(new, now, time::Duration::minutes(15)).unwrap();
    let captured = pending.capture(cny(300), now).unwrap();
    // What the other refund left behind: 250 of the 300 refunded.
    let taken = captured.refund(cny(250), now).unwrap();

    let read = Answer {
        status: 200,
        body: format!(
            r#"{{"Responses":{{"replay-accounts":[{},{}],"replay-transactions":[{}]}},"UnprocessedKeys":{{}}}}"#,
            json(&account_item(&payer)),
            json(&account_item(&payee)),
            json(&payment_item(&captured)),
        ),
    };
    let old_payment = json(&payment_item(&taken));
    let lost = (
        "ConditionalCheckFailed",
        Some("The conditional request failed"),
        Some(old_payment.as_str()),
    );
    // Writes: payment, payee, payer, refund, debit, credit, idempotency record, and the
    // `refund.succeeded` events to the payee and the payer.
    let write = cancelled(&[lost, FINE, FINE, FINE, FINE, FINE, FINE, FINE, FINE]);
    let (store, http) = replaying(vec![read, write]);

    let refund = Refund::new(captured.id, cny(100), None, now);
    let record = IdempotencyRecord {
        key: IdempotencyKey::new(bob, "r-1").unwrap(),
        fingerprint: Fingerprint::of(&[b"refund 100"]),
        payment_id: captured.id,
        response_status: 201,
        response_body: "{}".into(),
        created_at: now,
        expires_at: now + crate::idempotency::RETENTION,
    };
    let result = store.create_refund(&captured, &refund, &record, now).await;
    assert_eq!(
        result,
        Err(StoreError::Payment(PaymentError::RefundExceedsPayment {
            id: captured.id,
            left: cny(50)
        }))
    );
    assert_eq!(
        operations_sent(&http),
        ["BatchGetItem", "TransactWriteItems"],
        "explained, not retried"
    );
    // The write carried the payment's condition, bounded by what the read left: 300 - 100.
    let requests: Vec<_> = http.actual_requests().collect();
    let body = std::str::from_utf8(requests[1].body().bytes().expect("a body")).unwrap();
    assert!(
        body.contains("#amount_refunded <= :most") && body.contains(r#"":most":{"N":"200"}"#),
        "{body}"
    );
}
