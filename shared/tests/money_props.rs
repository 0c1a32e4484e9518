//! Property tests for money: decimal parsing and printing, checked arithmetic, the amount
//! policy and currency codes, over every currency paygate settles. Each property is checked
//! against a wider-integer (`i128`) model, so "never wraps" means "errs exactly when the true
//! result leaves `i64`".
//!
//! Cases per property: proptest's default (256) or `PROPTEST_CASES`.

use std::sync::LazyLock;

use paygate_shared::{
    AmountPolicy, Currency, Money, MoneyError,
    money::{exponent, parse_currency},
};
use proptest::prelude::*;

/// Every currency that settles: all three-letter codes through `parse_currency`.
static SETTLING: LazyLock<Vec<Currency>> = LazyLock::new(|| {
    let letters = || b'A'..=b'Z';
    letters()
        .flat_map(|a| letters().flat_map(move |b| letters().map(move |c| [a, b, c])))
        .filter_map(|code| parse_currency(std::str::from_utf8(&code).ok()?).ok())
        .collect()
});

fn settling() -> impl Strategy<Value = Currency> {
    (0..SETTLING.len()).prop_map(|i| SETTLING[i])
}

fn scale(currency: Currency) -> i128 {
    10_i128.pow(exponent(currency))
}

/// What a decimal of `whole` and `fraction` digits should parse to: `None` when out of `i64`.
fn model(negative: bool, whole: &str, fraction: &str, currency: Currency) -> Option<i64> {
    let e = exponent(currency) as usize;
    let padded = format!("{fraction:0<e$}");
    let digits = format!("{whole}{padded}");
    let magnitude: i128 = digits.trim_start_matches('0').parse().unwrap_or(0);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

#[test]
fn the_settling_currencies_are_many_and_have_exponents_0_to_3() {
    assert!(
        SETTLING.len() > 140,
        "{} settling currencies",
        SETTLING.len()
    );
    for currency in SETTLING.iter() {
        assert!(exponent(*currency) <= 3, "{}", currency.code());
    }
    for code in ["JPY", "CNY", "KWD", "USD", "EUR"] {
        assert!(SETTLING.iter().any(|c| c.code() == code), "{code}");
    }
}

proptest! {
    #[test]
    fn printing_then_parsing_is_the_identity(amount in i64::MIN..=i64::MAX, currency in settling()) {
        let money = Money::new(amount, currency);
        prop_assert_eq!(Money::parse_decimal(&money.to_decimal_string(), currency), Ok(money));
    }

    #[test]
    fn parsing_a_canonical_decimal_then_printing_is_the_identity(
        negative in any::<bool>(),
        whole in "0|[1-9][0-9]{0,14}",
        fraction_digits in "[0-9]{3}",
        currency in settling(),
    ) {
        let e = exponent(currency) as usize;
        let fraction = &fraction_digits[..e];
        let mut text = if e == 0 { whole.clone() } else { format!("{whole}.{fraction}") };
        let is_zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
        if negative && !is_zero {
            text.insert(0, '-');
        }
        let parsed = Money::parse_decimal(&text, currency);
        prop_assert!(parsed.is_ok(), "{text}: {parsed:?}");
        prop_assert_eq!(parsed.map(Money::to_decimal_string), Ok(text));
    }

    #[test]
    fn parsing_agrees_with_the_wide_model_and_never_wraps(
        negative in any::<bool>(),
        whole in "[0-9]{1,24}",
        fraction in "[0-9]{0,3}",
        currency in settling(),
    ) {
        let e = exponent(currency) as usize;
        prop_assume!(fraction.len() <= e);
        let sign = if negative { "-" } else { "" };
        let text = if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") };
        let parsed = Money::parse_decimal(&text, currency);
        match model(negative, &whole, &fraction, currency) {
            Some(minor) => prop_assert_eq!(parsed, Ok(Money::new(minor, currency))),
            None => prop_assert_eq!(parsed, Err(MoneyError::Overflow)),
        }
    }

    #[test]
    fn more_fraction_digits_than_the_exponent_are_refused(
        whole in "[0-9]{1,10}",
        extra in 1_usize..6,
        digits in "[0-9]{9}",
        currency in settling(),
    ) {
        let places = exponent(currency) as usize + extra;
        let text = format!("{whole}.{}", &digits[..places]);
        prop_assert!(matches!(Money::parse_decimal(&text, currency), Err(MoneyError::MalformedDecimal(_))), "{}", text);
    }

    #[test]
    fn anything_but_digits_a_sign_and_one_point_is_refused(
        left in "[0-9]{0,6}",
        junk in prop::sample::select(vec!["e", "E", "+", ",", "_", " ", "\t", "0x", "..", "-", "١", "½", "∞", "NaN", "\u{0}"]),
        right in "[0-9]{0,6}",
        currency in settling(),
    ) {
        let text = format!("{left}{junk}{right}");
        let parsed = Money::parse_decimal(&text, currency);
        // A leading `-` on digits is a sign, not junk.
        prop_assume!(!(junk == "-" && left.is_empty() && !right.is_empty()));
        prop_assert!(matches!(parsed, Err(MoneyError::MalformedDecimal(_))), "{:?}: {:?}", text, parsed);
    }

    #[test]
    fn malformed_input_is_echoed_at_most_40_characters(text in "[a-z]{41,200}") {
        match Money::parse_decimal(&text, Currency::CNY) {
            Err(MoneyError::MalformedDecimal(echo)) => prop_assert_eq!(echo.chars().count(), 40),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn addition_and_subtraction_agree_with_the_wide_model(a in any::<i64>(), b in any::<i64>(), currency in settling()) {
        let (x, y) = (Money::new(a, currency), Money::new(b, currency));
        let expect = |wide: i128| i64::try_from(wide).map(|m| Money::new(m, currency)).map_err(|_| MoneyError::Overflow);
        prop_assert_eq!(x.checked_add(y), expect(i128::from(a) + i128::from(b)));
        prop_assert_eq!(x.checked_sub(y), expect(i128::from(a) - i128::from(b)));
        prop_assert_eq!(x.checked_add(y), y.checked_add(x));
        prop_assert_eq!(x.checked_sub(x), Ok(Money::zero(currency)));
    }

    #[test]
    fn currencies_never_mix_whatever_the_amounts(a in any::<i64>(), b in any::<i64>(), c1 in settling(), c2 in settling()) {
        prop_assume!(c1 != c2);
        let mismatch = Err(MoneyError::CurrencyMismatch { expected: c1, actual: c2 });
        prop_assert_eq!(Money::new(a, c1).checked_add(Money::new(b, c2)), mismatch.clone());
        prop_assert_eq!(Money::new(a, c1).checked_sub(Money::new(b, c2)), mismatch);
    }

    #[test]
    fn a_sum_of_many_either_is_exact_or_reports_overflow(amounts in prop::collection::vec(any::<i64>(), 1..40)) {
        let mut total = Ok(Money::zero(Currency::USD));
        let mut wide: i128 = 0;
        let mut overflowed = false;
        for a in &amounts {
            total = total.and_then(|t: Money| t.checked_add(Money::new(*a, Currency::USD)));
            wide += i128::from(*a);
            overflowed |= i64::try_from(wide).is_err();
            if overflowed {
                break;
            }
        }
        if overflowed {
            prop_assert_eq!(total, Err(MoneyError::Overflow));
        } else {
            prop_assert_eq!(total, Ok(Money::new(wide as i64, Currency::USD)));
        }
    }

    #[test]
    fn the_policy_accepts_exactly_1_to_the_maximum(
        minor in any::<i64>(),
        max_major in prop_oneof![1_i64..=10_000_000, Just(i64::MAX), any::<i64>().prop_map(i64::abs)],
        currency in settling(),
    ) {
        let policy = AmountPolicy { max_major_units: max_major };
        let max = i64::try_from(i128::from(max_major) * scale(currency)).unwrap_or(i64::MAX);
        prop_assert_eq!(policy.max_minor(currency), max);
        let expected = if minor <= 0 {
            Err(MoneyError::NotPositive)
        } else if minor > max {
            Err(MoneyError::AboveMaximum { max, currency })
        } else {
            Ok(Money::new(minor, currency))
        };
        prop_assert_eq!(policy.amount(minor, currency), expected);
    }

    #[test]
    fn only_exact_upper_case_codes_of_settling_currencies_parse(code in "[A-Za-z0-9 ]{0,5}") {
        match parse_currency(&code) {
            Ok(currency) => {
                prop_assert_eq!(currency.code(), code.as_str());
                prop_assert!(SETTLING.contains(&currency));
            }
            Err(MoneyError::UnsupportedCurrency(echo)) => {
                prop_assert!(echo.chars().count() <= 8);
                prop_assert!(!SETTLING.iter().any(|c| c.code() == code));
            }
            Err(other) => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn lower_case_codes_never_parse(index in 0..1000_usize) {
        let currency = SETTLING[index % SETTLING.len()];
        prop_assert!(parse_currency(&currency.code().to_lowercase()).is_err());
    }
}

#[test]
fn the_extremes_print_and_parse() {
    for amount in [i64::MIN, i64::MAX] {
        let money = Money::new(amount, Currency::CNY);
        let text = money.to_decimal_string();
        assert_eq!(
            Money::parse_decimal(&text, Currency::CNY),
            Ok(money),
            "{text}"
        );
    }
    assert_eq!(
        Money::new(i64::MIN, Currency::CNY).to_decimal_string(),
        "-92233720368547758.08"
    );
    assert_eq!(
        Money::parse_decimal("-92233720368547758.09", Currency::CNY),
        Err(MoneyError::Overflow)
    );
}
