//! The balance function: `GET /accounts/{account_id}/balance`, the posted and available
//! balances of one of the caller's accounts, in one DynamoDB read.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    AccountId,
    api::{ApiDeps, Route, owned::owned_account, response::json, serve, views::BalanceView},
    auth::Scope,
};

const ROUTES: &[Route<AccountId>] = &[Route::get(
    "/accounts/{account_id}/balance",
    Scope::AccountsRead,
    |path| path.parse(),
)];

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, req, ROUTES, async |call, id| {
        let account = owned_account(deps, &call.caller, id).await?;
        json(StatusCode::OK, &BalanceView::new(&account, call.now))
    })
    .await
}
