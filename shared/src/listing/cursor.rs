//! The cursors of the listings: opaque to clients (URL-safe base64), and bound to the listing
//! that issued them. A payment cursor carries a digest of its query's client, role and filters,
//! so presenting it with any other query is refused; an account cursor names its owner.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Party, PaymentPosition, PaymentQuery};
use crate::{AccountId, ClientId, InvalidCursor, PaymentId};

/// The first 16 bytes of a SHA-256 over `parts`, each length-prefixed so that no two different
/// lists hash the same text: what a cursor carries to name the query that issued it.
pub(crate) fn digest16(parts: &[impl AsRef<str>]) -> [u8; 16] {
    let mut hasher = Sha256::new();
    for part in parts {
        let part = part.as_ref();
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut binding = [0; 16];
    binding.copy_from_slice(&digest[..16]);
    binding
}

/// The first bytes of the SHA-256 of a query's client, role and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Binding([u8; 16]);

impl Binding {
    fn of(query: &PaymentQuery) -> Self {
        let mut statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
        // A set: the order a client lists statuses in, or a repeat, makes no other listing.
        statuses.sort_unstable();
        statuses.dedup();
        let (from, to) = query.time_bounds();
        let millis = |t: Option<OffsetDateTime>| {
            t.map(|t| (t.unix_timestamp_nanos() / 1_000_000).to_string())
                .unwrap_or_default()
        };
        let role = match query.role {
            Party::Payer => "payer",
            Party::Payee => "payee",
        };
        let parts = [
            "payments".to_owned(),
            query.client.to_string(),
            role.to_owned(),
            statuses.join(","),
            query.account.map(|a| a.to_string()).unwrap_or_default(),
            millis(from),
            millis(to),
        ];
        Self(digest16(&parts))
    }

    fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut binding = [0; 16];
        for (i, byte) in binding.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(binding))
    }
}

/// Where the next page of a payment listing starts: strictly below `position`. Bound to the
/// client, role and filters of the query that issued it (not to its `limit`, which may change
/// from page to page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentCursor {
    binding: Binding,
    pub position: PaymentPosition,
}

impl PaymentCursor {
    const TAG: &'static str = "pay1";

    /// The cursor that continues `query` below `position`.
    pub fn at(query: &PaymentQuery, position: PaymentPosition) -> Self {
        Self {
            binding: Binding::of(query),
            position,
        }
    }

    /// Whether this cursor was issued for `query`'s client, role and filters.
    pub fn is_for(&self, query: &PaymentQuery) -> bool {
        self.binding == Binding::of(query)
    }

    pub fn encode(&self) -> String {
        let millis = self.position.created_at.unix_timestamp_nanos() / 1_000_000;
        URL_SAFE_NO_PAD.encode(format!(
            "{}:{}:{millis}:{}",
            Self::TAG,
            self.binding.to_hex(),
            self.position.id
        ))
    }

    /// # Errors
    /// [`InvalidCursor`] when malformed, or issued for another client, role or filters than
    /// `query`'s.
    pub fn decode(text: &str, query: &PaymentQuery) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let mut parts = text.split(':');
        let (Some(Self::TAG), Some(binding), Some(millis), Some(id), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(InvalidCursor);
        };
        let binding = Binding::from_hex(binding).ok_or(InvalidCursor)?;
        let millis: i64 = millis.parse().map_err(|_| InvalidCursor)?;
        let created_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .map_err(|_| InvalidCursor)?;
        let id: PaymentId = id.parse().map_err(|_| InvalidCursor)?;
        let cursor = Self {
            binding,
            position: PaymentPosition::new(created_at, id),
        };
        if cursor.is_for(query) {
            Ok(cursor)
        } else {
            Err(InvalidCursor)
        }
    }
}

/// Where the next page of an owner's accounts starts: strictly after `after`. Bound to the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCursor {
    pub owner: ClientId,
    pub after: AccountId,
}

impl AccountCursor {
    const TAG: &'static str = "acct1";

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", Self::TAG, self.owner, self.after))
    }

    /// # Errors
    /// [`InvalidCursor`] when malformed or issued for another owner.
    pub fn decode(text: &str, owner: &ClientId) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let mut parts = text.split(':');
        let (Some(Self::TAG), Some(issued_to), Some(after), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidCursor);
        };
        let issued_to: ClientId = issued_to.parse().map_err(|_| InvalidCursor)?;
        let after: AccountId = after.parse().map_err(|_| InvalidCursor)?;
        if &issued_to == owner {
            Ok(Self {
                owner: issued_to,
                after,
            })
        } else {
            Err(InvalidCursor)
        }
    }
}
