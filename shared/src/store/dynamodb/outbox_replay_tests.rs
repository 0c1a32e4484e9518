//! A write that committed but looked failed: the SDK sends a transaction again when its answer
//! is lost (an attempt timeout, a dropped connection), and the second copy meets the first
//! one's items. For a capture or a release, which have no idempotency record, the event the
//! transaction puts is what tells that retry from a lost race: its id is this call's own. The
//! answers are replayed through the SDK's test HTTP client (moto shows this only under load).

use aws_sdk_dynamodb::types::AttributeValue;
use time::macros::datetime;

use super::{
    attrs::Item,
    items::payment_item,
    outbox::event_item,
    tx_replay_tests::{FINE, cancelled, operations_sent, replaying},
};
use crate::{
    AccountId, Event, EventType, Money, NewPayment, Payment, PaymentError, ReleaseReason,
    StoreError, money::Currency, store::PaymentStore,
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

fn pending() -> Payment {
    let now = datetime!(2026-11-22 10:00:00 UTC);
    let new = NewPayment {
        client_id: "alice".parse().unwrap(),
        payee: "bob".parse().unwrap(),
        source: AccountId::generate(now),
        destination: AccountId::generate(now),
        amount: Money::new(100, Currency::CNY),
        description: None,
    };
    Payment::pending(new, now, time::Duration::minutes(15)).unwrap()
}

/// Cancels `p` against one replayed answer: the payment's condition failed on `canceled` (as
/// stored), and the event's put failed on `event` if given.
async fn cancel_meeting(p: &Payment, event: Option<&Event>) -> Result<Payment, StoreError> {
    let at = p.created_at + time::Duration::minutes(1);
    let canceled = p.release(ReleaseReason::Canceled, at).unwrap();
    let old_payment = json(&payment_item(&canceled));
    let payment_failed = (
        "ConditionalCheckFailed",
        Some("The conditional request failed"),
        Some(old_payment.as_str()),
    );
    let old_event = event.map(|e| json(&event_item(e)));
    let event_reason = match &old_event {
        Some(old) => (
            "ConditionalCheckFailed",
            Some("The conditional request failed"),
            Some(old.as_str()),
        ),
        None => FINE,
    };
    // Writes: payment, source, the `payment.canceled` event.
    let (store, http) = replaying(vec![cancelled(&[payment_failed, FINE, event_reason])]);
    let result = store.release(p, ReleaseReason::Canceled, at).await;
    assert_eq!(operations_sent(&http), ["TransactWriteItems"]);
    result
}

#[tokio::test]
async fn a_release_that_meets_its_own_event_was_made() {
    let p = pending();
    let at = p.created_at + time::Duration::minutes(1);
    let canceled = p.release(ReleaseReason::Canceled, at).unwrap();
    // The first copy of this very transaction put its event; the second meets it.
    let ours = Event::for_payment(EventType::PaymentCanceled, &canceled, at).remove(0);
    assert_eq!(cancel_meeting(&p, Some(&ours)).await, Ok(canceled.clone()));
    // Without its event, a payment no longer pending was settled by someone else.
    assert_eq!(
        cancel_meeting(&p, None).await,
        Err(PaymentError::NotPending(Box::new(canceled)).into())
    );
}
