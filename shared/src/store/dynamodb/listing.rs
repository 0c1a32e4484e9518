//! Listings on DynamoDB: a client's payments through the two party indexes, and a client's
//! accounts through the owner index; one `Query` per page each (see `docs/data-model.md`,
//! "Listing payments").
//!
//! A payment's index keys are its parties and `<created_at>#<payment id>`, none of which ever
//! change: only the put of the payment writes them ([`index_attributes`], called by
//! `payment_item`), and its status changes leave the index keys alone (the index projects the
//! whole item, so it sees the new status).

use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    DynamoStore,
    attrs::{Item, Reader, attr_string, timestamp},
    items::{account_from, payment_from},
    keys::{ACCOUNT_PK_PREFIX, listing_position, listing_sort_key},
    schema::{OWNER_INDEX, PAYEE_INDEX, PAYER_INDEX},
    tx::sdk_error,
};
use crate::{
    AccountKind, ClientId, Party, Payment, PaymentId, StoreError,
    listing::{AccountPage, AccountQuery, PaymentPage, PaymentPosition, PaymentQuery},
};

/// One party's index: its name, key attributes, and the attribute `account_id` filters.
struct Side {
    index: &'static str,
    party: &'static str,
    sort: &'static str,
    account: &'static str,
}

const PAYER: Side = Side {
    index: PAYER_INDEX,
    party: "payer",
    sort: "payer_sk",
    account: "source",
};
const PAYEE: Side = Side {
    index: PAYEE_INDEX,
    party: "payee",
    sort: "payee_sk",
    account: "destination",
};

impl Side {
    fn of(role: Party) -> &'static Side {
        match role {
            Party::Payer => &PAYER,
            Party::Payee => &PAYEE,
        }
    }
}

/// The attributes that put a payment in the party indexes. The system client (both parties of
/// every funding) is left out: nobody lists its payments, and one index partition taking every
/// funding would throttle the writes. (`payee` itself is also a plain payment attribute.)
pub(crate) fn index_attributes(payment: &Payment) -> Vec<(String, AttributeValue)> {
    let sort = listing_sort_key(PaymentPosition::of(payment));
    [(&PAYER, &payment.client_id), (&PAYEE, &payment.payee)]
        .into_iter()
        .filter(|(_, party)| !party.is_system())
        .flat_map(|(side, party)| {
            [
                (side.party.to_owned(), attr_string(party.as_str())),
                (side.sort.to_owned(), attr_string(sort.clone())),
            ]
        })
        .collect()
}

/// The sort-key range of a listing (inclusive), or `None` when it is empty. Keys are
/// `<created_at>#<id>` with fixed-width times, so `<from>` sorts before every key at or after
/// `from`, `<to>` after every key before `to`, and the key of the cursor's id minus one is the
/// last key strictly below the cursor.
fn sort_key_range(query: &PaymentQuery) -> Option<(String, String)> {
    let (from, to) = query.time_bounds();
    // Every key starts with a digit: "0" is below them all, "~" above.
    let low = from.map_or_else(|| "0".to_owned(), timestamp);
    let mut high = to.map_or_else(|| "~".to_owned(), timestamp);
    if let Some(cursor) = &query.after {
        let position = cursor.position;
        let below = match position.id.ulid().0.checked_sub(1) {
            Some(id) => listing_sort_key(PaymentPosition {
                id: PaymentId::from_ulid(ulid::Ulid(id)),
                ..position
            }),
            None => timestamp(position.created_at),
        };
        high = high.min(below);
    }
    // No key equals a bare timestamp, so `low == high` (`from == to`) is empty too.
    (low < high).then_some((low, high))
}

impl DynamoStore {
    /// One page of a client's payments: one `Query` of the party's index, newest first, the
    /// filters as a `FilterExpression`, `Limit` = the payments the page may examine.
    pub(crate) async fn list_payments(
        &self,
        query: &PaymentQuery,
    ) -> Result<PaymentPage, StoreError> {
        query.check_cursor()?;
        let Some((low, high)) = sort_key_range(query) else {
            return Ok(PaymentPage::empty());
        };
        let side = Side::of(query.role);
        let mut request = self
            .client
            .query()
            .table_name(self.transactions_table())
            .index_name(side.index)
            .key_condition_expression("#party = :client AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#party", side.party)
            .expression_attribute_names("#sk", side.sort)
            .expression_attribute_values(":client", attr_string(query.client.as_str()))
            .expression_attribute_values(":low", attr_string(low))
            .expression_attribute_values(":high", attr_string(high))
            .scan_index_forward(false)
            .limit(i32::try_from(query.examine_limit()).unwrap_or(i32::MAX));
        let mut filters = Vec::new();
        let mut statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        if !statuses.is_empty() {
            let mut placeholders = Vec::new();
            for (i, status) in statuses.into_iter().enumerate() {
                let placeholder = format!(":status{i}");
                request = request.expression_attribute_values(&placeholder, attr_string(status));
                placeholders.push(placeholder);
            }
            request = request.expression_attribute_names("#status", "status");
            filters.push(format!("#status IN ({})", placeholders.join(", ")));
        }
        if let Some(account) = query.account {
            request = request
                .expression_attribute_names("#account", side.account)
                .expression_attribute_values(":account", attr_string(account.to_string()));
            filters.push("#account = :account".to_owned());
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        let output = request.send().await.map_err(sdk_error)?;
        let matched = output
            .items
            .unwrap_or_default()
            .iter()
            .map(payment_from)
            .collect::<Result<Vec<_>, _>>()?;
        let more_after = output
            .last_evaluated_key
            .map(|key| last_position(&key, side))
            .transpose()?;
        Ok(PaymentPage::cut(query, matched, more_after))
    }

    /// One page of an owner's customer accounts: one `Query` of the owner index, in id order.
    pub(crate) async fn list_accounts(
        &self,
        owner: &ClientId,
        query: &AccountQuery,
    ) -> Result<AccountPage, StoreError> {
        query.check_cursor(owner)?;
        let (condition, bound) = match &query.after {
            Some(cursor) => (
                "#owner = :owner AND #pk > :bound",
                format!("{ACCOUNT_PK_PREFIX}{}", cursor.after),
            ),
            None => (
                "#owner = :owner AND begins_with(#pk, :bound)",
                ACCOUNT_PK_PREFIX.to_owned(),
            ),
        };
        let output = self
            .client
            .query()
            .table_name(self.accounts_table())
            .index_name(OWNER_INDEX)
            .key_condition_expression(condition)
            .filter_expression("#kind = :customer")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":owner", attr_string(owner.as_str()))
            .expression_attribute_values(":bound", attr_string(bound))
            .expression_attribute_values(":customer", attr_string(AccountKind::Customer.as_str()))
            .scan_index_forward(true)
            .limit(i32::try_from(query.page_size() + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk_error)?;
        let accounts = output
            .items
            .unwrap_or_default()
            .iter()
            .map(account_from)
            .collect::<Result<Vec<_>, _>>()?;
        let more_after = output
            .last_evaluated_key
            .map(|key| {
                Reader(&key)
                    .str("pk")?
                    .strip_prefix(ACCOUNT_PK_PREFIX)
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| StoreError::internal("the owner index returned a foreign key"))
            })
            .transpose()?;
        Ok(AccountPage::cut(owner, query, accounts, more_after))
    }
}

/// The position of the last payment a `Query` examined, from its `LastEvaluatedKey`.
fn last_position(key: &Item, side: &Side) -> Result<PaymentPosition, StoreError> {
    listing_position(Reader(key).str(side.sort)?).ok_or_else(|| {
        StoreError::internal(format!("the index {} returned a malformed key", side.index))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        AccountId, Money, NewPayment, PaymentStatus, listing::PaymentCursor, money::Currency,
        store::dynamodb::items::payment_item,
    };
    use time::{Duration, macros::datetime};

    fn payment(client: &str) -> Payment {
        let now = datetime!(2026-11-22 10:00:00.123 UTC);
        let new = NewPayment {
            client_id: client.parse().unwrap(),
            payee: "bob".parse().unwrap(),
            source: AccountId::generate(now),
            destination: AccountId::generate(now),
            amount: Money::new(250, Currency::CNY),
            description: None,
        };
        Payment::pending(new, now, Duration::minutes(15)).unwrap()
    }

    #[test]
    fn payments_carry_index_keys_that_settling_never_changes() {
        let p = payment("alice");
        let key = format!("2026-11-22T10:00:00.123Z#{}", p.id);
        let item = payment_item(&p);
        for (name, value) in [
            ("payer", "alice"),
            ("payee", "bob"),
            ("payer_sk", key.as_str()),
            ("payee_sk", key.as_str()),
        ] {
            assert_eq!(item.get(name), Some(&attr_string(value)), "{name}");
        }
        assert_eq!(listing_position(&key), Some(PaymentPosition::of(&p)));
        let settled = p
            .capture(
                Money::new(100, Currency::CNY),
                p.created_at + Duration::minutes(1),
            )
            .unwrap();
        assert_eq!(settled.status(), PaymentStatus::Succeeded);
        assert_eq!(index_attributes(&settled), index_attributes(&p));
    }

    #[test]
    fn fundings_stay_out_of_the_party_indexes() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let funding = Payment::funding(
            AccountId::generate(now),
            AccountId::generate(now),
            Money::new(5, Currency::CNY),
            now,
        );
        let item = payment_item(&funding);
        // Both parties are the system: an index holds an item only with both its keys.
        for key in ["payer", "payer_sk", "payee_sk"] {
            assert!(!item.contains_key(key), "{key}");
        }
    }

    #[test]
    fn key_ranges_follow_from_to_and_the_cursor() {
        let p = payment("alice");
        let mut q = PaymentQuery::first("alice".parse().unwrap(), Party::Payer);
        assert_eq!(sort_key_range(&q), Some(("0".into(), "~".into())));
        q.from = Some(p.created_at);
        q.to = Some(p.created_at + Duration::milliseconds(1));
        let (low, high) = sort_key_range(&q).unwrap();
        let key = listing_sort_key(PaymentPosition::of(&p));
        assert!(low < key && key < high, "{low} < {key} < {high}");
        q.after = Some(PaymentCursor::at(&q, PaymentPosition::of(&p)));
        let (_, below) = sort_key_range(&q).unwrap();
        assert!(
            below < key && below > low,
            "strictly below the cursor: {below}"
        );
        q.to = Some(p.created_at);
        assert_eq!(sort_key_range(&q), None, "to is exclusive");
    }
}
