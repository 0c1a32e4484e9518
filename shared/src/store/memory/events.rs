//! Events in the embedded store: appended under the store's lock by the very operation whose
//! change they report (the in-process form of the transactional outbox), kept with their
//! delivery records, and queued for the local notifier, which drains the queue
//! ([`MemoryStore::take_outbox`]) when [`MemoryStore::outbox_signal`] wakes it.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::{MemoryStore, State};
use crate::{
    Event, EventId, StoreError, WebhookEndpointId,
    event::{Delivery, EventPage, EventQuery, OutboxRecord, select_events},
    store::EventStore,
};

/// The events, their deliveries and the outbox queue.
#[derive(Debug, Default)]
pub(super) struct Notifications {
    events: BTreeMap<EventId, Event>,
    /// A B-tree, as the store's other maps that grow with traffic (see `State`).
    deliveries: BTreeMap<(EventId, WebhookEndpointId), Delivery>,
    outbox: VecDeque<OutboxRecord>,
    /// Woken once per write that queues records. `notify_one` keeps a permit when nobody
    /// waits, so a notifier that was busy when a record came still finds it.
    signal: Arc<Notify>,
}

impl Notifications {
    fn queue(&mut self, record: OutboxRecord) {
        self.outbox.push_back(record);
        self.signal.notify_one();
    }
}

impl State {
    /// Writes `events` (built from the change the caller is making under the same lock) and
    /// queues them for delivery.
    pub(super) fn emit(&mut self, events: Vec<Event>) {
        for event in events {
            self.notifications.events.insert(event.id, event.clone());
            self.notifications.queue(OutboxRecord::Event(event));
        }
    }
}

impl MemoryStore {
    /// Takes up to `max` outbox records, oldest first. A record taken is the notifier's: it is
    /// not handed out again (the embedded store dies with its notifier, so nothing survives a
    /// crash for it to redo).
    pub fn take_outbox(&self, max: usize) -> Vec<OutboxRecord> {
        let mut state = self.state();
        let outbox = &mut state.notifications.outbox;
        let n = max.min(outbox.len());
        outbox.drain(..n).collect()
    }

    /// Notified whenever records are queued: wait on it, then [`MemoryStore::take_outbox`]
    /// until it comes back empty.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.state().notifications.signal)
    }

    /// Every event, oldest first, for tests and audits.
    pub fn all_events(&self) -> Vec<Event> {
        self.state()
            .notifications
            .events
            .values()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn events(&self, query: &EventQuery) -> Result<EventPage, StoreError> {
        query.check_cursor()?;
        let state = self.state();
        Ok(select_events(query, state.notifications.events.values()))
    }

    async fn event(&self, id: EventId) -> Result<Option<(Event, Vec<Delivery>)>, StoreError> {
        let state = self.state();
        let Some(event) = state.notifications.events.get(&id) else {
            return Ok(None);
        };
        let mut deliveries: Vec<Delivery> = state
            .notifications
            .deliveries
            .values()
            .filter(|d| d.event_id == id)
            .cloned()
            .collect();
        // As DynamoDB returns them: by endpoint id.
        deliveries.sort_by_key(|d| d.endpoint_id);
        Ok(Some((event.clone(), deliveries)))
    }

    async fn record_delivery(
        &self,
        delivery: &Delivery,
        _now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let key = (delivery.event_id, delivery.endpoint_id);
        let deliveries = &mut state.notifications.deliveries;
        if let Some(stored) = deliveries.get(&key)
            && stored.attempts.len() >= delivery.attempts.len()
        {
            // The same record again is no newer state, but it is what is stored (as DynamoDB
            // answers a write the SDK sent twice).
            return Ok(stored == delivery);
        }
        deliveries.insert(key, delivery.clone());
        Ok(true)
    }

    async fn request_resend(
        &self,
        event: &Event,
        endpoint: Option<WebhookEndpointId>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.state().notifications.queue(OutboxRecord::Resend {
            event_id: event.id,
            recipient: event.recipient.clone(),
            endpoint,
            requested_at: crate::clock::truncate_to_millis(now),
        });
        Ok(())
    }
}
