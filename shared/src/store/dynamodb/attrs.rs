//! Attribute values in and out: the builders of string and number attributes, the fixed-width
//! timestamps and day names stored in them, and [`Reader`], which reads them back typed.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::{
    Date, OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description,
};

use crate::{Money, StoreError, money::parse_currency};

/// One stored item (or key), attribute name to value.
pub(crate) type Item = HashMap<String, AttributeValue>;

const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day]");

/// Attribute name prefix of the per-day remaining outflow: `out_20261122`.
const OUTFLOW_PREFIX: &str = "out_";

/// A string attribute (`S`).
pub(crate) fn attr_string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute (`N`) holding an integer: minor units, counts, epoch seconds.
pub(crate) fn attr_number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The stored text of a time: UTC, always three fractional digits, so that string order is time
/// order (keys and conditions compare them as strings).
pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    crate::timefmt::format_rfc3339_millis(t)
}

/// The attribute holding an account's remaining outflow budget of `day`.
pub(crate) fn outflow_attribute(day: Date) -> String {
    format!("{OUTFLOW_PREFIX}{}", day.format(DAY).unwrap_or_default())
}

/// The day an outflow attribute's name stands for, if `name` is one.
pub(crate) fn outflow_day(name: &str) -> Option<Date> {
    name.strip_prefix(OUTFLOW_PREFIX)
        .and_then(|day| Date::parse(day, DAY).ok())
}

/// Reads typed attributes out of an item, turning anything unexpected into a clear internal
/// error naming the attribute (corrupt data is a bug, never a client's problem).
pub(crate) struct Reader<'a>(pub &'a Item);

impl Reader<'_> {
    fn corrupt(&self, name: &str, why: &str) -> StoreError {
        StoreError::Internal(format!("stored item has {why} attribute `{name}`"))
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, StoreError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.corrupt(name, "a non-string")),
        }
    }

    pub fn str(&self, name: &str) -> Result<&str, StoreError> {
        self.opt_str(name)?.ok_or_else(|| self.corrupt(name, "no"))
    }

    pub fn i64(&self, name: &str) -> Result<i64, StoreError> {
        match self.0.get(name) {
            Some(AttributeValue::N(v)) => {
                v.parse().map_err(|_| self.corrupt(name, "an out-of-range"))
            }
            Some(_) => Err(self.corrupt(name, "a non-numeric")),
            None => Err(self.corrupt(name, "no")),
        }
    }

    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.str(name)?
            .parse()
            .map_err(|_| self.corrupt(name, "a malformed"))
    }

    pub fn time(&self, name: &str) -> Result<OffsetDateTime, StoreError> {
        crate::timefmt::parse_rfc3339(self.str(name)?)
            .map_err(|_| self.corrupt(name, "a malformed timestamp"))
    }

    pub fn enumerated<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        parse(self.str(name)?).ok_or_else(|| self.corrupt(name, "an unknown value in"))
    }

    pub fn money(&self, amount: &str) -> Result<Money, StoreError> {
        let currency = parse_currency(self.str("currency")?)
            .map_err(|_| self.corrupt("currency", "an unsupported"))?;
        Ok(Money::new(self.i64(amount)?, currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn timestamps_are_fixed_width() {
        assert_eq!(
            timestamp(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05.000Z"
        );
        assert_eq!(outflow_attribute(date!(2026 - 01 - 02)), "out_20260102");
        assert_eq!(outflow_day("out_20260102"), Some(date!(2026 - 01 - 02)));
        assert_eq!(outflow_day("owner"), None);
    }
}
