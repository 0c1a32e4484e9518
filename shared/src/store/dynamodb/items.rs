//! Item mapping: the only place that knows how domain values are laid out as DynamoDB items.
//! Key shapes (see `docs/data-model.md`):
//!
//! | item        | table        | pk                               | sk                 |
//! |-------------|--------------|----------------------------------|--------------------|
//! | account     | accounts     | `ACCOUNT#acc_…`                  | —                  |
//! | client      | accounts     | `CLIENT#<client id>`             | —                  |
//! | payment     | transactions | `PAYMENT#pay_…`                  | `PAYMENT`          |
//! | entry       | transactions | `ACCOUNT#acc_…`                  | `ENTRY#txn_…`      |
//! | idempotency | transactions | `IDEMPOTENCY#<client>#<key>`     | `IDEMPOTENCY`      |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::{
    Date, OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description,
};

use super::schema::PENDING_SHARDS;
use crate::{
    Account, AccountId, AccountKind, AccountLimits, AccountStatus, ClientId, Direction, EntryId,
    Fingerprint, IdempotencyKey, IdempotencyRecord, LedgerEntry, Money, Payment, PaymentKind,
    PaymentStatus, StoreError,
    account::DailyOutflow,
    client::{ClientRecord, ClientStatus, SecretHash},
    money::parse_currency,
};

pub(crate) type Item = HashMap<String, AttributeValue>;

const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day]");

/// Attribute name prefix of the per-day remaining outflow: `out_20261122`.
pub(crate) const OUTFLOW_PREFIX: &str = "out_";

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Fixed-width UTC timestamps, so that string order is time order (keys and conditions compare
/// them as strings).
pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    crate::timefmt::format_rfc3339_millis(t)
}

pub(crate) fn outflow_attribute(day: Date) -> String {
    format!("{OUTFLOW_PREFIX}{}", day.format(DAY).unwrap_or_default())
}

/// The partition key of an account (and of its ledger entries).
pub(crate) fn account_pk(id: AccountId) -> String {
    format!("ACCOUNT#{id}")
}

/// The partition key of a payment.
pub(crate) fn payment_pk(id: crate::PaymentId) -> String {
    format!("PAYMENT#{id}")
}

/// The partition key of an idempotency record: the key, scoped to its client.
pub(crate) fn idempotency_pk(key: &IdempotencyKey) -> String {
    format!("IDEMPOTENCY#{}#{}", key.client_id, key.key)
}

pub(crate) fn account_key(id: AccountId) -> Item {
    HashMap::from([("pk".to_owned(), s(account_pk(id)))])
}

pub(crate) fn payment_key(id: crate::PaymentId) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(payment_pk(id))),
        ("sk".to_owned(), s("PAYMENT")),
    ])
}

pub(crate) fn idempotency_key(key: &IdempotencyKey) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(idempotency_pk(key))),
        ("sk".to_owned(), s("IDEMPOTENCY")),
    ])
}

pub(crate) fn entry_sort_key(id: EntryId) -> String {
    format!("ENTRY#{id}")
}

pub(crate) fn client_key(id: &ClientId) -> Item {
    HashMap::from([("pk".to_owned(), s(format!("CLIENT#{id}")))])
}

pub(crate) fn client_item(c: &ClientRecord) -> Item {
    let mut item = client_key(&c.client_id);
    item.extend([
        ("type".to_owned(), s("client")),
        ("client_id".to_owned(), s(c.client_id.as_str())),
        ("secret_hash".to_owned(), s(c.secret_hash.as_str())),
        ("scopes".to_owned(), s(c.scopes.join(" "))),
        ("status".to_owned(), s(c.status.as_str())),
        ("created_at".to_owned(), s(timestamp(c.created_at))),
    ]);
    item
}

pub(crate) fn client_from(item: &Item) -> Result<ClientRecord, StoreError> {
    let r = Reader(item);
    Ok(ClientRecord {
        client_id: r.parse("client_id")?,
        secret_hash: SecretHash::from_stored(r.str("secret_hash")?.to_owned()),
        scopes: r
            .str("scopes")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        status: r.enumerated("status", ClientStatus::parse)?,
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn account_item(a: &Account) -> Item {
    let mut item = account_key(a.id);
    item.extend([
        ("type".to_owned(), s("account")),
        ("account_id".to_owned(), s(a.id.to_string())),
        ("owner".to_owned(), s(a.owner.as_str())),
        ("kind".to_owned(), s(a.kind.as_str())),
        ("currency".to_owned(), s(a.currency.code())),
        ("status".to_owned(), s(a.status.as_str())),
        ("balance".to_owned(), n(a.balance)),
        ("available".to_owned(), n(a.available)),
        ("per_payment_limit".to_owned(), n(a.limits.per_payment)),
        ("daily_limit".to_owned(), n(a.limits.daily_outflow)),
        ("created_at".to_owned(), s(timestamp(a.created_at))),
    ]);
    if let Some(head) = a.ledger_head {
        item.insert("ledger_head".to_owned(), s(head.to_string()));
    }
    if let Some(outflow) = a.outflow {
        item.insert(outflow_attribute(outflow.day), n(outflow.remaining));
    }
    item
}

pub(crate) fn payment_item(p: &Payment) -> Item {
    let mut item = payment_key(p.id);
    item.extend([
        ("type".to_owned(), s("payment")),
        ("payment_id".to_owned(), s(p.id.to_string())),
        ("kind".to_owned(), s(p.kind.as_str())),
        ("client_id".to_owned(), s(p.client_id.as_str())),
        ("source".to_owned(), s(p.source.to_string())),
        ("destination".to_owned(), s(p.destination.to_string())),
        ("amount".to_owned(), n(p.amount.amount)),
        ("currency".to_owned(), s(p.amount.currency.code())),
        ("status".to_owned(), s(p.status().as_str())),
        ("created_at".to_owned(), s(timestamp(p.created_at))),
        ("expires_at".to_owned(), s(timestamp(p.expires_at))),
        ("updated_at".to_owned(), s(timestamp(p.updated_at))),
    ]);
    if let Some(description) = &p.description {
        item.insert("description".to_owned(), s(description.clone()));
    }
    if p.status() == PaymentStatus::Pending {
        // Only pending payments carry the sparse index keys the expiry sweep reads.
        let shard = (p.id.ulid().0 % u128::from(PENDING_SHARDS)) as u32;
        item.insert("gsi1pk".to_owned(), s(pending_shard_key(shard)));
        item.insert(
            "gsi1sk".to_owned(),
            s(format!("{}#{}", timestamp(p.expires_at), p.id)),
        );
    }
    item
}

pub(crate) fn pending_shard_key(shard: u32) -> String {
    format!("PENDING#{shard}")
}

pub(crate) fn entry_item(e: &LedgerEntry) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(account_pk(e.account_id))),
        ("sk".to_owned(), s(entry_sort_key(e.id))),
        ("type".to_owned(), s("entry")),
        ("entry_id".to_owned(), s(e.id.to_string())),
        ("account_id".to_owned(), s(e.account_id.to_string())),
        ("owner".to_owned(), s(e.owner.as_str())),
        ("payment_id".to_owned(), s(e.payment_id.to_string())),
        ("direction".to_owned(), s(e.direction.as_str())),
        ("amount".to_owned(), n(e.amount.amount)),
        ("currency".to_owned(), s(e.amount.currency.code())),
        ("balance_after".to_owned(), n(e.balance_after)),
        ("counterparty".to_owned(), s(e.counterparty.to_string())),
        ("created_at".to_owned(), s(timestamp(e.created_at))),
    ])
}

pub(crate) fn idempotency_item(r: &IdempotencyRecord) -> Item {
    let mut item = idempotency_key(&r.key);
    item.extend([
        ("type".to_owned(), s("idempotency")),
        ("client_id".to_owned(), s(r.key.client_id.as_str())),
        ("idempotency_key".to_owned(), s(r.key.key.clone())),
        ("fingerprint".to_owned(), s(r.fingerprint.0.clone())),
        ("payment_id".to_owned(), s(r.payment_id.to_string())),
        (
            "response_status".to_owned(),
            n(i64::from(r.response_status)),
        ),
        ("response_body".to_owned(), s(r.response_body.clone())),
        ("created_at".to_owned(), s(timestamp(r.created_at))),
        ("expires_at".to_owned(), s(timestamp(r.expires_at))),
        // DynamoDB's TTL sweep deletes the item some time after this (epoch seconds).
        (
            super::schema::TTL_ATTRIBUTE.to_owned(),
            n(r.expires_at.unix_timestamp()),
        ),
    ]);
    item
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

    fn enumerated<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        parse(self.str(name)?).ok_or_else(|| self.corrupt(name, "an unknown value in"))
    }

    fn money(&self, amount: &str) -> Result<Money, StoreError> {
        let currency = parse_currency(self.str("currency")?)
            .map_err(|_| self.corrupt("currency", "an unsupported"))?;
        Ok(Money::new(self.i64(amount)?, currency))
    }
}

pub(crate) fn account_from(item: &Item) -> Result<Account, StoreError> {
    let r = Reader(item);
    // Of the per-day outflow attributes, the newest day is the one that matters.
    let outflow = item
        .keys()
        .filter_map(|k| k.strip_prefix(OUTFLOW_PREFIX).map(|day| (day, k)))
        .filter_map(|(day, k)| Date::parse(day, DAY).ok().map(|d| (d, k)))
        .max_by_key(|(day, _)| *day)
        .map(|(day, k)| r.i64(k).map(|remaining| DailyOutflow { day, remaining }))
        .transpose()?;
    let balance = r.money("balance")?;
    Ok(Account {
        id: r.parse("account_id")?,
        owner: r.parse("owner")?,
        kind: r.enumerated("kind", AccountKind::parse)?,
        currency: balance.currency,
        status: r.enumerated("status", AccountStatus::parse)?,
        balance: balance.amount,
        available: r.i64("available")?,
        limits: AccountLimits {
            per_payment: r.i64("per_payment_limit")?,
            daily_outflow: r.i64("daily_limit")?,
        },
        outflow,
        ledger_head: r
            .opt_str("ledger_head")?
            .map(str::parse)
            .transpose()
            .map_err(|_| {
                StoreError::Internal("stored item has a malformed attribute `ledger_head`".into())
            })?,
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn payment_from(item: &Item) -> Result<Payment, StoreError> {
    let r = Reader(item);
    Ok(Payment::restore(
        r.parse("payment_id")?,
        r.enumerated("kind", PaymentKind::parse)?,
        r.parse("client_id")?,
        r.parse("source")?,
        r.parse("destination")?,
        r.money("amount")?,
        r.opt_str("description")?.map(str::to_owned),
        r.enumerated("status", PaymentStatus::parse)?,
        r.time("created_at")?,
        r.time("expires_at")?,
        r.time("updated_at")?,
    ))
}

pub(crate) fn entry_from(item: &Item) -> Result<LedgerEntry, StoreError> {
    let r = Reader(item);
    Ok(LedgerEntry {
        id: r.parse("entry_id")?,
        account_id: r.parse("account_id")?,
        owner: r.parse("owner")?,
        payment_id: r.parse("payment_id")?,
        direction: r.enumerated("direction", Direction::parse)?,
        amount: r.money("amount")?,
        balance_after: r.i64("balance_after")?,
        counterparty: r.parse("counterparty")?,
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn idempotency_from(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let r = Reader(item);
    let status = r.i64("response_status")?;
    Ok(IdempotencyRecord {
        key: IdempotencyKey {
            client_id: r.parse("client_id")?,
            key: r.str("idempotency_key")?.to_owned(),
        },
        fingerprint: Fingerprint(r.str("fingerprint")?.to_owned()),
        payment_id: r.parse("payment_id")?,
        response_status: u16::try_from(status)
            .map_err(|_| StoreError::Internal("stored response status out of range".into()))?,
        response_body: r.str("response_body")?.to_owned(),
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientId, NewPayment, PaymentId, money::Currency};
    use time::macros::{date, datetime};

    #[test]
    fn items_round_trip() {
        let now = datetime!(2026-11-22 10:00:00.123 UTC);
        let owner: ClientId = "alice".parse().unwrap();
        let limits = AccountLimits {
            per_payment: 500,
            daily_outflow: 900,
        };
        let mut account = Account::open(
            AccountId::generate(now),
            owner.clone(),
            Currency::CNY,
            limits,
            now,
        );
        account.outflow = Some(DailyOutflow {
            day: date!(2026 - 11 - 22),
            remaining: 400,
        });
        account.ledger_head = Some(EntryId::generate(now));
        assert_eq!(account_from(&account_item(&account)).unwrap(), account);

        let new = NewPayment {
            client_id: owner.clone(),
            source: account.id,
            destination: AccountId::generate(now),
            amount: Money::new(250, Currency::CNY),
            description: Some("lunch".into()),
        };
        let payment = Payment::pending(new, now, time::Duration::minutes(15)).unwrap();
        let item = payment_item(&payment);
        assert!(item.contains_key("gsi1pk"));
        assert_eq!(payment_from(&item).unwrap(), payment);
        assert!(!payment_item(&payment.capture(now).unwrap()).contains_key("gsi1pk"));

        let record = IdempotencyRecord {
            key: IdempotencyKey::new(owner, "k-1").unwrap(),
            fingerprint: Fingerprint::of(&[b"body"]),
            payment_id: PaymentId::generate(now),
            response_status: 201,
            response_body: "{}".into(),
            created_at: now,
            expires_at: now + crate::idempotency::RETENTION,
        };
        assert_eq!(
            idempotency_from(&idempotency_item(&record)).unwrap(),
            record
        );
    }

    #[test]
    fn timestamps_are_fixed_width() {
        assert_eq!(
            timestamp(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05.000Z"
        );
        assert_eq!(outflow_attribute(date!(2026 - 01 - 02)), "out_20260102");
    }
}
