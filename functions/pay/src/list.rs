//! `GET /payments`: the caller's payments as payer (the default) or payee, newest first, a page
//! at a time, in one read of the store.
//!
//! Query: `role` (`payer` | `payee`), `status` (one or more payment statuses, comma-separated),
//! `account_id` (one of the caller's accounts, on the side `role` names), `from` (inclusive) and
//! `to` (exclusive) on `created_at`, RFC 3339, `limit` (1–100, default 20), `cursor` (from the
//! previous page, of the same query). Anything else is refused, each with a `400 invalid_query`
//! naming the parameter; a cursor of another query or client is `400 invalid_cursor`.
//!
//! With `status` or `account_id`, a page may hold fewer than `limit` payments, even none, and
//! still have `has_more: true` (the store examines a bounded stretch of the caller's payments per
//! page): a listing ends only when `next_cursor` is `null`.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    AccountId, PaymentStatus,
    api::{
        ApiDeps, ApiError, Call,
        owned::owned_account,
        query::QueryParams,
        response::json,
        views::{ListView, PaymentView},
    },
    listing::{PaymentCursor, PaymentQuery},
    payment::Party,
};

const PARAMETERS: [&str; 7] = [
    "role",
    "status",
    "account_id",
    "from",
    "to",
    "limit",
    "cursor",
];

pub(crate) async fn list(deps: &ApiDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = payment_query(call.req, &call)?;
    let page = deps.store.payments(&query).await?;
    // A page of payments is the caller's by the store's key (the caller as payer or payee), and
    // proves the account theirs. Only an empty page needs the account read, to tell the caller's
    // quiet account (200, empty) from another client's or a missing one (404, the same answer).
    if page.payments.is_empty()
        && let Some(account) = query.account
    {
        owned_account(deps, &call.caller, account).await?;
    }
    json(StatusCode::OK, &ListView::<PaymentView>::from(&page))
}

/// Reads and checks the query string.
///
/// # Errors
/// `invalid_query` naming the parameter, or `invalid_cursor`.
fn payment_query(req: &Request, call: &Call<'_>) -> Result<PaymentQuery, ApiError> {
    let params = QueryParams::read(req, &PARAMETERS)?;
    let mut query = PaymentQuery {
        client: call.caller.client_id.clone(),
        role: params.parsed("role", role)?.unwrap_or(Party::Payer),
        statuses: params.parsed("status", statuses)?.unwrap_or_default(),
        account: params.parsed("account_id", str::parse::<AccountId>)?,
        from: params.timestamp("from")?,
        to: params.timestamp("to")?,
        limit: params.limit(PaymentQuery::DEFAULT_LIMIT, PaymentQuery::MAX_LIMIT)?,
        after: None,
    };
    if let Some(cursor) = params.get("cursor") {
        query.after = Some(PaymentCursor::decode(cursor, &query)?);
    }
    Ok(query)
}

fn role(text: &str) -> Result<Party, String> {
    match text {
        "payer" => Ok(Party::Payer),
        "payee" => Ok(Party::Payee),
        other => Err(format!(
            "`{}` is not a role; expected payer or payee",
            other.chars().take(40).collect::<String>()
        )),
    }
}

/// `pending,succeeded`: each status once, in the order given.
fn statuses(text: &str) -> Result<Vec<PaymentStatus>, String> {
    let mut statuses = Vec::new();
    for part in text.split(',') {
        let status: PaymentStatus = part.parse().map_err(|_| {
            format!(
                "`{}` is not a payment status; expected one or more of {}, comma-separated",
                part.chars().take(40).collect::<String>(),
                PaymentStatus::SPELLINGS.join(", ")
            )
        })?;
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    Ok(statuses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_comma_separated_spellings() {
        assert_eq!(
            statuses("succeeded,pending,succeeded"),
            Ok(vec![PaymentStatus::Succeeded, PaymentStatus::Pending])
        );
        for bad in ["", "pending,", "Pending", "pending, canceled", "refunded"] {
            assert!(statuses(bad).is_err(), "{bad:?}");
        }
        assert_eq!(role("payee"), Ok(Party::Payee));
        assert!(role("PAYER").is_err());
    }
}
