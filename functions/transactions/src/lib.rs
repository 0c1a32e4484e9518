//! The transactions function: `GET /accounts/{account_id}/transactions`, the ledger entries of
//! one of the caller's accounts, newest first, a page at a time.
//!
//! Query: `limit` (1–100, default 20), `cursor` (from the previous page; bound to this account),
//! `from` (inclusive) and `to` (exclusive), RFC 3339. Anything else is refused, so a typo such
//! as `limt=5` is an error rather than a silently ignored wish.

use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use paygate_shared::{
    AccountId, EntryCursor, EntryQuery,
    api::{
        ApiDeps, ApiError, Route, owned::owned_entries, response::json, serve, views::EntryPageView,
    },
    auth::Scope,
    timefmt::parse_rfc3339,
};
use time::OffsetDateTime;

const ROUTES: &[Route<AccountId>] = &[Route::get(
    "/accounts/{account_id}/transactions",
    Scope::AccountsRead,
    |path| path.parse(),
)];

const PARAMETERS: [&str; 4] = ["limit", "cursor", "from", "to"];

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, req, ROUTES, async |call, account| {
        let query = entry_query(call.req, account)?;
        let page = owned_entries(deps, &call.caller, account, &query).await?;
        json(StatusCode::OK, &EntryPageView::from(&page))
    })
    .await
}

/// Reads and checks the query string.
///
/// # Errors
/// `invalid_query` naming the parameter, or `invalid_cursor`.
fn entry_query(req: &Request, account: AccountId) -> Result<EntryQuery, ApiError> {
    let mut query = EntryQuery::first(EntryQuery::DEFAULT_LIMIT);
    let Some(params) = req.query_string_parameters_ref() else {
        return Ok(query);
    };
    for (name, _) in params.iter() {
        if !PARAMETERS.contains(&name) {
            return Err(invalid(format!(
                "unknown query parameter `{}`; expected limit, cursor, from or to",
                name.chars().take(40).collect::<String>()
            )));
        }
        if params.all(name).is_some_and(|values| values.len() > 1) {
            return Err(invalid(format!("`{name}` may be given once")));
        }
    }
    if let Some(limit) = params.first("limit") {
        query.limit = limit
            .parse()
            .ok()
            .filter(|n| (1..=EntryQuery::MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                invalid(format!(
                    "`limit` must be an integer from 1 to {}",
                    EntryQuery::MAX_LIMIT
                ))
            })?;
    }
    if let Some(cursor) = params.first("cursor") {
        query.after = Some(EntryCursor::decode(cursor, account)?.after);
    }
    query.from = params
        .first("from")
        .map(|v| timestamp("from", v))
        .transpose()?;
    query.to = params.first("to").map(|v| timestamp("to", v)).transpose()?;
    Ok(query)
}

fn timestamp(name: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    parse_rfc3339(value).map_err(|_| {
        invalid(format!(
            "`{name}` must be an RFC 3339 timestamp, such as 2026-11-22T10:00:00Z"
        ))
    })
}

fn invalid(detail: String) -> ApiError {
    ApiError::invalid("invalid_query", detail)
}
