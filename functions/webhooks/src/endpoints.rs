//! `/webhook_endpoints`: register (idempotent, at most 16 per client, the URL checked against
//! the SSRF rules), list, show, delete, rotate the signing secret. A secret is generated here,
//! shown in the create or rotate answer, and otherwise kept only sealed.

use lambda_http::{Body, Response, http::StatusCode};
use paygate_shared::{
    PaymentId, WebhookEndpointId,
    api::{
        ApiError, Call,
        idempotent::{Idempotent, answer_replayed, idempotency_key},
        request::json_body,
        response::{json, raw_json},
        views::ListView,
    },
    event::EventType,
    store::EndpointOutcome,
    webhook::{EndpointStatus, SealedSecret, WebhookEndpoint, WebhookError, WebhookSecret},
    wiring::WebhookDeps,
};
use serde::{Deserialize, Serialize};

use crate::views::{DeletedView, EndpointView, with_secret};

/// Longest accepted endpoint description, in characters (as a payment's).
const MAX_DESCRIPTION_CHARS: usize = 500;

/// The create body. Unknown fields are refused; absent ones stay out of the canonical form, so
/// the idempotency fingerprint does not depend on `null` versus absent.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CreateEndpoint {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    events: Option<Vec<EventType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// The event types of a create body: absent is every type (stored empty), a given list must
/// name at least one; repeats are dropped.
fn subscribed(events: Option<&[EventType]>) -> Result<Vec<EventType>, ApiError> {
    let Some(events) = events else {
        return Ok(Vec::new());
    };
    if events.is_empty() {
        return Err(ApiError::invalid(
            "invalid_field",
            "`events`: name at least one event type, or leave `events` out for every type",
        ));
    }
    let mut unique = Vec::with_capacity(events.len());
    for event in events {
        if !unique.contains(event) {
            unique.push(*event);
        }
    }
    Ok(unique)
}

fn check_description(description: Option<&str>) -> Result<(), ApiError> {
    match description {
        Some(text)
            if text.chars().count() > MAX_DESCRIPTION_CHARS
                || text.chars().any(char::is_control) =>
        {
            Err(ApiError::invalid(
                "invalid_field",
                format!(
                    "`description`: at most {MAX_DESCRIPTION_CHARS} characters, without control \
                     characters"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// `url` if the SSRF rules allow it: its form, then every address its host resolves to.
///
/// # Errors
/// `webhook_url_not_allowed` naming the rule broken (never the addresses).
async fn allowed_url(deps: &WebhookDeps, url: &str) -> Result<(), ApiError> {
    let refused = |e: &dyn std::fmt::Display| WebhookError::UrlNotAllowed(e.to_string());
    let checked = deps.policy.check(url).map_err(|e| refused(&e))?;
    deps.policy
        .resolve(&checked)
        .await
        .map_err(|e| refused(&e))?;
    Ok(())
}

pub(crate) async fn create(deps: &WebhookDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let owner = &call.caller.client_id;
    let key = idempotency_key(call.req, owner)?;
    let body: CreateEndpoint = json_body(call.req)?;
    let events = subscribed(body.events.as_deref())?;
    check_description(body.description.as_deref())?;
    let request = Idempotent::post(key, "/webhook_endpoints", &body)?;
    allowed_url(deps, &body.url).await?;

    let id = WebhookEndpointId::generate(call.now);
    let secret = WebhookSecret::generate();
    let endpoint = WebhookEndpoint {
        id,
        owner: owner.clone(),
        url: body.url,
        events,
        description: body.description,
        status: EndpointStatus::Enabled,
        secrets: vec![SealedSecret {
            sealed: deps.sealer.seal(&secret, id).map_err(ApiError::internal)?,
            created_at: call.now,
            expires_at: None,
        }],
        created_at: call.now,
        updated_at: call.now,
    };
    // The record keeps the answer without its secret; it names no payment (the nil id).
    let nothing_paid = PaymentId::from_ulid(ulid::Ulid::nil());
    let record = request.created(nothing_paid, &EndpointView::from(&endpoint), call.now)?;
    match deps
        .notifications
        .create_endpoint(&endpoint, &record, call.now)
        .await?
    {
        EndpointOutcome::Created(_) => Ok(raw_json(
            StatusCode::CREATED,
            with_secret(&record.response_body, &secret)?,
        )),
        EndpointOutcome::Replayed(mut first) => {
            let secret = created_secret(deps, &call, &first.response_body).await?;
            first.response_body = with_secret(&first.response_body, &secret)?;
            answer_replayed(first)
        }
    }
}

/// The secret the endpoint of a replayed creation was created with, opened from the endpoint
/// (the idempotency record never holds it). Its 24 hours outlast the record, rotations or not.
///
/// # Errors
/// `webhook_endpoint_not_found` when the endpoint was deleted since.
async fn created_secret(
    deps: &WebhookDeps,
    call: &Call<'_>,
    first_body: &str,
) -> Result<WebhookSecret, ApiError> {
    #[derive(Deserialize)]
    struct Created {
        id: WebhookEndpointId,
    }
    let Created { id } = serde_json::from_str(first_body).map_err(ApiError::internal)?;
    let endpoint = deps
        .notifications
        .endpoint(&call.caller.client_id, id)
        .await?
        .ok_or(WebhookError::NotFound(id))?;
    let initial = endpoint.initial_secret().ok_or_else(|| {
        ApiError::internal(format!("endpoint {id} no longer holds its first secret"))
    })?;
    deps.sealer
        .open(&initial.sealed, id)
        .map_err(ApiError::internal)
}

pub(crate) async fn list(deps: &WebhookDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let endpoints = deps
        .notifications
        .endpoints_of(&call.caller.client_id)
        .await?;
    let views = endpoints.iter().map(EndpointView::from).collect();
    json(StatusCode::OK, &ListView::page(views, None))
}

/// The caller's endpoint `id`.
///
/// # Errors
/// `webhook_endpoint_not_found` for a missing one or another client's: the same answer.
async fn owned(
    deps: &WebhookDeps,
    call: &Call<'_>,
    id: WebhookEndpointId,
) -> Result<WebhookEndpoint, ApiError> {
    Ok(deps
        .notifications
        .endpoint(&call.caller.client_id, id)
        .await?
        .ok_or(WebhookError::NotFound(id))?)
}

pub(crate) async fn show(
    deps: &WebhookDeps,
    call: Call<'_>,
    id: WebhookEndpointId,
) -> Result<Response<Body>, ApiError> {
    let endpoint = owned(deps, &call, id).await?;
    json(StatusCode::OK, &EndpointView::from(&endpoint))
}

pub(crate) async fn delete(
    deps: &WebhookDeps,
    call: Call<'_>,
    id: WebhookEndpointId,
) -> Result<Response<Body>, ApiError> {
    let deleted = deps
        .notifications
        .delete_endpoint(&call.caller.client_id, id, call.now)
        .await?;
    if !deleted {
        return Err(WebhookError::NotFound(id).into());
    }
    json(
        StatusCode::OK,
        &DeletedView {
            id,
            object: "webhook_endpoint",
            deleted: true,
        },
    )
}

pub(crate) async fn rotate(
    deps: &WebhookDeps,
    call: Call<'_>,
    id: WebhookEndpointId,
) -> Result<Response<Body>, ApiError> {
    let endpoint = owned(deps, &call, id).await?;
    let secret = WebhookSecret::generate();
    let sealed = deps.sealer.seal(&secret, id).map_err(ApiError::internal)?;
    let rotated = endpoint.rotated(sealed, call.now)?;
    let stored = deps.notifications.rotate_secret(&rotated, call.now).await?;
    let view = paygate_shared::api::response::json_text(&EndpointView::from(&stored))?;
    Ok(raw_json(StatusCode::OK, with_secret(&view, &secret)?))
}
