//! Risk control's items: velocity counters and new-payee records, written in the hold's own
//! transaction.
//!
//! | item | table | pk | sk |
//! |---|---|---|---|
//! | hour counter | transactions | `VELOCITY#acc_…#H#<yyyymmddhh>` | `VELOCITY` |
//! | day counter | transactions | `VELOCITY#acc_…#D#<yyyymmdd>` | `VELOCITY` |
//! | payee record | transactions | `PAYEE#<source acc_…>#<destination acc_…>` | `PAYEE` |
//!
//! Counters carry the TTL attribute (two days after their window ends); payee records are kept.
//! Each counter's update is conditioned on its value before the write lying in the range the
//! plan ([`crate::risk::velocity::plan`]) chose; a failed condition returns the counter as it
//! is, and the next attempt plans from it. The last values seen are kept per sandbox as the next
//! hold's guess, so an account past 80 % of a limit does not pay a failed attempt per payment.

use std::{collections::HashMap, sync::Mutex};

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::{
    attrs::{Item, Reader, attr_number, attr_string, timestamp},
    expr::{Expr, put_new},
    schema::TTL_ATTRIBUTE,
    tx::{OldItem, Reasons, Role},
};
use crate::{
    AccountId, Payment, StoreError,
    risk::velocity::{Bound, Counts, VelocityLimits, VelocityPlan, VelocityRule, Windows},
    store::PayeeCheck,
};

/// Counters kept past their window, for the TTL sweep.
const COUNTER_RETENTION_DAYS: i64 = 2;
/// Guesses kept per sandbox before the cache starts over.
const MAX_GUESSES: usize = 10_000;

fn item_key(pk: String, sk: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), attr_string(pk)),
        ("sk".to_owned(), attr_string(sk)),
    ])
}

pub(crate) fn hour_counter_key(account: AccountId, windows: &Windows) -> Item {
    item_key(
        format!("VELOCITY#{account}#H#{}", windows.hour_key()),
        "VELOCITY",
    )
}

pub(crate) fn day_counter_key(account: AccountId, windows: &Windows) -> Item {
    item_key(
        format!("VELOCITY#{account}#D#{}", windows.day_key()),
        "VELOCITY",
    )
}

pub(crate) fn payee_key(source: AccountId, destination: AccountId) -> Item {
    item_key(format!("PAYEE#{source}#{destination}"), "PAYEE")
}

/// The partition key of an item key (what [`super::DynamoStore::batch_get`] answers by).
pub(crate) fn pk_of(key: &Item) -> String {
    match key.get("pk") {
        Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) => pk.clone(),
        _ => String::new(),
    }
}

/// The counters' writes for `plan`: the hour's item when an hourly limit is set, the day's when
/// a daily one is.
pub(crate) fn counter_writes(
    table: &str,
    account: AccountId,
    limits: &VelocityLimits,
    plan: &VelocityPlan,
    amount: i64,
    windows: &Windows,
) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
    let bound = |rule| {
        plan.bounds
            .iter()
            .find(|b: &&Bound| b.rule == rule)
            .copied()
    };
    let mut writes = Vec::new();
    if limits.counts_hour() {
        let expires = windows.hour + time::Duration::hours(1);
        let conditions = [
            bound(VelocityRule::MaxPaymentsPerHour).map(|b| range("#payments", ":p", b)),
            bound(VelocityRule::MaxAmountPerHour).map(|b| range("#amount", ":a", b)),
        ];
        writes.push((
            Role::HourCounter,
            counter_update(
                table,
                hour_counter_key(account, windows),
                amount,
                true,
                expires,
                &conditions,
            )?,
        ));
    }
    if limits.counts_day() {
        let expires = windows.day.midnight().assume_utc() + time::Duration::days(1);
        let conditions =
            [bound(VelocityRule::MaxPaymentsPerDay).map(|b| range("#payments", ":p", b))];
        writes.push((
            Role::DayCounter,
            counter_update(
                table,
                day_counter_key(account, windows),
                amount,
                false,
                expires,
                &conditions,
            )?,
        ));
    }
    Ok(writes)
}

/// A condition expression and the values of its placeholders.
type Condition = (String, Vec<(String, i64)>);

/// A condition that `attribute` (absent: 0) lies within the bound, and its values.
fn range(attribute: &str, prefix: &str, bound: Bound) -> Condition {
    let (lo, hi) = (format!("{prefix}lo"), format!("{prefix}hi"));
    if bound.lo <= 0 {
        (
            format!("(attribute_not_exists({attribute}) OR {attribute} <= {hi})"),
            vec![(hi, bound.hi)],
        )
    } else {
        (
            format!("{attribute} BETWEEN {lo} AND {hi}"),
            vec![(lo, bound.lo), (hi, bound.hi)],
        )
    }
}

fn counter_update(
    table: &str,
    key: Item,
    amount: i64,
    with_amount: bool,
    window_end: time::OffsetDateTime,
    conditions: &[Option<Condition>],
) -> Result<TransactWriteItem, StoreError> {
    let expire_at = window_end + time::Duration::days(COUNTER_RETENTION_DAYS);
    let mut expr = Expr::new()
        .value(":zero", attr_number(0))
        .value(":one", attr_number(1))
        .value(":expire_at", attr_number(expire_at.unix_timestamp()))
        .value(":window_end", attr_string(timestamp(window_end)))
        .alias("#ttl", TTL_ATTRIBUTE);
    let mut update = "SET #payments = if_not_exists(#payments, :zero) + :one, \
                      #ttl = :expire_at, #window_end = :window_end"
        .to_owned();
    if with_amount {
        expr = expr.value(":amount", attr_number(amount));
        update.push_str(", #amount = if_not_exists(#amount, :zero) + :amount");
    }
    let mut condition = Vec::new();
    for (text, values) in conditions.iter().flatten() {
        condition.push(text.clone());
        for (placeholder, value) in values {
            expr = expr.value(placeholder, attr_number(*value));
        }
    }
    // Every placeholder given must be used: a counter without a limit of its own has none.
    if condition.is_empty() {
        condition.push(":zero = :zero".to_owned());
    }
    expr.update(table, key, &update, &condition.join(" AND "))
}

/// The payee record's part in a hold, as the assessment assumed (none when unchecked).
pub(crate) fn payee_write(
    table: &str,
    payment: &Payment,
    check: PayeeCheck,
) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
    let key = payee_key(payment.source, payment.destination);
    let write = match check {
        PayeeCheck::Unchecked => return Ok(Vec::new()),
        PayeeCheck::Known => Expr::new().check(table, key, "attribute_exists(#pk)")?,
        PayeeCheck::New => {
            let mut item = key;
            item.extend([
                ("type".to_owned(), attr_string("payee")),
                ("source".to_owned(), attr_string(payment.source.to_string())),
                (
                    "destination".to_owned(),
                    attr_string(payment.destination.to_string()),
                ),
                (
                    "first_payment".to_owned(),
                    attr_string(payment.id.to_string()),
                ),
                (
                    "created_at".to_owned(),
                    attr_string(timestamp(payment.created_at)),
                ),
            ]);
            put_new(table, item)?
        }
    };
    Ok(vec![(Role::PayeeRecord, write)])
}

/// A check of the payee record as the assessment assumed it, writing nothing (a declined
/// payment's).
pub(crate) fn payee_check(
    table: &str,
    payment: &Payment,
    check: PayeeCheck,
) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
    let key = payee_key(payment.source, payment.destination);
    let condition = match check {
        PayeeCheck::Unchecked => return Ok(Vec::new()),
        PayeeCheck::Known => "attribute_exists(#pk)",
        PayeeCheck::New => "attribute_not_exists(#pk)",
    };
    Ok(vec![(
        Role::PayeeRecord,
        Expr::new().check(table, key, condition)?,
    )])
}

/// A counter item's values (a missing item counts 0).
fn counter_values(item: Option<&Item>) -> Result<(i64, i64), StoreError> {
    let Some(item) = item else {
        return Ok((0, 0));
    };
    let r = Reader(item);
    let get = |name: &str| match item.get(name) {
        Some(_) => r.i64(name),
        None => Ok(0),
    };
    Ok((get("payments")?, get("amount")?))
}

/// The counters as a batch read found them (by partition key).
pub(crate) fn counts_found(
    found: &HashMap<String, Item>,
    account: AccountId,
    windows: &Windows,
) -> Result<Counts, StoreError> {
    let hour = counter_values(found.get(&pk_of(&hour_counter_key(account, windows))))?;
    let day = counter_values(found.get(&pk_of(&day_counter_key(account, windows))))?;
    Ok(Counts {
        hour_payments: hour.0,
        hour_amount: hour.1,
        day_payments: day.0,
    })
}

/// The counters a cancelled hold reported as they are, over `guess`: `None` when no counter's
/// condition failed.
pub(crate) fn counts_reported(
    reasons: &Reasons,
    guess: Counts,
) -> Result<Option<Counts>, StoreError> {
    let old = |role| match reasons.condition_failed(role) {
        Some(OldItem::Existing(item)) => counter_values(Some(item)).map(Some),
        Some(OldItem::Missing) => Ok(Some((0, 0))),
        None => Ok(None),
    };
    let (hour, day) = (old(Role::HourCounter)?, old(Role::DayCounter)?);
    if hour.is_none() && day.is_none() {
        return Ok(None);
    }
    let mut counts = guess;
    if let Some((payments, amount)) = hour {
        counts.hour_payments = payments;
        counts.hour_amount = amount;
    }
    if let Some((payments, _)) = day {
        counts.day_payments = payments;
    }
    Ok(Some(counts))
}

/// The last counters seen per source account and window: the next hold's guess.
#[derive(Debug, Default)]
pub(crate) struct Guesses(Mutex<HashMap<(AccountId, Windows), Counts>>);

impl Guesses {
    pub fn get(&self, account: AccountId, windows: &Windows) -> Counts {
        self.0
            .lock()
            .ok()
            .and_then(|g| g.get(&(account, *windows)).copied())
            .unwrap_or_default()
    }

    pub fn set(&self, account: AccountId, windows: &Windows, counts: Counts) {
        if let Ok(mut guesses) = self.0.lock() {
            if guesses.len() >= MAX_GUESSES {
                guesses.clear();
            }
            guesses.insert((account, *windows), counts);
        }
    }
}
