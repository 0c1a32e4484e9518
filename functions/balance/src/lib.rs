//! The balance function: `GET /accounts/{account_id}/balance`, the posted and available
//! balances of one of the caller's accounts, in one DynamoDB read.

use lambda_http::{
    Body, Request, Response,
    http::{Method, StatusCode},
};
use paygate_shared::{
    api::{ApiDeps, Route, owned::owned_account, response::json, serve, views::BalanceView},
    auth::Scope,
};

const ROUTES: &[Route] = &[Route {
    method: Method::GET,
    pattern: "/accounts/{account_id}/balance",
}];

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, req, ROUTES, async |call| {
        call.caller.require(Scope::AccountsRead)?;
        let account = owned_account(deps, &call.caller, &call.params[0]).await?;
        json(StatusCode::OK, &BalanceView::new(&account, call.now))
    })
    .await
}
