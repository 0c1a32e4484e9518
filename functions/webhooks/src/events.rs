//! `/events`: the caller's events, newest first, kept 30 days (one read each), and resending one.
//! An event of another client, or one past its 30 days, answers exactly as a missing one.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    Event, EventId, WebhookEndpointId,
    api::{
        ApiError, Call, query::QueryParams, request::optional_json_body, response::json,
        views::ListView,
    },
    event::{Delivery, EVENT_RETENTION_DAYS, EventCursor, EventQuery, EventType},
    webhook::WebhookError,
    wiring::WebhookDeps,
};
use serde::Deserialize;
use time::Duration;

use crate::views::{ResendView, event_detail_view, event_view};

const PARAMETERS: [&str; 3] = ["type", "limit", "cursor"];
const DEFAULT_LIMIT: u16 = 20;
const MAX_LIMIT: u16 = 100;

pub(crate) async fn list(deps: &WebhookDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let query = event_query(call.req, &call)?;
    let page = deps.notifications.events(&query).await?;
    let data = page
        .events
        .iter()
        .map(event_view)
        .collect::<Result<Vec<_>, _>>()?;
    let next = page.next_cursor.as_ref().map(EventCursor::encode);
    json(StatusCode::OK, &ListView::page(data, next))
}

/// Reads and checks the query string: `type` (one or more types, comma-separated), `limit`
/// (1–100, default 20), `cursor` (from the previous page of the same query).
///
/// # Errors
/// `invalid_query` naming the parameter, or `invalid_cursor`.
fn event_query(req: &Request, call: &Call<'_>) -> Result<EventQuery, ApiError> {
    let params = QueryParams::read(req, &PARAMETERS)?;
    let mut query = EventQuery {
        recipient: call.caller.client_id.clone(),
        types: params.parsed("type", types)?.unwrap_or_default(),
        limit: params.limit(DEFAULT_LIMIT, MAX_LIMIT)?,
        after: None,
        now: call.now,
    };
    if let Some(cursor) = params.get("cursor") {
        query.after = Some(EventCursor::decode(cursor, &query)?);
    }
    Ok(query)
}

/// `payment.succeeded,refund.succeeded`: each type once, in the order given.
fn types(text: &str) -> Result<Vec<EventType>, String> {
    let mut types = Vec::new();
    for part in text.split(',') {
        let event_type = EventType::parse(part).ok_or_else(|| {
            format!(
                "`{}` is not an event type; expected one or more of {}, comma-separated",
                part.chars().take(40).collect::<String>(),
                EventType::SPELLINGS.join(", ")
            )
        })?;
        if !types.contains(&event_type) {
            types.push(event_type);
        }
    }
    Ok(types)
}

/// The caller's event `id` within its 30 days, with its deliveries: one read.
///
/// # Errors
/// `event_not_found` for a missing one, another client's, or one past retention.
async fn owned(
    deps: &WebhookDeps,
    call: &Call<'_>,
    id: EventId,
) -> Result<(Event, Vec<Delivery>), ApiError> {
    let oldest = call.now - Duration::days(EVENT_RETENTION_DAYS);
    match deps.notifications.event(id).await? {
        Some((event, deliveries))
            if event.recipient == call.caller.client_id && event.created_at >= oldest =>
        {
            Ok((event, deliveries))
        }
        _ => Err(WebhookError::EventNotFound(id).into()),
    }
}

pub(crate) async fn show(
    deps: &WebhookDeps,
    call: Call<'_>,
    id: EventId,
) -> Result<Response<Body>, ApiError> {
    let (event, deliveries) = owned(deps, &call, id).await?;
    json(StatusCode::OK, &event_detail_view(&event, &deliveries)?)
}

/// The resend body; none at all is `{}` (every subscribed endpoint).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resend {
    #[serde(default)]
    endpoint_id: Option<WebhookEndpointId>,
}

pub(crate) async fn resend(
    deps: &WebhookDeps,
    call: Call<'_>,
    id: EventId,
) -> Result<Response<Body>, ApiError> {
    let body: Resend = optional_json_body(call.req)?.unwrap_or_default();
    let (event, _) = owned(deps, &call, id).await?;
    if let Some(endpoint) = body.endpoint_id {
        // Only to one of the caller's own endpoints: another's is a missing one.
        deps.notifications
            .endpoint(&call.caller.client_id, endpoint)
            .await?
            .ok_or(WebhookError::NotFound(endpoint))?;
    }
    deps.notifications
        .request_resend(&event, body.endpoint_id, call.now)
        .await?;
    json(
        StatusCode::ACCEPTED,
        &ResendView {
            object: "event_resend",
            event_id: event.id,
            endpoint_id: body.endpoint_id,
            requested_at: call.now,
        },
    )
}
