//! Event, resend and delivery items read back as what they were made from; the stream decoder
//! turns event and resend images into outbox records and ignores every other item.

use super::*;
use crate::store::dynamodb::{
    attrs::attr_string,
    events::{delivery_from, delivery_item},
    items::payment_item,
};
use crate::{
    AccountId, Money, NewPayment, Payment, WebhookEndpointId,
    event::{Attempt, AttemptOutcome, Delivery, DeliveryStatus},
    money::Currency,
};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-30 04:00:00.123 UTC);

fn payment() -> Payment {
    let new = NewPayment {
        client_id: "alice".parse().unwrap(),
        payee: "bob".parse().unwrap(),
        source: AccountId::generate(NOW),
        destination: AccountId::generate(NOW),
        amount: Money::new(250, Currency::CNY),
        description: Some("tea \"and\" cake".into()),
    };
    Payment::pending(new, NOW, Duration::minutes(15)).unwrap()
}

#[test]
fn an_event_item_carries_its_body_index_keys_and_expiry() {
    let event = Event::for_payment(EventType::PaymentCreated, &payment(), NOW).remove(0);
    let item = event_item(&event);
    let id = event.id.to_string();
    for (name, value) in [
        ("pk", format!("EVENT#{id}")),
        ("sk", "EVENT".to_owned()),
        ("type", "event".to_owned()),
        ("event_type", "payment.created".to_owned()),
        ("recipient", "alice".to_owned()),
        ("recipient_sk", id.clone()),
        ("created_at", "2026-11-30T04:00:00.123Z".to_owned()),
        ("body", event.body().to_owned()),
    ] {
        assert_eq!(item.get(name), Some(&attr_string(value)), "{name}");
    }
    let expiry = (NOW + Duration::days(30)).unix_timestamp();
    assert_eq!(item.get("expire_at"), Some(&attr_number(expiry)));
    assert_eq!(event_from(&item).unwrap(), event);
    assert_eq!(
        outbox_record_from_item(&item).unwrap(),
        Some(OutboxRecord::Event(event))
    );
}

/// The body is read back as stored, byte for byte, whatever order its keys are in: the binary
/// reading it (the notifier) may order JSON keys differently from the one that wrote it, and a
/// re-serialized body would then differ from what `GET /events/{id}` and the signature show.
#[test]
fn a_stored_body_is_kept_byte_for_byte() {
    let event = Event::for_payment(EventType::PaymentCreated, &payment(), NOW).remove(0);
    let mut item = event_item(&event);
    let reordered = format!(
        r#"{{"type":"payment.created","data":{{"object":{{"z":1,"a":{{"y":2,"b":3}}}}}},"object":"event","id":"{}","created_at":"2026-11-30T04:00:00.123Z"}}"#,
        event.id
    );
    item.insert("body".to_owned(), attr_string(reordered.clone()));
    let read = event_from(&item).unwrap();
    assert_eq!(read.body(), reordered);
    assert_eq!(
        read.object(),
        serde_json::json!({"z": 1, "a": {"y": 2, "b": 3}})
    );

    item.insert("body".to_owned(), attr_string(r#"{"data":{}}"#));
    assert!(event_from(&item).is_err(), "a body without data.object");
}

#[test]
fn resend_items_decode_to_resend_records() {
    let event = Event::for_payment(EventType::PaymentCreated, &payment(), NOW).remove(0);
    let endpoint = WebhookEndpointId::generate(NOW);
    let later = NOW + Duration::minutes(5);
    for target in [Some(endpoint), None] {
        let item = resend_item(&event, target, later);
        let sk = Reader(&item).str("sk").unwrap().to_owned();
        assert!(sk.starts_with("RESEND#"), "{sk}");
        assert_eq!(
            item.get("pk"),
            Some(&attr_string(format!("EVENT#{}", event.id)))
        );
        assert_eq!(
            item.get("expire_at"),
            Some(&attr_number((later + Duration::days(1)).unix_timestamp()))
        );
        assert_eq!(
            outbox_record_from_item(&item).unwrap(),
            Some(OutboxRecord::Resend {
                event_id: event.id,
                recipient: event.recipient.clone(),
                endpoint: target,
                requested_at: later,
            })
        );
    }
    // Two requests at once are two items.
    assert_ne!(
        resend_item(&event, None, later).get("sk"),
        resend_item(&event, None, later).get("sk")
    );
}

#[test]
fn other_items_are_not_outbox_records() {
    let delivery = Delivery {
        event_id: EventId::generate(NOW),
        endpoint_id: WebhookEndpointId::generate(NOW),
        status: DeliveryStatus::Pending,
        attempts: vec![Attempt {
            number: 1,
            at: NOW,
            outcome: AttemptOutcome::Error("timeout".into()),
            manual: false,
        }],
        next_attempt_at: Some(NOW + Duration::seconds(5)),
    };
    let item = delivery_item(&delivery).unwrap();
    assert_eq!(delivery_from(&item).unwrap(), delivery);
    assert_eq!(item.get("attempts"), Some(&attr_number(1)));
    assert_eq!(outbox_record_from_item(&item).unwrap(), None);
    assert_eq!(
        outbox_record_from_item(&payment_item(&payment())).unwrap(),
        None
    );
    assert_eq!(outbox_record_from_item(&Item::new()).unwrap(), None);
    // A broken event item is an error, not silently nothing: the record is retried, not lost.
    let mut broken = event_item(&Event::for_payment(EventType::PaymentCreated, &payment(), NOW)[0]);
    broken.insert("body".into(), attr_string("{"));
    assert!(outbox_record_from_item(&broken).is_err());
}
