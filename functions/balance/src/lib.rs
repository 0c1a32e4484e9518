//! The balance function: `GET /accounts/{account_id}/balance`, the posted and available
//! balances of one of the caller's accounts and, for a batched account, what it has incoming
//! (one DynamoDB read for an immediate account; for a batched one the read, the credit shards'
//! queries and a second read, see `PostingStore::balance`); and `GET /accounts`, the
//! caller's accounts with their balances, a page at a time (`limit` 1–100, default 20, and
//! `cursor` from the previous page), in one read per page.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    AccountId,
    api::{
        ApiDeps, ApiError, Call, Route,
        owned::owned_balance,
        query::QueryParams,
        response::json,
        serve,
        views::{AccountView, BalanceView, ListView},
    },
    auth::Scope,
    listing::{AccountCursor, AccountQuery},
};

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    List,
    Balance(AccountId),
}

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "balance";

const ROUTES: &[Route<Endpoint>] = &[
    Route::get("/accounts", Scope::AccountsRead, |_| Ok(Endpoint::List)),
    Route::get(
        "/accounts/{account_id}/balance",
        Scope::AccountsRead,
        |path| path.parse().map(Endpoint::Balance),
    ),
];

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(
        deps,
        FUNCTION,
        req,
        ROUTES,
        async |call, endpoint| match endpoint {
            Endpoint::List => list(deps, call).await,
            Endpoint::Balance(id) => {
                let shown = owned_balance(deps, &call.caller, id).await?;
                json(StatusCode::OK, &BalanceView::new(&shown, call.now))
            }
        },
    )
    .await
}

async fn list(deps: &ApiDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let params = QueryParams::read(call.req, &["limit", "cursor"])?;
    let owner = &call.caller.client_id;
    let query = AccountQuery {
        limit: params.limit(AccountQuery::DEFAULT_LIMIT, AccountQuery::MAX_LIMIT)?,
        after: params
            .get("cursor")
            .map(|cursor| AccountCursor::decode(cursor, owner))
            .transpose()?,
    };
    let page = deps.store.accounts_of(owner, &query).await?;
    json(StatusCode::OK, &ListView::<AccountView>::from(&page))
}
