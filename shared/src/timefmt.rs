//! The one way paygate writes a timestamp, and the one way it reads one.
//!
//! Written: RFC 3339 in UTC with exactly three fractional digits, `2026-11-22T20:06:09.930Z`.
//! Fixed width makes text order time order, for clients that sort or compare ISO strings and for
//! the store's keys and conditions (`.93Z` would sort after `.931Z`). Times are milliseconds
//! throughout (see [`crate::clock`]), so nothing is lost.
//!
//! Read: any valid RFC 3339 timestamp, with any number of fractional digits and any offset.

use std::fmt::Write;

use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

/// `t` in UTC as `YYYY-MM-DDTHH:MM:SS.mmmZ` (sub-millisecond digits are cut, not rounded, so a
/// time never moves into the next millisecond).
pub fn format_rfc3339_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let mut text = String::with_capacity(24);
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
    text
}

/// Parses any valid RFC 3339 timestamp.
///
/// # Errors
/// When `text` is not one.
pub fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

/// `#[serde(with = "paygate_shared::timefmt::rfc3339_millis")]`: writes with
/// [`format_rfc3339_millis`], reads any valid RFC 3339 timestamp.
pub mod rfc3339_millis {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_rfc3339_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_rfc3339(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_timestamp_has_exactly_three_fractional_digits_in_utc() {
        let cases = [
            (
                datetime!(2026-11-22 20:06:09.93 UTC),
                "2026-11-22T20:06:09.930Z",
            ),
            (
                datetime!(2026-11-22 20:06:09.931 UTC),
                "2026-11-22T20:06:09.931Z",
            ),
            (datetime!(2026-11-22 10:00 UTC), "2026-11-22T10:00:00.000Z"),
            (
                datetime!(2026-11-22 10:00:00.001 UTC),
                "2026-11-22T10:00:00.001Z",
            ),
            (
                datetime!(2026-11-22 10:00:00.999_999_999 UTC),
                "2026-11-22T10:00:00.999Z",
            ),
            (
                datetime!(2026-11-23 01:30:00.5 +08:00),
                "2026-11-22T17:30:00.500Z",
            ),
            (datetime!(0001-01-01 00:00 UTC), "0001-01-01T00:00:00.000Z"),
        ];
        for (t, want) in cases {
            let text = format_rfc3339_millis(t);
            assert_eq!(text, want);
            assert_eq!(text.len(), 24, "{text}");
        }
    }

    #[test]
    fn sorting_the_text_sorts_the_instants() {
        let base = datetime!(2026-11-22 20:06:09 UTC);
        let mut instants: Vec<OffsetDateTime> = [930, 931, 9, 90, 900, 0, 1, 999, 10_000, 59_990]
            .into_iter()
            .map(|ms| base + time::Duration::milliseconds(ms))
            .chain([
                datetime!(2026-11-22 20:06:09.93 -01:00),
                datetime!(2026-11-23 04:06:09.9 +08:00),
                datetime!(2025-12-31 23:59:59.999 UTC),
            ])
            .collect();
        let mut texts: Vec<String> = instants.iter().map(|t| format_rfc3339_millis(*t)).collect();
        instants.sort();
        texts.sort();
        let sorted: Vec<String> = instants.iter().map(|t| format_rfc3339_millis(*t)).collect();
        assert_eq!(texts, sorted);
    }

    #[test]
    fn every_valid_rfc3339_form_is_read() {
        let want = datetime!(2026-11-22 20:06:09.93 UTC);
        for text in [
            "2026-11-22T20:06:09.93Z",
            "2026-11-22T20:06:09.930Z",
            "2026-11-22T20:06:09.930000000Z",
            "2026-11-22T21:06:09.930+01:00",
            "2026-11-22T15:36:09.93-04:30",
            "2026-11-22t20:06:09.93z",
            "2026-11-22T20:06:09.930+00:00",
            "2026-11-22T20:06:09.930-00:00",
        ] {
            assert_eq!(parse_rfc3339(text).map_err(|e| (text, e)), Ok(want));
        }
        assert_eq!(
            parse_rfc3339("2026-11-22T20:06:09Z"),
            Ok(datetime!(2026-11-22 20:06:09 UTC))
        );
        for bad in [
            "2026-11-22T25:06:09Z",
            "2026-11-22T20:06:09",
            "2026-11-22T20:06:09.Z",
            "2026-11-22",
            "",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_writes_fixed_width_and_reads_any_form() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Stamp {
            #[serde(with = "rfc3339_millis")]
            at: OffsetDateTime,
        }
        let stamp = Stamp {
            at: datetime!(2026-11-22 20:06:09.93 UTC),
        };
        let json = serde_json::to_string(&stamp).unwrap();
        assert_eq!(json, r#"{"at":"2026-11-22T20:06:09.930Z"}"#);
        assert_eq!(serde_json::from_str::<Stamp>(&json).unwrap(), stamp);
        let offset: Stamp =
            serde_json::from_str(r#"{"at":"2026-11-22T21:06:09.93+01:00"}"#).unwrap();
        assert_eq!(offset, stamp);
        assert!(serde_json::from_str::<Stamp>(r#"{"at":"yesterday"}"#).is_err());
    }
}
