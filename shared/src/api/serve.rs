//! The request pipeline every authenticated endpoint shares: match the route, find the caller,
//! run the handler, map any error to a problem, write one log line.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use time::OffsetDateTime;

use super::{
    ApiError, Caller, RequestLog,
    request::{Route, match_route, request_id, route_path},
};
use crate::wiring::ApiDeps;

/// Counts the store's round trips (DynamoDB HTTP calls) for the log line.
pub type RoundTrips = Arc<dyn Fn() -> u64 + Send + Sync>;

/// One matched, authenticated request.
pub struct Call<'r> {
    pub req: &'r Request,
    /// Index into the routes given to [`serve`].
    pub route: usize,
    /// Captured path segments, in pattern order.
    pub params: Vec<String>,
    pub caller: Caller,
    pub now: OffsetDateTime,
}

/// One matched request, before anyone has said who is calling.
pub struct Matched<'r> {
    pub req: &'r Request,
    /// Index into the routes given to [`dispatch`].
    pub route: usize,
    /// Captured path segments, in pattern order.
    pub params: Vec<String>,
    /// The request's log line, for the handler to name the client once it knows it.
    pub log: &'r mut RequestLog,
}

/// The pipeline every endpoint shares: match the route, run `handler`, map any error to a
/// problem, write one log line (with the round trips spent, when they are counted).
pub async fn dispatch<H>(
    req: Request,
    routes: &[Route],
    round_trips: Option<&RoundTrips>,
    handler: H,
) -> Response<Body>
where
    H: AsyncFnOnce(Matched<'_>) -> Result<Response<Body>, ApiError>,
{
    let mut log = RequestLog::start(request_id(&req));
    let before = round_trips.map(|count| count());
    let outcome = async {
        let path = route_path(&req);
        let (route, params) =
            match_route(routes, req.method(), &path).ok_or_else(|| ApiError::NoRoute {
                method: req.method().to_string(),
                path: super::request::truncate(&path, 200),
            })?;
        log.route = routes[route].pattern;
        handler(Matched {
            req: &req,
            route,
            params,
            log: &mut log,
        })
        .await
    }
    .await;
    let spent = round_trips
        .zip(before)
        .map(|(count, before)| count() - before);
    log.finish(outcome, spent)
}

/// [`dispatch`] for the authenticated endpoints: the handler runs only for a known caller.
pub async fn serve<H>(deps: &ApiDeps, req: Request, routes: &[Route], handler: H) -> Response<Body>
where
    H: AsyncFnOnce(Call<'_>) -> Result<Response<Body>, ApiError>,
{
    dispatch(
        req,
        routes,
        deps.round_trips.as_ref(),
        async move |matched: Matched<'_>| {
            let now = deps.clock.now();
            let caller = deps.auth.caller(matched.req, now).await?;
            matched.log.client_id = Some(caller.client_id.to_string());
            let call = Call {
                req: matched.req,
                route: matched.route,
                params: matched.params,
                caller,
                now,
            };
            handler(call).await
        },
    )
    .await
}
