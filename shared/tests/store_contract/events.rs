//! The transactional outbox: each state change writes exactly the events of issue 14's table,
//! in the same write (a refused or replayed request writes none), each showing the object as
//! the write left it; and the events as the events API reads them.

#[allow(unused_imports)]
use super::*;

/// Every event of `recipient` as the store lists them (oldest first), paging with the largest
/// page and checking that pages go newest first.
pub(crate) async fn events_of(
    fx: &Fixture,
    recipient: &ClientId,
    now: OffsetDateTime,
) -> Vec<Event> {
    let mut query = EventQuery {
        limit: EventQuery::MAX_LIMIT,
        ..EventQuery::first(recipient.clone(), now)
    };
    let mut events: Vec<Event> = Vec::new();
    loop {
        let page = fx.events().events(&query).await.expect("events");
        events.extend(page.events);
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    assert!(
        events.windows(2).all(|w| w[0].id > w[1].id),
        "newest first: {events:?}"
    );
    assert!(events.iter().all(|e| &e.recipient == recipient));
    events.reverse();
    events
}

/// The events written since the last look, over a few recipients, in id order.
pub(crate) struct Watch<'a> {
    fx: &'a Fixture,
    recipients: Vec<ClientId>,
    seen: HashSet<EventId>,
}

impl<'a> Watch<'a> {
    pub(crate) fn new(fx: &'a Fixture, recipients: &[&ClientId]) -> Self {
        Self {
            fx,
            recipients: recipients.iter().map(|c| (*c).clone()).collect(),
            seen: HashSet::new(),
        }
    }

    /// New events as `(type, recipient)`, checking each shows `data` and reads back whole.
    pub(crate) async fn fresh(&mut self, now: OffsetDateTime) -> Vec<Event> {
        let mut fresh = Vec::new();
        for recipient in &self.recipients {
            for event in events_of(self.fx, recipient, now).await {
                if self.seen.insert(event.id) {
                    fresh.push(event);
                }
            }
        }
        fresh.sort_by_key(|e| e.id);
        for event in &fresh {
            let (read, deliveries) = self
                .fx
                .events()
                .event(event.id)
                .await
                .expect("event")
                .expect("the event exists");
            assert_eq!(&read, event);
            assert!(deliveries.is_empty());
        }
        fresh
    }

    /// Asserts the new events are exactly `expected` (type, recipient) in order, all showing
    /// `data` and created at `at`.
    pub(crate) async fn expect(
        &mut self,
        what: &str,
        expected: &[(EventType, &ClientId)],
        data: &serde_json::Value,
        at: OffsetDateTime,
    ) -> Vec<Event> {
        let fresh = self.fresh(at + Duration::days(1)).await;
        let got: Vec<(EventType, &ClientId)> =
            fresh.iter().map(|e| (e.event_type, &e.recipient)).collect();
        assert_eq!(got, expected, "{what}");
        for event in &fresh {
            assert_eq!(&event.object(), data, "{what}: data");
            assert_eq!(event.created_at, at, "{what}: created_at");
        }
        if let Some(memory) = self.fx.memory_store() {
            let queued = memory.take_outbox(usize::MAX);
            let queued: Vec<Event> = queued
                .into_iter()
                .map(|record| match record {
                    OutboxRecord::Event(event) => event,
                    other => panic!("{what}: queued {other:?}"),
                })
                .collect();
            assert_eq!(queued, fresh, "{what}: the outbox carries what was written");
        }
        fresh
    }
}

fn view(payment: &Payment) -> serde_json::Value {
    serde_json::to_value(PaymentView::from(payment)).unwrap()
}

pub(crate) async fn state_changes_write_their_events_in_the_same_write(fx: Fixture) {
    use EventType::*;
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let a2 = open_funded(s, &alice, GENEROUS, 0, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 1_000, T0).await;
    let mut watch = Watch::new(&fx, &[&alice, &bob]);
    assert_eq!(watch.fresh(T0).await, [], "funding emits nothing");

    let p = transfer(&alice, a, b, cny(400), T0);
    must_create(s, &p, T0).await;
    watch
        .expect("hold", &[(PaymentCreated, &alice)], &view(&p), T0)
        .await;

    let at = T0 + minutes(1);
    let captured = s.capture(&p, cny(300), at).await.expect("capture");
    let both = [(PaymentSucceeded, &alice), (PaymentSucceeded, &bob)];
    let events = watch.expect("capture", &both, &view(&captured), at).await;
    assert!(events[0].id < events[1].id);

    let at = T0 + minutes(2);
    let (refund, outcome) = refund_as(s, &captured, 100, "ev-r1", "100", at).await;
    assert!(
        matches!(outcome, Ok(RefundOutcome::Created { .. })),
        "{outcome:?}"
    );
    let refund_view = serde_json::to_value(RefundView::from(&refund)).unwrap();
    let to_both = [(RefundSucceeded, &bob), (RefundSucceeded, &alice)];
    watch.expect("refund", &to_both, &refund_view, at).await;

    let q = transfer(&alice, a, b, cny(50), T0 + minutes(3));
    must_create(s, &q, q.created_at).await;
    watch
        .expect("hold", &[(PaymentCreated, &alice)], &view(&q), q.created_at)
        .await;
    let at = T0 + minutes(4);
    let canceled = s
        .release(&q, ReleaseReason::Canceled, at)
        .await
        .expect("cancel");
    watch
        .expect("cancel", &[(PaymentCanceled, &alice)], &view(&canceled), at)
        .await;

    let r = transfer(&alice, a, b, cny(60), T0 + minutes(5));
    must_create(s, &r, r.created_at).await;
    watch
        .expect("hold", &[(PaymentCreated, &alice)], &view(&r), r.created_at)
        .await;
    let expired = s
        .release(&r, ReleaseReason::Expired, r.expires_at)
        .await
        .expect("expire");
    watch
        .expect(
            "expiry",
            &[(PaymentExpired, &alice)],
            &view(&expired),
            r.expires_at,
        )
        .await;

    // A capture too late releases the hold: that change is an expiry too.
    let late = transfer(&alice, a, b, cny(70), T0 + minutes(6));
    must_create(s, &late, late.created_at).await;
    watch.fresh(T0).await;
    fx.memory_store().map(|m| m.take_outbox(usize::MAX));
    let after = late.expires_at + minutes(1);
    assert_eq!(
        s.capture(&late, late.amount, after).await,
        Err(PaymentError::Expired(late.id).into())
    );
    let stored = s.payment(late.id).await.unwrap().expect("the payment");
    assert_eq!(stored.status(), PaymentStatus::Expired);
    watch
        .expect(
            "late capture",
            &[(PaymentExpired, &alice)],
            &view(&stored),
            after,
        )
        .await;

    let at = T0 + minutes(7);
    let one = one_step(transfer(&alice, a, b, cny(80), at));
    must_create(s, &one, at).await;
    let three = [
        (PaymentCreated, &alice),
        (PaymentSucceeded, &alice),
        (PaymentSucceeded, &bob),
    ];
    watch.expect("one-step", &three, &view(&one), at).await;

    // A client that is both parties gets one event, not two.
    let at = T0 + minutes(8);
    let own = one_step(transfer(&alice, a, a2, cny(90), at));
    must_create(s, &own, at).await;
    let once = [(PaymentCreated, &alice), (PaymentSucceeded, &alice)];
    watch.expect("own one-step", &once, &view(&own), at).await;
    let (own_refund, outcome) = refund_as(s, &own, 10, "ev-own", "10", at).await;
    assert!(
        matches!(outcome, Ok(RefundOutcome::Created { .. })),
        "{outcome:?}"
    );
    let own_view = serde_json::to_value(RefundView::from(&own_refund)).unwrap();
    watch
        .expect("own refund", &[(RefundSucceeded, &alice)], &own_view, at)
        .await;

    // Funding: no event.
    s.fund(b, cny(5), T0 + minutes(9)).await.expect("fund");
    watch
        .expect("funding", &[], &serde_json::Value::Null, T0)
        .await;
}

pub(crate) async fn replays_and_refusals_write_no_event(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let mut watch = Watch::new(&fx, &[&alice, &bob]);
    let p = transfer(&alice, a, b, cny(400), T0);
    must_create(s, &p, T0).await;
    let one = one_step(transfer(&alice, a, b, cny(100), T0));
    must_create(s, &one, T0).await;
    let captured = s
        .capture(&p, p.amount, T0 + minutes(1))
        .await
        .expect("capture");
    let (_, refunded) = refund_as(s, &captured, 50, "nr-r", "50", T0 + minutes(2)).await;
    assert!(matches!(refunded, Ok(RefundOutcome::Created { .. })));
    assert_eq!(watch.fresh(T0).await.len(), 1 + 3 + 2 + 2);
    fx.memory_store().map(|m| m.take_outbox(usize::MAX));
    let at = T0 + minutes(3);

    // Replays: the same requests again (fresh ids, same keys and bodies).
    let again = transfer(&alice, a, b, cny(400), at);
    let key = format!("key-{}", p.id);
    let replay = create(s, &again, &key, &key, at).await;
    assert!(
        matches!(replay, Ok(PaymentOutcome::Replayed(_))),
        "{replay:?}"
    );
    let one_key = format!("key-{}", one.id);
    let replay = create(s, &one_step(again.clone()), &one_key, &one_key, at).await;
    assert!(
        matches!(replay, Ok(PaymentOutcome::Replayed(_))),
        "{replay:?}"
    );
    let (_, replay) = refund_as(s, &captured, 50, "nr-r", "50", at).await;
    assert!(
        matches!(replay, Ok(RefundOutcome::Replayed(_))),
        "{replay:?}"
    );

    // Refusals.
    let broke = transfer(&alice, a, b, cny(10_000), at);
    assert!(create(s, &broke, "nr-broke", "x", at).await.is_err());
    let broke_one = one_step(transfer(&alice, a, b, cny(10_000), at));
    assert!(create(s, &broke_one, "nr-broke1", "y", at).await.is_err());
    assert!(
        s.capture(&p, p.amount, at).await.is_err(),
        "captured already"
    );
    for reason in [ReleaseReason::Canceled, ReleaseReason::Expired] {
        assert!(s.release(&p, reason, at).await.is_err());
    }
    let (_, over) = refund_as(s, &captured, 1_000, "nr-over", "1000", at).await;
    assert!(over.is_err());
    let q = transfer(&alice, a, b, cny(10), at);
    must_create(s, &q, at).await;
    let early = q.expires_at - Duration::milliseconds(1);
    assert!(s.release(&q, ReleaseReason::Expired, early).await.is_err());
    let (_, not_captured) = refund_as(s, &q, 5, "nr-nc", "5", at).await;
    assert!(not_captured.is_err());

    watch
        .expect(
            "only the last hold",
            &[(EventType::PaymentCreated, &alice)],
            &view(&q),
            at,
        )
        .await;
}
