//! The transactions function: `GET /accounts/{account_id}/transactions`, the ledger entries of
//! one of the caller's accounts, newest first, a page at a time.
//!
//! Query: `limit` (1–100, default 20), `cursor` (from the previous page; bound to this account),
//! `from` (inclusive) and `to` (exclusive), RFC 3339. Anything else is refused, so a typo such
//! as `limt=5` is an error rather than a silently ignored wish.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    AccountId, EntryCursor, EntryQuery,
    api::{
        ApiDeps, ApiError, Route, owned::owned_entries, query::QueryParams, response::json, serve,
        views::EntryPageView,
    },
    auth::Scope,
};

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "transactions";

const ROUTES: &[Route<AccountId>] = &[Route::get(
    "/accounts/{account_id}/transactions",
    Scope::AccountsRead,
    |path| path.parse(),
)];

const PARAMETERS: [&str; 4] = ["limit", "cursor", "from", "to"];

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, FUNCTION, req, ROUTES, async |call, account| {
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
    let params = QueryParams::read(req, &PARAMETERS)?;
    let mut query =
        EntryQuery::first(params.limit(EntryQuery::DEFAULT_LIMIT, EntryQuery::MAX_LIMIT)?);
    if let Some(cursor) = params.get("cursor") {
        query.after = Some(EntryCursor::decode(cursor, account)?.after);
    }
    query.from = params.timestamp("from")?;
    query.to = params.timestamp("to")?;
    Ok(query)
}
