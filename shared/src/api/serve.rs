//! The request pipeline every endpoint shares: match the route, find the caller, check the
//! route's declared scope, read the path parameters, run the handler, map any error to a
//! problem, write one log line and record the request's DynamoDB round trips as the
//! `DynamoDbRoundTrips` metric of its function. Handlers receive their endpoint already chosen
//! and typed.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use time::OffsetDateTime;

use super::{
    ApiError, Caller, RequestLog,
    request::{request_id, route_path},
    route::{Public, Route, match_route},
};
use crate::{
    Clock,
    metrics::{Metrics, count_round_trips},
    wiring::ApiDeps,
};

/// Counts the store's round trips (DynamoDB HTTP calls) for the log line.
pub type RoundTrips = Arc<dyn Fn() -> u64 + Send + Sync>;

/// How a pipeline accounts for each request: the function's binary name (the metric's
/// `Function`), where its round trips are recorded and by which clock, and the store's counter
/// for the log line (none: not logged).
#[derive(Clone, Copy)]
pub struct Meter<'d> {
    pub function: &'static str,
    pub metrics: &'d Metrics,
    pub clock: &'d dyn Clock,
    pub round_trips: Option<&'d RoundTrips>,
}

impl ApiDeps {
    /// The meter of `function`'s requests, from these dependencies.
    pub fn meter(&self, function: &'static str) -> Meter<'_> {
        Meter {
            function,
            metrics: &self.metrics,
            clock: self.clock.as_ref(),
            round_trips: self.round_trips.as_ref(),
        }
    }
}

/// One authenticated request, whose caller holds the route's scope.
pub struct Call<'r> {
    pub req: &'r Request,
    pub caller: Caller,
    pub now: OffsetDateTime,
}

/// One request to a public route, before anyone has said who is calling.
pub struct Matched<'r> {
    pub req: &'r Request,
    /// The request's log line, for the handler to name the client once it knows it.
    pub log: &'r mut RequestLog,
}

/// The pipeline of the public routes: match the route, run `handler` with its endpoint, map any
/// error to a problem, write one log line (with the round trips spent, when they are counted)
/// and record the round trips as `meter` says.
pub async fn dispatch<E, H>(
    req: Request,
    routes: &[Route<E, Public>],
    meter: Meter<'_>,
    handler: H,
) -> Response<Body>
where
    H: AsyncFnOnce(Matched<'_>, E) -> Result<Response<Body>, ApiError>,
{
    logged(req, meter, async |req, log| {
        let (route, path) = find(routes, req, log)?;
        let endpoint = route.endpoint(req, &path)?;
        handler(Matched { req, log }, endpoint).await
    })
    .await
}

/// The pipeline of the authenticated routes: the handler runs only for a known caller holding
/// the route's scope, in this order: no route (404), no caller (401), no scope (403), then the
/// route's body rule and path parameters (400). `function` is the serving function's binary
/// name, as its round-trip metric names it.
pub async fn serve<E, H>(
    deps: &ApiDeps,
    function: &'static str,
    req: Request,
    routes: &[Route<E>],
    handler: H,
) -> Response<Body>
where
    H: AsyncFnOnce(Call<'_>, E) -> Result<Response<Body>, ApiError>,
{
    logged(req, deps.meter(function), async |req, log| {
        let (route, path) = find(routes, req, log)?;
        let now = deps.clock.now();
        let caller = deps.auth.caller(req, now).await?;
        log.client_id = Some(caller.client_id.to_string());
        caller.require(route.access)?;
        let endpoint = route.endpoint(req, &path)?;
        handler(Call { req, caller, now }, endpoint).await
    })
    .await
}

/// Runs `handle`, writes the request's one log line and records its round trips.
async fn logged<F>(req: Request, meter: Meter<'_>, handle: F) -> Response<Body>
where
    F: AsyncFnOnce(&Request, &mut RequestLog) -> Result<Response<Body>, ApiError>,
{
    let mut log = RequestLog::start(request_id(&req));
    let before = meter.round_trips.map(|count| count());
    let (outcome, counted) = count_round_trips(handle(&req, &mut log)).await;
    let spent = meter
        .round_trips
        .zip(before)
        .map(|(count, before)| count() - before);
    meter
        .metrics
        .round_trips(meter.function, counted, meter.clock.now());
    log.finish(outcome, spent)
}

/// The route of `req`, named in the log line.
fn find<'r, E, A>(
    routes: &'r [Route<E, A>],
    req: &Request,
    log: &mut RequestLog,
) -> Result<(&'r Route<E, A>, super::route::PathParams), ApiError> {
    let path = route_path(req);
    let (route, params) =
        match_route(routes, req.method(), &path).ok_or_else(|| ApiError::NoRoute {
            method: req.method().to_string(),
            path: super::request::truncate(&path, 200),
        })?;
    log.route = route.pattern;
    Ok((route, params))
}
