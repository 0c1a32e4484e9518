//! What the routes answer: an endpoint without its secrets, the one answer that adds a secret,
//! events as delivered (with their deliveries on `GET /events/{id}`), a resend's receipt.

use paygate_shared::{
    EventId, WebhookEndpointId,
    api::ApiError,
    event::{AttemptOutcome, Delivery, DeliveryStatus, Event, EventType},
    timefmt::rfc3339_millis,
    webhook::{EndpointStatus, WebhookEndpoint, WebhookSecret},
};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// An endpoint as every answer shows it: never a secret.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EndpointView {
    pub id: WebhookEndpointId,
    pub object: &'static str,
    pub url: String,
    /// Empty: every type.
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub status: EndpointStatus,
    #[serde(with = "rfc3339_millis")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: OffsetDateTime,
}

impl From<&WebhookEndpoint> for EndpointView {
    fn from(e: &WebhookEndpoint) -> Self {
        Self {
            id: e.id,
            object: "webhook_endpoint",
            url: e.url.clone(),
            events: e.events.clone(),
            description: e.description.clone(),
            status: e.status,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// The answer that shows `secret`: the endpoint's view `body` (as serialised, and as an
/// idempotency record keeps it, without the secret) with `"secret"` added last. Built the same
/// way for the first answer and for its replay, so both are the same bytes.
///
/// # Errors
/// Internal, if `body` is not a JSON object's text.
pub(crate) fn with_secret(body: &str, secret: &WebhookSecret) -> Result<String, ApiError> {
    let open = body
        .strip_suffix('}')
        .filter(|rest| rest.starts_with('{') && rest.len() > 1)
        .ok_or_else(|| ApiError::internal("an endpoint view is not a JSON object"))?;
    let secret = serde_json::to_string(secret.expose()).map_err(ApiError::internal)?;
    Ok(format!("{open},\"secret\":{secret}}}"))
}

/// `DELETE /webhook_endpoints/{id}`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct DeletedView {
    pub id: WebhookEndpointId,
    pub object: &'static str,
    pub deleted: bool,
}

/// An event exactly as its endpoints receive it.
///
/// # Errors
/// Internal, if the stored body is not JSON.
pub(crate) fn event_view(event: &Event) -> Result<Value, ApiError> {
    serde_json::from_str(event.body()).map_err(ApiError::internal)
}

/// One delivery attempt: the status the endpoint answered, or what kept it from answering.
#[derive(Debug, Serialize)]
struct AttemptView {
    number: u32,
    #[serde(with = "rfc3339_millis")]
    at: OffsetDateTime,
    response_status: Option<u16>,
    error: Option<String>,
    manual: bool,
}

/// The delivery of an event to one endpoint.
#[derive(Debug, Serialize)]
struct DeliveryView {
    endpoint_id: WebhookEndpointId,
    status: DeliveryStatus,
    attempts: Vec<AttemptView>,
    next_attempt_at: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            endpoint_id: d.endpoint_id,
            status: d.status,
            attempts: d
                .attempts
                .iter()
                .map(|a| {
                    let (response_status, error) = match &a.outcome {
                        AttemptOutcome::Status(status) => (Some(*status), None),
                        AttemptOutcome::Error(error) => (None, Some(error.clone())),
                    };
                    AttemptView {
                        number: a.number,
                        at: a.at,
                        response_status,
                        error,
                        manual: a.manual,
                    }
                })
                .collect(),
            next_attempt_at: d
                .next_attempt_at
                .map(paygate_shared::timefmt::format_rfc3339_millis),
        }
    }
}

/// `GET /events/{id}`: the event as delivered, with `deliveries` (one per endpoint, in the
/// store's order).
///
/// # Errors
/// Internal, if the stored body is not a JSON object.
pub(crate) fn event_detail_view(event: &Event, deliveries: &[Delivery]) -> Result<Value, ApiError> {
    let mut view = event_view(event)?;
    let deliveries: Vec<DeliveryView> = deliveries.iter().map(DeliveryView::from).collect();
    let deliveries = serde_json::to_value(deliveries).map_err(ApiError::internal)?;
    view.as_object_mut()
        .ok_or_else(|| ApiError::internal("an event body is not a JSON object"))?
        .insert("deliveries".to_owned(), deliveries);
    Ok(view)
}

/// `POST /events/{id}/resend`'s receipt.
#[derive(Debug, Serialize)]
pub(crate) struct ResendView {
    pub object: &'static str,
    pub event_id: EventId,
    pub endpoint_id: Option<WebhookEndpointId>,
    #[serde(with = "rfc3339_millis")]
    pub requested_at: OffsetDateTime,
}
