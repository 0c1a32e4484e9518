//! Key shapes: the only place that knows how items are addressed (see `docs/data-model.md`).
//!
//! | item        | table        | pk                               | sk                 |
//! |-------------|--------------|----------------------------------|--------------------|
//! | account     | accounts     | `ACCOUNT#acc_…`                  | —                  |
//! | client      | accounts     | `CLIENT#<client id>`             | —                  |
//! | payment     | transactions | `PAYMENT#pay_…`                  | `PAYMENT`          |
//! | refund      | transactions | `PAYMENT#pay_…`                  | `REFUND#re_…`      |
//! | entry       | transactions | `ACCOUNT#acc_…`                  | `ENTRY#txn_…`      |
//! | idempotency | transactions | `IDEMPOTENCY#<client>#<key>`     | `IDEMPOTENCY`      |
//! | event       | transactions | `EVENT#evt_…`                    | `EVENT`            |
//! | delivery    | transactions | `EVENT#evt_…`                    | `DELIVERY#we_…`    |
//! | resend      | transactions | `EVENT#evt_…`                    | `RESEND#<ULID>`    |
//! | endpoint    | transactions | `WEBHOOKS#<client>`              | `ENDPOINT#we_…`    |
//! | endpoints' count | transactions | `WEBHOOKS#<client>`         | `COUNT`            |
//! | unposted credit | transactions | `UNPOSTED#acc_…#<shard>`     | `CREDIT#<captured_at>#<pay_… or re_…>` |
//!
//! A payment's place in the party indexes (`payments-by-payer`, `payments-by-payee`) is
//! `<created_at>#pay_…` ([`listing_sort_key`]); an event's place in `events-by-recipient` is its
//! id (a ULID: time-ordered).

use std::collections::HashMap;

use super::attrs::{Item, attr_string, timestamp};
use super::schema::UNPOSTED_SHARDS;
use crate::{
    AccountId, ClientId, EntryId, EventId, IdempotencyKey, PaymentId, RefundId, WebhookEndpointId,
    listing::PaymentPosition,
    timefmt::parse_rfc3339,
    unposted::{CreditKey, CreditOf},
};

/// What every account's partition key starts with.
pub(crate) const ACCOUNT_PK_PREFIX: &str = "ACCOUNT#";

/// The partition key of an account (and of its ledger entries).
pub(crate) fn account_pk(id: AccountId) -> String {
    format!("{ACCOUNT_PK_PREFIX}{id}")
}

/// The partition key of a payment.
pub(crate) fn payment_pk(id: PaymentId) -> String {
    format!("PAYMENT#{id}")
}

/// The partition key of an idempotency record: the key, scoped to its client.
pub(crate) fn idempotency_pk(key: &IdempotencyKey) -> String {
    format!("IDEMPOTENCY#{}#{}", key.client_id, key.key)
}

/// The sort key of a ledger entry under its account's partition.
pub(crate) fn entry_sort_key(id: EntryId) -> String {
    format!("ENTRY#{id}")
}

/// The sort key of a refund under its payment's partition: refund ids are time-ordered, so
/// the partition lists refunds oldest first.
pub(crate) fn refund_sort_key(id: RefundId) -> String {
    format!("{REFUND_SORT_PREFIX}{id}")
}

/// The sort key prefix shared by all refunds of a payment.
pub(crate) const REFUND_SORT_PREFIX: &str = "REFUND#";

/// The partition key of an event (and of its delivery records and resend requests).
pub(crate) fn event_pk(id: EventId) -> String {
    format!("EVENT#{id}")
}

/// The sort key of an event under its own partition.
pub(crate) const EVENT_SORT_KEY: &str = "EVENT";

/// The sort key prefix of an event's delivery records (one per endpoint).
pub(crate) const DELIVERY_SORT_PREFIX: &str = "DELIVERY#";

/// The sort key prefix of an event's resend requests.
pub(crate) const RESEND_SORT_PREFIX: &str = "RESEND#";

/// The sort key of the delivery record of an event to `endpoint`.
pub(crate) fn delivery_sort_key(endpoint: WebhookEndpointId) -> String {
    format!("{DELIVERY_SORT_PREFIX}{endpoint}")
}

/// The partition key of one shard of an account's unposted credits.
pub(crate) fn unposted_pk(account: AccountId, shard: u32) -> String {
    format!("UNPOSTED#{account}#{shard}")
}

/// Where a credit is kept: the shard its id picks (ids end in random bits, so credits spread
/// evenly), and a sort key whose order is [`CreditKey`] order (fixed-width time, then id).
pub(crate) fn unposted_key(account: AccountId, key: &CreditKey) -> Item {
    let (ulid, id) = match key.of {
        CreditOf::Capture(payment) => (payment.ulid(), payment.to_string()),
        CreditOf::Refund(refund) => (refund.ulid(), refund.to_string()),
    };
    let shard = u32::try_from(ulid.0 % u128::from(UNPOSTED_SHARDS)).unwrap_or(0);
    HashMap::from([
        ("pk".to_owned(), attr_string(unposted_pk(account, shard))),
        (
            "sk".to_owned(),
            attr_string(format!("CREDIT#{}#{id}", timestamp(key.at))),
        ),
    ])
}

/// The partition key, in the pending-payments index, of one of its shards.
pub(crate) fn pending_shard_key(shard: u32) -> String {
    format!("PENDING#{shard}")
}

/// The sort key of a payment in the party indexes: fixed-width time, then id, so that key order
/// is listing order.
pub(crate) fn listing_sort_key(position: PaymentPosition) -> String {
    format!("{}#{}", timestamp(position.created_at), position.id)
}

/// The position a [`listing_sort_key`] stands for.
pub(crate) fn listing_position(key: &str) -> Option<PaymentPosition> {
    let (created_at, id) = key.split_once('#')?;
    Some(PaymentPosition::new(
        parse_rfc3339(created_at).ok()?,
        id.parse().ok()?,
    ))
}

pub(crate) fn account_key(id: AccountId) -> Item {
    HashMap::from([("pk".to_owned(), attr_string(account_pk(id)))])
}

pub(crate) fn payment_key(id: PaymentId) -> Item {
    HashMap::from([
        ("pk".to_owned(), attr_string(payment_pk(id))),
        ("sk".to_owned(), attr_string("PAYMENT")),
    ])
}

pub(crate) fn idempotency_key(key: &IdempotencyKey) -> Item {
    HashMap::from([
        ("pk".to_owned(), attr_string(idempotency_pk(key))),
        ("sk".to_owned(), attr_string("IDEMPOTENCY")),
    ])
}

pub(crate) fn delivery_key(event: EventId, endpoint: WebhookEndpointId) -> Item {
    HashMap::from([
        ("pk".to_owned(), attr_string(event_pk(event))),
        ("sk".to_owned(), attr_string(delivery_sort_key(endpoint))),
    ])
}

pub(crate) fn client_key(id: &ClientId) -> Item {
    HashMap::from([("pk".to_owned(), attr_string(format!("CLIENT#{id}")))])
}

/// The partition of a client's webhook endpoints and of their count.
pub(crate) fn webhooks_pk(owner: &ClientId) -> String {
    format!("WEBHOOKS#{owner}")
}

/// The sort key prefix of every endpoint in its owner's partition (ids are ULIDs: oldest first).
pub(crate) const ENDPOINT_SORT_PREFIX: &str = "ENDPOINT#";

pub(crate) fn endpoint_key(owner: &ClientId, id: WebhookEndpointId) -> Item {
    HashMap::from([
        ("pk".to_owned(), attr_string(webhooks_pk(owner))),
        (
            "sk".to_owned(),
            attr_string(format!("{ENDPOINT_SORT_PREFIX}{id}")),
        ),
    ])
}

/// The item counting an owner's live endpoints (`live`), updated in the same transaction as
/// each endpoint's creation and deletion.
pub(crate) fn endpoint_count_key(owner: &ClientId) -> Item {
    HashMap::from([
        ("pk".to_owned(), attr_string(webhooks_pk(owner))),
        ("sk".to_owned(), attr_string("COUNT")),
    ])
}
