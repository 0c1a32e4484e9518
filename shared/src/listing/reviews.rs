//! `GET /reviews`: payments in review across all clients, oldest first, for operators.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use time::OffsetDateTime;

use super::PaymentPosition;
use crate::{InvalidCursor, Payment, PaymentId, PaymentStatus};

/// Largest page of reviews.
pub const MAX_REVIEW_PAGE: u16 = 100;

/// One page request of the payments in review: after `after` (strictly), oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewQuery {
    pub limit: u16,
    pub after: Option<PaymentPosition>,
}

/// A page of payments in review, oldest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPage {
    pub payments: Vec<Payment>,
    pub next: Option<PaymentPosition>,
}

impl ReviewPage {
    /// The first `limit` of `payments` (in order, at least `limit + 1` when there are more).
    pub fn cut(mut payments: Vec<Payment>, limit: u16) -> Self {
        let limit = usize::from(limit);
        let next = (payments.len() > limit).then(|| PaymentPosition::of(&payments[limit - 1]));
        payments.truncate(limit);
        Self { payments, next }
    }
}

/// The page of `query` among `payments` (any order): those in review, oldest first.
pub fn select_reviews<'a>(
    query: &ReviewQuery,
    payments: impl Iterator<Item = &'a Payment>,
) -> ReviewPage {
    let mut waiting: Vec<&Payment> = payments
        .filter(|p| p.status() == PaymentStatus::RequiresReview)
        .filter(|p| {
            query
                .after
                .is_none_or(|after| PaymentPosition::of(p) > after)
        })
        .collect();
    waiting.sort_by_key(|p| PaymentPosition::of(p));
    waiting.truncate(usize::from(query.limit) + 1);
    ReviewPage::cut(waiting.into_iter().cloned().collect(), query.limit)
}

const TAG: &str = "rev1";

/// The opaque cursor of the page after `position`.
pub fn encode_review_cursor(position: PaymentPosition) -> String {
    let millis = position.created_at.unix_timestamp_nanos() / 1_000_000;
    URL_SAFE_NO_PAD.encode(format!("{TAG}:{millis}:{}", position.id))
}

/// # Errors
/// [`InvalidCursor`] when malformed or issued by another listing.
pub fn decode_review_cursor(text: &str) -> Result<PaymentPosition, InvalidCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
    let mut parts = text.split(':');
    let (Some(TAG), Some(millis), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(InvalidCursor);
    };
    let millis: i64 = millis.parse().map_err(|_| InvalidCursor)?;
    let created_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|_| InvalidCursor)?;
    let id: PaymentId = id.parse().map_err(|_| InvalidCursor)?;
    Ok(PaymentPosition::new(created_at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_refuses_others() {
        let now = time::macros::datetime!(2026-11-30 12:00:00.123 UTC);
        let position = PaymentPosition::new(now, PaymentId::generate(now));
        let cursor = encode_review_cursor(position);
        assert_eq!(decode_review_cursor(&cursor), Ok(position));
        assert_eq!(decode_review_cursor("bm9wZQ"), Err(InvalidCursor));
        let other = URL_SAFE_NO_PAD.encode(format!("pay1:00:1:{}", position.id));
        assert_eq!(decode_review_cursor(&other), Err(InvalidCursor));
    }
}
