//! The events API's reads: pages of a recipient's events (newest first, by type, within 30
//! days, cursors bound to their query), an event with its delivery records (written in attempt
//! order only), resend requests reaching the outbox, and what each costs on DynamoDB.

#[allow(unused_imports)]
use super::*;

/// Alice pays bob `n` times, each payment captured: per payment one `payment.created` and one
/// `payment.succeeded` for alice. Returns alice's events, newest first.
async fn busy_alice(fx: &Fixture, n: usize) -> Vec<Event> {
    let s = fx.store();
    let alice = client("alice");
    let a = open_funded(s, &alice, GENEROUS, 100_000, T0).await;
    let b = open_funded(s, &client("bob"), GENEROUS, 0, T0).await;
    for i in 0..n {
        let at = T0 + Duration::seconds(i as i64);
        let p = transfer(&alice, a, b, cny(10), at);
        must_create(s, &p, at).await;
        s.capture(&p, p.amount, at).await.expect("capture");
    }
    let mut all = events_of(fx, &alice, T0).await;
    all.reverse();
    assert_eq!(all.len(), 2 * n);
    all
}

pub(crate) async fn events_page_newest_first_by_type_with_bound_cursors(fx: Fixture) {
    let all = busy_alice(&fx, 12).await;
    let alice = client("alice");
    let ids = |events: &[Event]| events.iter().map(|e| e.id).collect::<Vec<_>>();

    // Unfiltered: full pages, exact cursors.
    let mut query = EventQuery {
        limit: 10,
        ..EventQuery::first(alice.clone(), T0 + minutes(1))
    };
    let mut pages = Vec::new();
    loop {
        let page = fx.events().events(&query).await.expect("page");
        pages.push(ids(&page.events));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let all_ids = ids(&all);
    assert_eq!(pages, [&all_ids[..10], &all_ids[10..20], &all_ids[20..]]);

    // By type: only those, newest first, same on both stores.
    let succeeded = EventQuery {
        types: vec![EventType::PaymentSucceeded],
        limit: 5,
        ..EventQuery::first(alice.clone(), T0)
    };
    let page = fx.events().events(&succeeded).await.expect("page");
    let expected: Vec<EventId> = all
        .iter()
        .filter(|e| e.event_type == EventType::PaymentSucceeded)
        .map(|e| e.id)
        .collect();
    assert_eq!(ids(&page.events), expected[..5]);
    let cursor = page.next_cursor.expect("more");
    let second = fx
        .events()
        .events(&EventQuery {
            after: Some(cursor.clone()),
            ..succeeded.clone()
        })
        .await
        .expect("second page");
    assert_eq!(ids(&second.events), expected[5..10]);
    let none = EventQuery {
        types: vec![EventType::RefundSucceeded, EventType::PaymentExpired],
        ..EventQuery::first(alice.clone(), T0)
    };
    let empty = fx.events().events(&none).await.expect("page");
    assert_eq!((empty.events.len(), empty.next_cursor), (0, None));

    // A cursor is bound to its recipient and types: the store refuses it with any other.
    for other in [
        EventQuery::first(alice.clone(), T0),
        EventQuery::first(client("bob"), T0),
        EventQuery {
            types: vec![EventType::PaymentCreated],
            ..EventQuery::first(alice.clone(), T0)
        },
    ] {
        let stolen = EventQuery {
            after: Some(cursor.clone()),
            ..other
        };
        assert_eq!(
            fx.events().events(&stolen).await,
            Err(StoreError::InvalidCursor(InvalidCursor)),
            "{stolen:?}"
        );
    }
    assert_eq!(
        EventCursor::decode(&cursor.encode(), &succeeded),
        Ok(cursor.clone())
    );

    // Kept 30 days: listed until then, not after.
    let day_30 = T0 + Duration::days(30) - minutes(1);
    let page = fx
        .events()
        .events(&EventQuery::first(alice.clone(), day_30))
        .await
        .unwrap();
    assert_eq!(page.events.len(), 20, "within the window");
    let day_31 = T0 + Duration::days(31);
    let page = fx
        .events()
        .events(&EventQuery::first(alice.clone(), day_31))
        .await
        .unwrap();
    assert_eq!((page.events.len(), page.next_cursor), (0, None));
    // Bob's own events are his; alice's never show up for him.
    let bobs = events_of(&fx, &client("bob"), T0).await;
    assert_eq!(bobs.len(), 12);
    assert!(
        bobs.iter()
            .all(|e| e.event_type == EventType::PaymentSucceeded)
    );
}

fn attempt(number: u32, at: OffsetDateTime, outcome: AttemptOutcome) -> Attempt {
    Attempt {
        number,
        at,
        outcome,
        manual: false,
    }
}

pub(crate) async fn deliveries_are_recorded_in_attempt_order(fx: Fixture) {
    let event = busy_alice(&fx, 1).await.remove(0);
    let events = fx.events();
    let (e1, e2) = (
        WebhookEndpointId::generate(T0),
        WebhookEndpointId::generate(T0),
    );
    let first = Delivery {
        event_id: event.id,
        endpoint_id: e2,
        status: DeliveryStatus::Pending,
        attempts: vec![attempt(1, T0, AttemptOutcome::Status(500))],
        next_attempt_at: Some(T0 + Duration::seconds(5)),
    };
    let mut second = first.clone();
    second.attempts.push(attempt(
        2,
        T0 + Duration::seconds(5),
        AttemptOutcome::Status(204),
    ));
    second.status = DeliveryStatus::Delivered;
    second.next_attempt_at = None;

    assert_eq!(events.record_delivery(&first, T0).await, Ok(true));
    assert_eq!(events.record_delivery(&second, T0).await, Ok(true));
    // A slower duplicate worker's older state: skipped.
    assert_eq!(events.record_delivery(&first, T0).await, Ok(false));
    // The same state again (a write the SDK sent twice): it is what is stored.
    assert_eq!(events.record_delivery(&second, T0).await, Ok(true));
    // Another state with as many attempts: skipped.
    let mut rival = second.clone();
    rival.attempts[1].outcome = AttemptOutcome::Status(503);
    assert_eq!(events.record_delivery(&rival, T0).await, Ok(false));
    let other = Delivery {
        endpoint_id: e1,
        attempts: vec![attempt(
            1,
            T0,
            AttemptOutcome::Error("connection_refused".into()),
        )],
        ..first.clone()
    };
    assert_eq!(events.record_delivery(&other, T0).await, Ok(true));
    let (read, deliveries) = events.event(event.id).await.unwrap().expect("the event");
    assert_eq!(read, event);
    // By endpoint id, each as it stands.
    let mut expected = [other, second];
    expected.sort_by_key(|d| d.endpoint_id);
    assert_eq!(deliveries, expected);
    assert_eq!(events.event(EventId::generate(T0)).await, Ok(None));
}

pub(crate) async fn resend_requests_reach_the_outbox(fx: Fixture) {
    let event = busy_alice(&fx, 1).await.remove(0);
    let endpoint = WebhookEndpointId::generate(T0);
    let at = T0 + minutes(5);
    if let Some(memory) = fx.memory_store() {
        memory.take_outbox(usize::MAX);
    }
    for target in [Some(endpoint), None] {
        fx.events()
            .request_resend(&event, target, at)
            .await
            .expect("resend");
    }
    let expected: Vec<OutboxRecord> = [Some(endpoint), None]
        .into_iter()
        .map(|target| OutboxRecord::Resend {
            event_id: event.id,
            recipient: event.recipient.clone(),
            endpoint: target,
            requested_at: at,
        })
        .collect();
    let mut found = outbox_of(&fx, &event).await;
    // The event's own record comes first on DynamoDB (its partition holds both).
    if fx.backend() == Backend::DynamoDb {
        assert_eq!(found.remove(0), OutboxRecord::Event(event.clone()));
        found.sort_by_key(|r| matches!(r, OutboxRecord::Resend { endpoint: None, .. }));
    }
    assert_eq!(found, expected);
    // The event reads as before: resend requests are for the notifier only.
    let (read, deliveries) = fx.events().event(event.id).await.unwrap().unwrap();
    assert_eq!((read, deliveries.len()), (event, 0));
}

/// What the outbox holds for `event`: the memory store's queue, or the records the DynamoDB
/// stream carries decoded from the items of the event's partition as the table returns them.
async fn outbox_of(fx: &Fixture, event: &Event) -> Vec<OutboxRecord> {
    if let Some(memory) = fx.memory_store() {
        return memory.take_outbox(usize::MAX);
    }
    let store = fx.dynamo_store().expect("a DynamoDB fixture");
    let items = store
        .client()
        .query()
        .table_name(&store.tables().transactions)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("EVENT#{}", event.id)),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("query")
        .items
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|item| outbox_record_from_item(item).expect("decodes"))
        .collect()
}

pub(crate) async fn event_operations_cost_one_round_trip(fx: Fixture) {
    let event = busy_alice(&fx, 3).await.remove(0);
    let count = || fx.round_trips().expect("counted");
    let events = fx.events();
    let mut measured = Vec::new();
    let mut query = EventQuery {
        limit: 2,
        ..EventQuery::first(client("alice"), T0)
    };
    for name in ["first page", "second page"] {
        let before = count();
        let page = events.events(&query).await.unwrap();
        measured.push((name, count() - before));
        query.after = page.next_cursor;
    }
    let typed = EventQuery {
        types: vec![EventType::PaymentCreated],
        ..EventQuery::first(client("alice"), T0)
    };
    let before = count();
    assert_eq!(events.events(&typed).await.unwrap().events.len(), 3);
    measured.push(("page by type", count() - before));
    let before = count();
    assert!(events.event(event.id).await.unwrap().is_some());
    measured.push(("event", count() - before));
    let delivery = Delivery {
        event_id: event.id,
        endpoint_id: WebhookEndpointId::generate(T0),
        status: DeliveryStatus::Delivered,
        attempts: vec![attempt(1, T0, AttemptOutcome::Status(200))],
        next_attempt_at: None,
    };
    for name in ["record delivery", "record delivery (skipped)"] {
        let before = count();
        events.record_delivery(&delivery, T0).await.unwrap();
        measured.push((name, count() - before));
    }
    let before = count();
    events.request_resend(&event, None, T0).await.unwrap();
    measured.push(("resend", count() - before));
    let ones: Vec<(&str, u64)> = measured.iter().map(|(name, _)| (*name, 1)).collect();
    assert_eq!(measured, ones);
}
