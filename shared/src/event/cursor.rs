//! The cursor of an event listing: opaque to clients (URL-safe base64 of
//! `evt1:<binding>:<last event id>`), bound to the recipient and the set of types of the query
//! that issued it, so presenting it with any other query is refused (as payment cursors are).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{EventCursor, EventQuery};
use crate::{EventId, InvalidCursor};

impl EventQuery {
    /// The first 16 bytes of a SHA-256 over the recipient and the set of types (order and
    /// repeats make no other listing). The limit and the time are not bound: they may change
    /// from page to page.
    pub fn binding(&self) -> [u8; 16] {
        let mut types: Vec<&str> = self.types.iter().map(|t| t.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        crate::listing::digest16(&["events", self.recipient.as_str(), &types.join(",")])
    }

    /// # Errors
    /// [`InvalidCursor`] when `after` was issued for another recipient or types: stores refuse
    /// such a query rather than resume one listing at another's position.
    pub fn check_cursor(&self) -> Result<(), InvalidCursor> {
        match &self.after {
            Some(cursor) if !cursor.is_for(self) => Err(InvalidCursor),
            _ => Ok(()),
        }
    }
}

impl EventCursor {
    const TAG: &'static str = "evt1";

    /// The cursor that continues `query` below `last`.
    pub fn at(query: &EventQuery, last: EventId) -> Self {
        Self {
            last,
            binding: query.binding(),
        }
    }

    /// Whether this cursor was issued for `query`'s recipient and types.
    pub fn is_for(&self, query: &EventQuery) -> bool {
        self.binding == query.binding()
    }

    pub fn encode(&self) -> String {
        let binding: String = self.binding.iter().map(|b| format!("{b:02x}")).collect();
        URL_SAFE_NO_PAD.encode(format!("{}:{binding}:{}", Self::TAG, self.last))
    }

    /// Decodes a cursor for `query` (whose own `after` is ignored).
    ///
    /// # Errors
    /// [`InvalidCursor`] when malformed, or issued for another recipient or types.
    pub fn decode(text: &str, query: &EventQuery) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let mut parts = text.split(':');
        let (Some(Self::TAG), Some(hex), Some(last), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidCursor);
        };
        if hex.len() != 32 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(InvalidCursor);
        }
        let mut binding = [0; 16];
        for (i, byte) in binding.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| InvalidCursor)?;
        }
        let cursor = Self {
            last: last.parse().map_err(|_| InvalidCursor)?,
            binding,
        };
        if cursor.is_for(query) {
            Ok(cursor)
        } else {
            Err(InvalidCursor)
        }
    }
}
