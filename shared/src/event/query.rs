//! What a page of events is, defined once over plain data ([`select_events`]): the in-memory
//! store applies it as it is, and the DynamoDB adapter reaches the same pages with one `Query`
//! of the `events-by-recipient` index (see `docs/data-model.md`, "Events").
//!
//! A listing walks one recipient's events newest first, by id (event ids are ULIDs whose time
//! is the event's creation, so id order is time order), within the retention window and below
//! the cursor; that range costs nothing to narrow. A type filter is applied to the events the
//! range yields, and a page examines at most [`EventQuery::examine_limit`] of them, so a
//! filtered page may hold fewer than `limit` events, even none, and still have a cursor: the
//! listing has ended only when `next_cursor` is `None` (as with payments).

use time::{Duration, OffsetDateTime};
use ulid::Ulid;

use super::{EVENT_RETENTION_DAYS, Event, EventCursor, EventPage, EventQuery};
use crate::{ClientId, EventId};

impl EventQuery {
    pub const DEFAULT_LIMIT: u16 = 20;
    pub const MAX_LIMIT: u16 = 100;
    /// A page with a type filter examines up to this many events per event it may return...
    pub const EXAMINED_PER_RESULT: usize = 10;
    /// ...and never more than this many: at about 3 KB an event item, well under the 1 MB a
    /// DynamoDB `Query` call reads, so the page's one call reads them all.
    pub const MAX_EXAMINED: usize = 300;

    /// The first page of every event of `recipient`, [`Self::DEFAULT_LIMIT`] a page.
    pub fn first(recipient: ClientId, now: OffsetDateTime) -> Self {
        Self {
            recipient,
            types: Vec::new(),
            limit: Self::DEFAULT_LIMIT,
            after: None,
            now,
        }
    }

    /// The number of events a page holds at most: `limit` within 1 to [`Self::MAX_LIMIT`].
    pub fn page_size(&self) -> usize {
        usize::from(self.limit.clamp(1, Self::MAX_LIMIT))
    }

    /// Whether an event in the range may still be left out (by type).
    pub fn is_filtered(&self) -> bool {
        !self.types.is_empty()
    }

    /// How many events of the range a page examines at most. Without a filter, one more than
    /// the page holds: the extra one only tells that another page exists.
    pub fn examine_limit(&self) -> usize {
        let wanted = self.page_size() + 1;
        if self.is_filtered() {
            (wanted * Self::EXAMINED_PER_RESULT).min(Self::MAX_EXAMINED)
        } else {
            wanted
        }
    }

    /// The lowest id of the retention window: no event created before `now - 30 days` has an
    /// id at or above it, every later one has.
    pub fn oldest_id(&self) -> EventId {
        let start = self.now - Duration::days(EVENT_RETENTION_DAYS);
        let millis = (start.unix_timestamp_nanos() / 1_000_000).max(0);
        let millis = u64::try_from(millis).unwrap_or(0);
        EventId::from_ulid(Ulid::from_parts(millis, 0))
    }

    /// Whether `event` lies in the range: the recipient's, in the window, below the cursor.
    pub fn in_range(&self, event: &Event) -> bool {
        event.recipient == self.recipient
            && event.id >= self.oldest_id()
            && self
                .after
                .as_ref()
                .is_none_or(|cursor| event.id < cursor.last)
    }

    /// Whether `event` passes the type filter.
    pub fn passes_filter(&self, event: &Event) -> bool {
        self.types.is_empty() || self.types.contains(&event.event_type)
    }
}

impl EventPage {
    /// Cuts what one page examined into the page. `matched` are the examined events that passed
    /// the filter, newest first; `more_after` is the id of the last event examined when the
    /// range goes on below it.
    pub fn cut(query: &EventQuery, mut matched: Vec<Event>, more_after: Option<EventId>) -> Self {
        let resume_at = crate::listing::cut(&mut matched, query.page_size(), more_after, |e| e.id);
        Self {
            next_cursor: resume_at.map(|last| EventCursor::at(query, last)),
            events: matched,
        }
    }
}

/// The page `query` yields over `candidates` (any events, in any order): the reference
/// semantics of an event listing.
pub fn select_events<'a>(
    query: &EventQuery,
    candidates: impl IntoIterator<Item = &'a Event>,
) -> EventPage {
    let (matched, more_after) = crate::listing::examine(
        candidates.into_iter().filter(|e| query.in_range(e)),
        query.examine_limit(),
        |e| e.id,
        |e| query.passes_filter(e),
    );
    EventPage::cut(query, matched, more_after)
}
