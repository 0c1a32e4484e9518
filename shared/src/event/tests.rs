//! Events: their recipients, ids, wire form, cursors and pages.

use serde_json::Value;
use time::{Duration, macros::datetime};

use super::*;
use crate::{AccountId, InvalidCursor, Money, NewPayment, money::Currency};

const NOW: OffsetDateTime = datetime!(2026-11-30 04:00:00.123 UTC);

fn payment(payer: &str, payee: &str) -> Payment {
    let new = NewPayment {
        client_id: payer.parse().unwrap(),
        payee: payee.parse().unwrap(),
        source: AccountId::generate(NOW),
        destination: AccountId::generate(NOW),
        amount: Money::new(250, Currency::CNY),
        description: None,
    };
    Payment::pending(new, NOW, Duration::minutes(15)).unwrap()
}

fn recipients(events: &[Event]) -> Vec<(&str, &str)> {
    events
        .iter()
        .map(|e| (e.event_type.as_str(), e.recipient.as_str()))
        .collect()
}

#[test]
fn ids_of_one_write_increase_even_within_a_millisecond() {
    let now = datetime!(2026-11-30 04:00:00 UTC);
    let mut previous = None;
    for _ in 0..1000 {
        let id = next_id(previous, now);
        assert!(previous.is_none_or(|p| id > p));
        previous = Some(id);
    }
}

#[test]
fn spellings_are_the_issue_s() {
    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        names,
        [
            "payment.created",
            "payment.succeeded",
            "payment.canceled",
            "payment.expired",
            "refund.succeeded",
            "payment.review_required",
            "payment.declined",
            "payment.review_approved",
            "risk.alert"
        ]
    );
}

#[test]
fn recipients_follow_the_issue_s_table() {
    let p = payment("alice", "bob");
    let created = Event::for_payment(EventType::PaymentCreated, &p, NOW);
    assert_eq!(recipients(&created), [("payment.created", "alice")]);
    let captured = p.capture(p.amount, NOW).unwrap();
    let succeeded = Event::for_payment(EventType::PaymentSucceeded, &captured, NOW);
    assert_eq!(
        recipients(&succeeded),
        [("payment.succeeded", "alice"), ("payment.succeeded", "bob")]
    );
    let refund = Refund::new(p.id, Money::new(5, Currency::CNY), None, NOW);
    assert_eq!(
        recipients(&Event::for_refund(&refund, &captured, NOW)),
        [("refund.succeeded", "bob"), ("refund.succeeded", "alice")]
    );
    // A client paying itself gets one event, not two.
    let own = payment("alice", "alice").capture(Money::new(250, Currency::CNY), NOW);
    let own = own.unwrap();
    assert_eq!(
        recipients(&Event::for_payment(EventType::PaymentSucceeded, &own, NOW)),
        [("payment.succeeded", "alice")]
    );
    // Fundings (the system client on both sides) have no recipient.
    let funding = Payment::funding(
        AccountId::generate(NOW),
        AccountId::generate(NOW),
        Money::new(5, Currency::CNY),
        NOW,
    );
    assert!(Event::for_payment(EventType::PaymentSucceeded, &funding, NOW).is_empty());
}

#[test]
fn a_one_step_payment_reports_created_then_succeeded_in_id_order() {
    let one_step = payment("alice", "bob").capture(Money::new(250, Currency::CNY), NOW);
    let one_step = one_step.unwrap();
    for _ in 0..200 {
        let events = Event::for_one_step(&one_step, NOW);
        assert_eq!(
            recipients(&events),
            [
                ("payment.created", "alice"),
                ("payment.succeeded", "alice"),
                ("payment.succeeded", "bob")
            ]
        );
        assert!(events.windows(2).all(|w| w[0].id < w[1].id), "{events:?}");
    }
}

#[test]
fn the_body_is_the_wire_form_with_the_view_as_data_object() {
    let p = payment("alice", "bob");
    let event = Event::for_payment(
        EventType::PaymentCreated,
        &p,
        NOW + Duration::nanoseconds(7),
    )
    .remove(0);
    assert_eq!(event.created_at, NOW, "kept to the millisecond");
    let body: Value = serde_json::from_str(event.body()).unwrap();
    assert_eq!(body["id"], event.id.to_string());
    assert_eq!(body["object"], "event");
    assert_eq!(body["type"], "payment.created");
    assert_eq!(body["created_at"], "2026-11-30T04:00:00.123Z");
    assert_eq!(
        body["data"]["object"],
        serde_json::to_value(PaymentView::from(&p)).unwrap()
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(5));
}

fn query(recipient: &str, types: &[EventType]) -> EventQuery {
    EventQuery {
        types: types.to_vec(),
        ..EventQuery::first(recipient.parse().unwrap(), NOW)
    }
}

#[test]
fn cursors_are_bound_to_the_recipient_and_the_set_of_types() {
    let q = query(
        "alice",
        &[EventType::PaymentCreated, EventType::RefundSucceeded],
    );
    let cursor = EventCursor::at(&q, EventId::generate(NOW));
    let text = cursor.encode();
    assert_eq!(EventCursor::decode(&text, &q), Ok(cursor.clone()));
    // The same set in another order, with a repeat, another limit and time: the same listing.
    let same = EventQuery {
        limit: 3,
        now: NOW + Duration::hours(1),
        ..query(
            "alice",
            &[
                EventType::RefundSucceeded,
                EventType::PaymentCreated,
                EventType::RefundSucceeded,
            ],
        )
    };
    assert_eq!(EventCursor::decode(&text, &same), Ok(cursor));
    for other in [
        query(
            "bob",
            &[EventType::PaymentCreated, EventType::RefundSucceeded],
        ),
        query("alice", &[EventType::PaymentCreated]),
        query("alice", &[]),
    ] {
        assert_eq!(EventCursor::decode(&text, &other), Err(InvalidCursor));
    }
    for junk in ["", "not base64!", "ZXZ0MTp4Onk", &text[1..]] {
        assert_eq!(EventCursor::decode(junk, &q), Err(InvalidCursor), "{junk}");
    }
}

#[test]
fn pages_walk_newest_first_within_the_window_and_filter_by_type() {
    let p = payment("alice", "bob");
    let mut all = Vec::new();
    for days_ago in [40, 31, 29, 2, 1, 0] {
        let at = NOW - Duration::days(days_ago);
        all.extend(Event::for_payment(EventType::PaymentCreated, &p, at));
        all.extend(Event::for_payment(EventType::PaymentCanceled, &p, at));
    }
    all.extend(Event::for_payment(
        EventType::PaymentCreated,
        &payment("bob", "carol"),
        NOW,
    ));
    let mut q = query("alice", &[]);
    q.limit = 4;
    let first = select_events(&q, &all);
    let ids = |page: &EventPage| page.events.iter().map(|e| e.id).collect::<Vec<_>>();
    let mut newest: Vec<&Event> = all
        .iter()
        .filter(|e| e.recipient.as_str() == "alice" && e.created_at > NOW - Duration::days(30))
        .collect();
    newest.sort_by_key(|e| std::cmp::Reverse(e.id));
    assert_eq!(newest.len(), 8, "29 days ago and later");
    let expected: Vec<EventId> = newest.iter().map(|e| e.id).collect();
    assert_eq!(ids(&first), expected[..4]);
    q.after = first.next_cursor;
    let second = select_events(&q, &all);
    assert_eq!(ids(&second), expected[4..]);
    assert_eq!(second.next_cursor, None, "exact: the window holds no more");

    let canceled = query("alice", &[EventType::PaymentCanceled]);
    let page = select_events(&canceled, &all);
    assert!(
        page.events
            .iter()
            .all(|e| e.event_type == EventType::PaymentCanceled)
    );
    assert_eq!(page.events.len(), 4);
}
