//! Risk control: rules a payments operator sets per client, and the explainable assessment of
//! each payment against them (`docs/risk.md`).
//!
//! - [`RiskRules`]: velocity limits per source account, thresholds that send a payment to
//!   review, and blocked accounts and payees. Parsed with a message naming the bad field.
//! - [`assess`]: a pure function of the payment, the rules and what the store knows (whether the
//!   payee is new to the source account): a decision (`allow`, `review`, `decline`), a score
//!   from 0 to 100 and the reasons behind both. No model, no hidden state.
//! - [`velocity`]: the counters that the hold's own atomic write moves, so that concurrent
//!   payments can never pass a velocity limit together.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::{AccountId, ClientId, Money, spelling::spelled};

pub mod control;
pub mod velocity;

pub use control::{RiskControl, RiskSettings};
pub use velocity::{VelocityExceeded, VelocityLimits, VelocityRule};

spelled! {
    /// What the rules decided about a payment.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Decision {
        /// Held (or captured) as asked.
        Allow => "allow",
        /// Held, and waiting for an operator (status `requires_review`).
        Review => "review",
        /// Refused, nothing held; kept with status `declined` for audit.
        Decline => "decline",
    }
}

spelled! {
    /// Why: the rule that decided, or a factor that added to the score.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum RiskReason {
        /// The source or destination account is in `blocked_accounts` (decline).
        BlockedAccounts => "blocked_accounts",
        /// The payee client is in `blocked_clients` (decline).
        BlockedClients => "blocked_clients",
        /// The amount is at or above `review_amount` (review).
        ReviewAmount => "review_amount",
        /// A first payment to this destination above `new_payee_max_amount` (review).
        NewPayeeMaxAmount => "new_payee_max_amount",
        /// Score factor: the source account has never paid this destination before.
        NewPayee => "new_payee",
        /// Score factor: the source account was opened less than 7 days ago.
        NewAccount => "new_account",
        /// Score factor: the amount is at least half of `review_amount`.
        LargeAmount => "large_amount",
    }
}

/// The assessment a payment carries (`risk` in its view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskAssessment {
    pub decision: Decision,
    /// 0 (nothing unusual) to 100; see [`assess`] for the formula.
    pub score: u8,
    /// The deciding rules first, then the score's factors.
    pub reasons: Vec<RiskReason>,
}

impl RiskAssessment {
    /// What payments made before risk control, and fundings, carry.
    pub fn allowed() -> Self {
        Self {
            decision: Decision::Allow,
            score: 0,
            reasons: Vec::new(),
        }
    }
}

/// What the store refuses on risk control's behalf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskError {
    #[error(transparent)]
    VelocityLimitExceeded(#[from] VelocityExceeded),
    /// The payment was assessed assuming the payee was known to the source account (or new to
    /// it), and it was not: nothing was written; assess again with `known`.
    #[error("the payee of the payment was {} to its source account", if *.known { "known" } else { "new" })]
    PayeeAssumption { known: bool },
}

/// A client's risk rules. A missing limit is no limit. Amounts are minor units of the payment's
/// currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payments_per_hour: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payments_per_day: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount_per_hour: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_payee_max_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub blocked_accounts: BTreeSet<AccountId>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub blocked_clients: BTreeSet<ClientId>,
}

/// Why a rules document was refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {why}")]
pub struct RiskRulesError {
    pub field: String,
    pub why: String,
}

/// The names of every rule, in documentation order.
pub const RULE_NAMES: &[&str] = &[
    "max_payments_per_hour",
    "max_payments_per_day",
    "max_amount_per_hour",
    "new_payee_max_amount",
    "review_amount",
    "blocked_accounts",
    "blocked_clients",
];

/// Score points, documented in `docs/risk.md`.
const AMOUNT_POINTS: i128 = 50;
const NEW_PAYEE_POINTS: u8 = 30;
const NEW_ACCOUNT_DAY_POINTS: u8 = 20;
const NEW_ACCOUNT_WEEK_POINTS: u8 = 10;

impl RiskRules {
    /// Parses a rules document (a JSON object of [`RULE_NAMES`]), naming the first bad field.
    ///
    /// # Errors
    /// Not an object, an unknown field, a limit that is not a positive integer, or an id that
    /// is not an account id (`blocked_accounts`) or client id (`blocked_clients`).
    pub fn from_value(value: &Value) -> Result<Self, RiskRulesError> {
        let object = value.as_object().ok_or_else(|| RiskRulesError {
            field: "(rules)".into(),
            why: "must be a JSON object of rules".into(),
        })?;
        let mut rules = Self::default();
        for (field, value) in object {
            let bad = |why: &str| RiskRulesError {
                field: field.clone(),
                why: why.to_owned(),
            };
            match field.as_str() {
                "max_payments_per_hour" => rules.max_payments_per_hour = positive(value, &bad)?,
                "max_payments_per_day" => rules.max_payments_per_day = positive(value, &bad)?,
                "max_amount_per_hour" => rules.max_amount_per_hour = positive(value, &bad)?,
                "new_payee_max_amount" => rules.new_payee_max_amount = positive(value, &bad)?,
                "review_amount" => rules.review_amount = positive(value, &bad)?,
                "blocked_accounts" => rules.blocked_accounts = ids(value, &bad)?,
                "blocked_clients" => rules.blocked_clients = ids(value, &bad)?,
                _ => {
                    return Err(bad(&format!(
                        "unknown rule; the rules are {}",
                        RULE_NAMES.join(", ")
                    )));
                }
            }
        }
        Ok(rules)
    }

    /// Parses a rules document given as JSON text.
    ///
    /// # Errors
    /// Not JSON, or [`RiskRules::from_value`]'s.
    pub fn from_json(text: &str) -> Result<Self, RiskRulesError> {
        let value: Value = serde_json::from_str(text).map_err(|e| RiskRulesError {
            field: "(rules)".into(),
            why: format!("not JSON: {e}"),
        })?;
        Self::from_value(&value)
    }

    /// The rules as a JSON object (what is stored and shown).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The velocity limits the hold's write enforces.
    pub fn velocity(&self) -> VelocityLimits {
        VelocityLimits {
            per_hour: self.max_payments_per_hour,
            per_day: self.max_payments_per_day,
            amount_per_hour: self.max_amount_per_hour,
        }
    }
}

fn positive(
    value: &Value,
    bad: &dyn Fn(&str) -> RiskRulesError,
) -> Result<Option<i64>, RiskRulesError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(bad("must be a positive integer (minor units or a count)")),
        },
        _ => Err(bad("must be a positive integer (minor units or a count)")),
    }
}

fn ids<T: std::str::FromStr + Ord>(
    value: &Value,
    bad: &dyn Fn(&str) -> RiskRulesError,
) -> Result<BTreeSet<T>, RiskRulesError>
where
    T::Err: std::fmt::Display,
{
    let Some(items) = value.as_array() else {
        return Err(bad("must be an array of ids"));
    };
    items
        .iter()
        .map(|item| {
            let text = item
                .as_str()
                .ok_or_else(|| bad("must be an array of ids"))?;
            text.parse()
                .map_err(|e: T::Err| bad(&format!("`{text}`: {e}")))
        })
        .collect()
}

/// What a payment is assessed on.
#[derive(Debug, Clone, Copy)]
pub struct RiskSubject<'a> {
    pub source: AccountId,
    pub destination: AccountId,
    pub payee: &'a ClientId,
    pub amount: Money,
}

/// Assesses a payment. Decline beats review beats allow:
///
/// - **decline** when the source or destination is in `blocked_accounts`, or the payee in
///   `blocked_clients`;
/// - **review** when the amount is at or above `review_amount`, or when `new_payee` and the
///   amount is above `new_payee_max_amount`;
/// - **allow** otherwise.
///
/// The score adds, capped at 100: the amount against `review_amount` (50 × amount ÷
/// review_amount, at most 50; 0 without a `review_amount`), 30 for a new payee, and 20 for a
/// source account opened in the last 24 hours (10 in the last 7 days; an account's age is read
/// from its id, a ULID stamped at its opening).
pub fn assess(
    rules: &RiskRules,
    subject: RiskSubject<'_>,
    new_payee: bool,
    now: OffsetDateTime,
) -> RiskAssessment {
    let mut reasons = Vec::new();
    let blocked_account = rules.blocked_accounts.contains(&subject.source)
        || rules.blocked_accounts.contains(&subject.destination);
    if blocked_account {
        reasons.push(RiskReason::BlockedAccounts);
    }
    if rules.blocked_clients.contains(subject.payee) {
        reasons.push(RiskReason::BlockedClients);
    }
    let amount = subject.amount.amount;
    let mut decision = if reasons.is_empty() {
        Decision::Allow
    } else {
        Decision::Decline
    };
    if rules.review_amount.is_some_and(|at| amount >= at) {
        reasons.push(RiskReason::ReviewAmount);
    }
    if new_payee && rules.new_payee_max_amount.is_some_and(|max| amount > max) {
        reasons.push(RiskReason::NewPayeeMaxAmount);
    }
    if decision == Decision::Allow && !reasons.is_empty() {
        decision = Decision::Review;
    }

    let mut score: u8 = 0;
    if let Some(reference) = rules.review_amount {
        let points =
            (i128::from(amount) * AMOUNT_POINTS / i128::from(reference)).clamp(0, AMOUNT_POINTS);
        score += u8::try_from(points).unwrap_or(50);
        if i128::from(amount) * 2 >= i128::from(reference) {
            reasons.push(RiskReason::LargeAmount);
        }
    }
    if new_payee {
        score += NEW_PAYEE_POINTS;
        reasons.push(RiskReason::NewPayee);
    }
    let age = account_age(subject.source, now);
    if age < Duration::days(7) {
        score += if age < Duration::days(1) {
            NEW_ACCOUNT_DAY_POINTS
        } else {
            NEW_ACCOUNT_WEEK_POINTS
        };
        reasons.push(RiskReason::NewAccount);
    }
    RiskAssessment {
        decision,
        score: score.min(100),
        reasons,
    }
}

/// How long ago the account was opened, from the time stamped in its id.
pub fn account_age(account: AccountId, now: OffsetDateTime) -> Duration {
    let opened_ms = i128::from(account.ulid().timestamp_ms());
    let now_ms = now.unix_timestamp_nanos() / 1_000_000;
    Duration::milliseconds(i64::try_from(now_ms - opened_ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
