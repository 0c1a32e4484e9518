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
//! | endpoint    | transactions | `WEBHOOKS#<client>`              | `ENDPOINT#we_…`    |
//! | endpoints' count | transactions | `WEBHOOKS#<client>`         | `COUNT`            |
//!
//! A payment's place in the party indexes (`payments-by-payer`, `payments-by-payee`) is
//! `<created_at>#pay_…` ([`listing_sort_key`]).

use std::collections::HashMap;

use super::attrs::{Item, attr_string, timestamp};
use crate::{
    AccountId, ClientId, EntryId, IdempotencyKey, PaymentId, RefundId, WebhookEndpointId,
    listing::PaymentPosition, timefmt::parse_rfc3339,
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
