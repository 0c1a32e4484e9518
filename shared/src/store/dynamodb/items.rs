//! Item mapping: the only place that knows how domain values are laid out as DynamoDB items
//! (their keys are in [`super::keys`], their attribute values in [`super::attrs`]).

use super::{
    attrs::{Item, Reader, attr_number, attr_string, outflow_attribute, outflow_day, timestamp},
    keys::listing_sort_key,
    keys::{
        account_key, account_pk, client_key, entry_sort_key, idempotency_key, payment_key,
        pending_shard_key,
    },
    schema::{PENDING_SHARDS, REVIEW_PARTITION, TTL_ATTRIBUTE},
};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::{
    Account, AccountKind, AccountLimits, AccountStatus, ClientId, Direction, Fingerprint,
    IdempotencyKey, IdempotencyRecord, LedgerEntry, Payment, PaymentKind, PaymentStatus,
    PostingMode, RiskAssessment, StoreError,
    account::DailyOutflow,
    client::{ClientRecord, ClientStatus, SecretHash},
    listing::PaymentPosition,
};

pub(crate) fn client_item(c: &ClientRecord) -> Item {
    let mut item = client_key(&c.client_id);
    item.extend([
        ("type".to_owned(), attr_string("client")),
        ("client_id".to_owned(), attr_string(c.client_id.as_str())),
        (
            "secret_hash".to_owned(),
            attr_string(c.secret_hash.as_str()),
        ),
        ("scopes".to_owned(), attr_string(c.scopes.join(" "))),
        ("status".to_owned(), attr_string(c.status.as_str())),
        (
            "created_at".to_owned(),
            attr_string(timestamp(c.created_at)),
        ),
    ]);
    if c.operator {
        item.insert("operator".to_owned(), AttributeValue::Bool(true));
    }
    if let Some(rules) = &c.risk {
        item.insert(
            "risk_rules".to_owned(),
            attr_string(rules.to_value().to_string()),
        );
    }
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
        operator: matches!(item.get("operator"), Some(AttributeValue::Bool(true))),
        risk: r
            .opt_str("risk_rules")?
            .map(crate::RiskRules::from_json)
            .transpose()
            .map_err(|e| StoreError::internal(format!("stored risk rules are malformed: {e}")))?,
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn account_item(a: &Account) -> Item {
    let mut item = account_key(a.id);
    item.extend([
        ("type".to_owned(), attr_string("account")),
        ("account_id".to_owned(), attr_string(a.id.to_string())),
        ("owner".to_owned(), attr_string(a.owner.as_str())),
        ("kind".to_owned(), attr_string(a.kind.as_str())),
        ("currency".to_owned(), attr_string(a.currency.code())),
        ("status".to_owned(), attr_string(a.status.as_str())),
        ("balance".to_owned(), attr_number(a.balance)),
        ("available".to_owned(), attr_number(a.available)),
        (
            "per_payment_limit".to_owned(),
            attr_number(a.limits.per_payment),
        ),
        (
            "daily_limit".to_owned(),
            attr_number(a.limits.daily_outflow),
        ),
        (
            "created_at".to_owned(),
            attr_string(timestamp(a.created_at)),
        ),
    ]);
    if let Some(head) = a.ledger_head {
        item.insert("ledger_head".to_owned(), attr_string(head.to_string()));
    }
    // Only batched accounts carry `posting`: it is the key of the sparse posting index.
    if a.posting == PostingMode::Batched {
        item.insert("posting".to_owned(), attr_string(a.posting.as_str()));
    }
    if let Some(outflow) = a.outflow {
        item.insert(
            outflow_attribute(outflow.day),
            attr_number(outflow.remaining),
        );
    }
    item
}

pub(crate) fn payment_item(p: &Payment) -> Item {
    let mut item = payment_key(p.id);
    item.extend([
        ("type".to_owned(), attr_string("payment")),
        ("payment_id".to_owned(), attr_string(p.id.to_string())),
        ("kind".to_owned(), attr_string(p.kind.as_str())),
        ("client_id".to_owned(), attr_string(p.client_id.as_str())),
        ("payee".to_owned(), attr_string(p.payee.as_str())),
        ("source".to_owned(), attr_string(p.source.to_string())),
        (
            "destination".to_owned(),
            attr_string(p.destination.to_string()),
        ),
        ("amount".to_owned(), attr_number(p.amount.amount)),
        ("amount_captured".to_owned(), attr_number(p.amount_captured)),
        ("amount_refunded".to_owned(), attr_number(p.amount_refunded)),
        ("currency".to_owned(), attr_string(p.amount.currency.code())),
        ("status".to_owned(), attr_string(p.status().as_str())),
        (
            "created_at".to_owned(),
            attr_string(timestamp(p.created_at)),
        ),
        (
            "expires_at".to_owned(),
            attr_string(timestamp(p.expires_at)),
        ),
        (
            "updated_at".to_owned(),
            attr_string(timestamp(p.updated_at)),
        ),
    ]);
    if let Some(description) = &p.description {
        item.insert("description".to_owned(), attr_string(description.clone()));
    }
    // Payments that risk control let through unremarked and without a review carry nothing
    // more, as payments stored before risk control did.
    if p.risk != RiskAssessment::allowed() {
        item.insert("risk".to_owned(), attr_string(json_text(&p.risk)));
    }
    if p.capture_on_approval {
        item.insert("capture_on_approval".to_owned(), AttributeValue::Bool(true));
    }
    if let Some(review) = &p.review {
        item.insert("review".to_owned(), attr_string(json_text(review)));
    }
    item.extend(super::listing::index_attributes(p));
    if p.status() == PaymentStatus::RequiresReview {
        // Only payments in review carry the sparse keys of the reviews index.
        item.insert("review_pk".to_owned(), attr_string(REVIEW_PARTITION));
        item.insert(
            "review_sk".to_owned(),
            attr_string(listing_sort_key(PaymentPosition::of(p))),
        );
    }
    if p.holds_funds() {
        // Only holds (pending, or in review) carry the sparse index keys the expiry sweep
        // reads.
        let shard = (p.id.ulid().0 % u128::from(PENDING_SHARDS)) as u32;
        item.insert("gsi1pk".to_owned(), attr_string(pending_shard_key(shard)));
        item.insert(
            "gsi1sk".to_owned(),
            attr_string(format!("{}#{}", timestamp(p.expires_at), p.id)),
        );
    }
    item
}

pub(crate) fn entry_item(e: &LedgerEntry) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), attr_string(account_pk(e.account_id))),
        ("sk".to_owned(), attr_string(entry_sort_key(e.id))),
        ("type".to_owned(), attr_string("entry")),
        ("entry_id".to_owned(), attr_string(e.id.to_string())),
        (
            "account_id".to_owned(),
            attr_string(e.account_id.to_string()),
        ),
        ("owner".to_owned(), attr_string(e.owner.as_str())),
        (
            "payment_id".to_owned(),
            attr_string(e.payment_id.to_string()),
        ),
        ("direction".to_owned(), attr_string(e.direction.as_str())),
        ("amount".to_owned(), attr_number(e.amount.amount)),
        ("currency".to_owned(), attr_string(e.amount.currency.code())),
        ("balance_after".to_owned(), attr_number(e.balance_after)),
        (
            "counterparty".to_owned(),
            attr_string(e.counterparty.to_string()),
        ),
        (
            "created_at".to_owned(),
            attr_string(timestamp(e.created_at)),
        ),
    ]);
    if let Some(refund) = e.refund_id {
        item.insert("refund_id".to_owned(), attr_string(refund.to_string()));
    }
    item
}

pub(crate) fn idempotency_item(r: &IdempotencyRecord) -> Item {
    let mut item = idempotency_key(&r.key);
    item.extend([
        ("type".to_owned(), attr_string("idempotency")),
        (
            "client_id".to_owned(),
            attr_string(r.key.client_id.as_str()),
        ),
        ("idempotency_key".to_owned(), attr_string(r.key.key.clone())),
        (
            "fingerprint".to_owned(),
            attr_string(r.fingerprint.0.clone()),
        ),
        (
            "payment_id".to_owned(),
            attr_string(r.payment_id.to_string()),
        ),
        (
            "response_status".to_owned(),
            attr_number(i64::from(r.response_status)),
        ),
        (
            "response_body".to_owned(),
            attr_string(r.response_body.clone()),
        ),
        (
            "created_at".to_owned(),
            attr_string(timestamp(r.created_at)),
        ),
        (
            "expires_at".to_owned(),
            attr_string(timestamp(r.expires_at)),
        ),
        // DynamoDB's TTL sweep deletes the item some time after this (epoch seconds).
        (
            TTL_ATTRIBUTE.to_owned(),
            attr_number(r.expires_at.unix_timestamp()),
        ),
    ]);
    item
}

pub(crate) fn account_from(item: &Item) -> Result<Account, StoreError> {
    let r = Reader(item);
    // Of the per-day outflow attributes, the newest day is the one that matters.
    let outflow = item
        .keys()
        .filter_map(|k| outflow_day(k).map(|day| (day, k)))
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
                StoreError::internal("stored item has a malformed attribute `ledger_head`")
            })?,
        posting: match r.opt_str("posting")? {
            None => PostingMode::Immediate,
            Some(_) => r.enumerated("posting", PostingMode::parse)?,
        },
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn payment_from(item: &Item) -> Result<Payment, StoreError> {
    let r = Reader(item);
    let amount = r.money("amount")?;
    let status = r.enumerated("status", PaymentStatus::parse)?;
    // Payments stored before partial captures and refunds: a succeeded one captured all it
    // held, none was refunded, and their payee was not recorded, so no client acts as it.
    let amount_captured = match r.0.get("amount_captured") {
        Some(_) => r.i64("amount_captured")?,
        None if status == PaymentStatus::Succeeded => amount.amount,
        None => 0,
    };
    let amount_refunded = match r.0.get("amount_refunded") {
        Some(_) => r.i64("amount_refunded")?,
        None => 0,
    };
    let payee = match r.opt_str("payee")? {
        Some(_) => r.parse("payee")?,
        None => ClientId::system(),
    };
    let mut payment = Payment::restore(
        r.parse("payment_id")?,
        r.enumerated("kind", PaymentKind::parse)?,
        r.parse("client_id")?,
        payee,
        r.parse("source")?,
        r.parse("destination")?,
        amount,
        amount_captured,
        amount_refunded,
        r.opt_str("description")?.map(str::to_owned),
        status,
        r.time("created_at")?,
        r.time("expires_at")?,
        r.time("updated_at")?,
    );
    if let Some(risk) = r.opt_str("risk")? {
        payment.risk = serde_json::from_str(risk)
            .map_err(|_| StoreError::internal("stored item has a malformed attribute `risk`"))?;
    }
    payment.capture_on_approval = matches!(
        item.get("capture_on_approval"),
        Some(AttributeValue::Bool(true))
    );
    if let Some(review) = r.opt_str("review")? {
        payment.review =
            Some(serde_json::from_str(review).map_err(|_| {
                StoreError::internal("stored item has a malformed attribute `review`")
            })?);
    }
    Ok(payment)
}

/// A value's JSON text (these are plain structs: serializing them cannot fail).
fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub(crate) fn entry_from(item: &Item) -> Result<LedgerEntry, StoreError> {
    let r = Reader(item);
    Ok(LedgerEntry {
        id: r.parse("entry_id")?,
        account_id: r.parse("account_id")?,
        owner: r.parse("owner")?,
        payment_id: r.parse("payment_id")?,
        refund_id: match r.opt_str("refund_id")? {
            None => None,
            Some(_) => Some(r.parse("refund_id")?),
        },
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
            .map_err(|_| StoreError::internal("stored response status out of range"))?,
        response_body: r.str("response_body")?.to_owned(),
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

#[cfg(test)]
#[path = "items_tests.rs"]
mod tests;
