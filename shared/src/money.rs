//! Money: a signed count of the currency's minor units (cents, fen, yen) and an ISO 4217
//! currency. There are no floats anywhere: arithmetic is checked, currencies never mix, and the
//! number of minor units per major unit comes from the `iso_currency` tables, not from us.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use iso_currency::Currency;

/// Why an amount or a currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code that paygate settles")]
    UnsupportedCurrency(String),
    #[error("amounts in {expected} and {actual} cannot be combined")]
    CurrencyMismatch {
        expected: Currency,
        actual: Currency,
    },
    #[error("the amount must be a positive number of minor units")]
    NotPositive,
    #[error("the amount exceeds the maximum of {max} minor units for {currency}")]
    AboveMaximum { max: i64, currency: Currency },
    #[error("the result does not fit in 64-bit minor units")]
    Overflow,
    #[error("`{0}` is not a decimal amount with at most the currency's number of decimal places")]
    MalformedDecimal(String),
}

/// An amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (1 = one cent in USD, one yen in JPY).
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// `self + other`, refusing to mix currencies or overflow.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self - other`, refusing to mix currencies or overflow.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                actual: other.currency,
            })
        }
    }

    /// Parses a decimal amount in major units (`"12.34"` CNY is 1234 fen). At most as many
    /// decimal places as the currency has; no exponent notation, no grouping, no floats.
    ///
    /// # Errors
    /// [`MoneyError::MalformedDecimal`] or [`MoneyError::Overflow`].
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::MalformedDecimal(text.chars().take(40).collect());
        let exponent = exponent(currency);
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (digits.contains('.') && fraction.is_empty())
            || fraction.len() > exponent as usize
        {
            return Err(malformed());
        }
        // Accumulated with its sign, so that `i64::MIN` (one more than `i64::MAX` in
        // magnitude) parses like every amount that prints.
        let sign: i64 = if negative { -1 } else { 1 };
        let mut minor: i64 = 0;
        let padded = fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(exponent as usize);
        for digit in whole.bytes().chain(padded) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(sign * i64::from(digit - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        Ok(Money::new(minor, currency))
    }

    /// The amount in major units with exactly the currency's decimal places: `"-12.30"`, `"500"`.
    pub fn to_decimal_string(self) -> String {
        let exponent = exponent(self.currency) as usize;
        let sign = if self.amount < 0 { "-" } else { "" };
        let digits = self.amount.unsigned_abs().to_string();
        if exponent == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = exponent + 1);
        let (whole, fraction) = padded.split_at(padded.len() - exponent);
        format!("{sign}{whole}.{fraction}")
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency.code())
    }
}

/// Parses an upper-case ISO 4217 code of a currency that can settle payments: it has minor units
/// defined, and is neither a fund code, a special code (gold, SDR, test) nor superseded.
///
/// # Errors
/// [`MoneyError::UnsupportedCurrency`].
pub fn parse_currency(code: &str) -> Result<Currency, MoneyError> {
    let unsupported = || MoneyError::UnsupportedCurrency(code.chars().take(8).collect());
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(unsupported());
    }
    let currency = Currency::from_code(code).ok_or_else(unsupported)?;
    let settles = currency.exponent().is_some()
        && !currency.is_fund()
        && !currency.is_special()
        && currency.is_superseded().is_none();
    if settles {
        Ok(currency)
    } else {
        Err(unsupported())
    }
}

/// Minor units per major unit as a power of ten (2 for CNY, 0 for JPY, 3 for KWD).
pub fn exponent(currency: Currency) -> u32 {
    u32::from(currency.exponent().unwrap_or(0))
}

/// The configured bounds on a single payment amount, in *major* units so that one setting is
/// sensible for yen and for dinars alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountPolicy {
    pub max_major_units: i64,
}

impl Default for AmountPolicy {
    fn default() -> Self {
        Self {
            max_major_units: 1_000_000,
        }
    }
}

impl AmountPolicy {
    /// The largest accepted amount in `currency`'s minor units.
    pub fn max_minor(&self, currency: Currency) -> i64 {
        10_i64
            .checked_pow(exponent(currency))
            .and_then(|scale| self.max_major_units.checked_mul(scale))
            .unwrap_or(i64::MAX)
    }

    /// Validates a payment amount: strictly positive and at most the maximum.
    ///
    /// # Errors
    /// [`MoneyError::NotPositive`] or [`MoneyError::AboveMaximum`].
    pub fn amount(&self, minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        let max = self.max_minor(currency);
        if minor <= 0 {
            Err(MoneyError::NotPositive)
        } else if minor > max {
            Err(MoneyError::AboveMaximum { max, currency })
        } else {
            Ok(Money::new(minor, currency))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exponents_come_from_iso_4217() {
        assert_eq!(exponent(Currency::CNY), 2);
        assert_eq!(exponent(Currency::JPY), 0);
        assert_eq!(exponent(Currency::KWD), 3);
    }

    #[test]
    fn only_settling_currencies_parse() {
        assert_eq!(parse_currency("CNY"), Ok(Currency::CNY));
        for bad in ["cny", "XAU", "XTS", "XXX", "USN", "ABC", "", "CNYY"] {
            assert!(parse_currency(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_is_checked_and_currency_safe() {
        let cny = |a| Money::new(a, Currency::CNY);
        assert_eq!(cny(150).checked_add(cny(50)), Ok(cny(200)));
        assert_eq!(cny(50).checked_sub(cny(150)), Ok(cny(-100)));
        assert_eq!(cny(i64::MAX).checked_add(cny(1)), Err(MoneyError::Overflow));
        assert_eq!(cny(i64::MIN).checked_sub(cny(1)), Err(MoneyError::Overflow));
        assert_eq!(
            cny(1).checked_add(Money::new(1, Currency::USD)),
            Err(MoneyError::CurrencyMismatch {
                expected: Currency::CNY,
                actual: Currency::USD
            })
        );
    }

    #[test]
    fn policy_rejects_non_positive_and_oversized_amounts() {
        let policy = AmountPolicy {
            max_major_units: 1_000,
        };
        assert_eq!(
            policy.amount(100_000, Currency::CNY),
            Ok(Money::new(100_000, Currency::CNY))
        );
        assert_eq!(
            policy.amount(100_001, Currency::CNY),
            Err(MoneyError::AboveMaximum {
                max: 100_000,
                currency: Currency::CNY
            })
        );
        assert_eq!(policy.max_minor(Currency::JPY), 1_000);
        assert_eq!(
            policy.amount(0, Currency::CNY),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(
            policy.amount(-5, Currency::CNY),
            Err(MoneyError::NotPositive)
        );
        let huge = AmountPolicy {
            max_major_units: i64::MAX,
        };
        assert_eq!(huge.max_minor(Currency::CNY), i64::MAX);
    }

    #[test]
    fn decimal_strings_use_the_currency_exponent() {
        assert_eq!(Money::new(1234, Currency::CNY).to_decimal_string(), "12.34");
        assert_eq!(Money::new(-5, Currency::CNY).to_decimal_string(), "-0.05");
        assert_eq!(Money::new(500, Currency::JPY).to_decimal_string(), "500");
        assert_eq!(Money::new(1, Currency::KWD).to_string(), "0.001 KWD");
        assert_eq!(
            Money::parse_decimal("12.3", Currency::CNY),
            Ok(Money::new(1230, Currency::CNY))
        );
        assert_eq!(
            Money::parse_decimal("7", Currency::JPY),
            Ok(Money::new(7, Currency::JPY))
        );
        for bad in [
            "1.234", "1.", ".5", "1e3", "+1", "1,000", "", "-", "0x10", "1.5",
        ] {
            let currency = if bad == "1.5" {
                Currency::JPY
            } else {
                Currency::CNY
            };
            assert!(Money::parse_decimal(bad, currency).is_err(), "{bad}");
        }
        assert_eq!(
            Money::parse_decimal("92233720368547758.08", Currency::CNY),
            Err(MoneyError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn decimal_round_trips(amount in any::<i64>().prop_filter("i64::MIN has no positive twin", |a| *a != i64::MIN)) {
            for currency in [Currency::CNY, Currency::JPY, Currency::KWD] {
                let money = Money::new(amount, currency);
                prop_assert_eq!(Money::parse_decimal(&money.to_decimal_string(), currency), Ok(money));
            }
        }

        #[test]
        fn add_then_sub_is_identity_or_overflow(a in any::<i64>(), b in any::<i64>()) {
            let (a, b) = (Money::new(a, Currency::USD), Money::new(b, Currency::USD));
            match a.checked_add(b) {
                Ok(sum) => prop_assert_eq!(sum.checked_sub(b), Ok(a)),
                Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
            }
        }
    }
}
