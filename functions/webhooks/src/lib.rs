//! The webhooks function: a client's webhook endpoints and its events, all under the scope
//! `webhooks:manage` and owner-only (another client's endpoint or event answers exactly as a
//! missing one: the same 404 and body).
//!
//! | route | answers | round trips |
//! |-------|---------|-------------|
//! | `POST /webhook_endpoints` | 201 created view (with `secret`); replay: the same, `Idempotent-Replayed: true` | 1 (replay 2) |
//! | `GET /webhook_endpoints` | 200 list of views, oldest first, never a secret | 1 |
//! | `GET /webhook_endpoints/{endpoint_id}` | 200 view | 1 |
//! | `DELETE /webhook_endpoints/{endpoint_id}` | 200 `{"id","object":"webhook_endpoint","deleted":true}` | 1 |
//! | `POST /webhook_endpoints/{endpoint_id}/rotate_secret` | 200 view with the new `secret` | 2 |
//! | `GET /events?type=&limit=&cursor=` | 200 list of events, newest first, last 30 days | 1 |
//! | `GET /events/{event_id}` | 200 the event with `deliveries` | 1 |
//! | `POST /events/{event_id}/resend` `{"endpoint_id"?}` | 202 `event_resend` | 2 (3 naming an endpoint) |
//!
//! **Endpoint view** (`webhook_endpoint`): `{"id": "we_…", "object": "webhook_endpoint", "url",
//! "events": [types] (empty: every type), "description": string|null, "status": "enabled" |
//! "disabled", "created_at", "updated_at"}`. The create and rotate answers add `"secret":
//! "whsec_…"` (base64 of 32 bytes) last; nothing else ever shows a secret.
//!
//! **Create body** `{"url", "events"?: [types], "description"?}` (unknown fields refused), with an
//! `Idempotency-Key` header. `url`: `https` to a host whose addresses are all public (the local
//! gateway also allows `http` to loopback), at most 2048 bytes, no user info. `events`: at least
//! one known type when given (duplicates dropped); absent means every type. `description`: at
//! most 500 characters, no control characters. At most 16 endpoints per client.
//!
//! **Event view** (`event`): exactly the delivered body, `{"id": "evt_…", "object": "event",
//! "type", "created_at", "data": {"object": payment or refund view}}`. `GET /events/{id}` adds
//! `"deliveries": [{"endpoint_id", "status": "pending" | "delivered" | "failed", "attempts":
//! [{"number", "at", "response_status": int|null, "error": string|null, "manual": bool}],
//! "next_attempt_at": time|null}]`. Lists are `{"object": "list", "data", "has_more",
//! "next_cursor"}`.
//!
//! **Resend** answers 202 `{"object": "event_resend", "event_id", "endpoint_id": "we_…"|null,
//! "requested_at"}`: the notifier delivers the event again to that endpoint, or to every endpoint
//! of the caller subscribed to its type.
//!
//! **Problems** besides the pipeline's (401, 403 `insufficient_scope`, 404 `route_not_found`,
//! 400 `invalid_id` / `invalid_body` / `invalid_field` / `invalid_query` / `invalid_cursor`,
//! `idempotency_key_missing`, `invalid_idempotency_key`, 422 `idempotency_key_reused`, 409
//! `idempotency_key_in_use`): 404 `webhook_endpoint_not_found`, 404 `event_not_found`, 422
//! `too_many_webhook_endpoints`, 422 `webhook_url_not_allowed` (the detail names the rule, never
//! an address), 409 `too_many_secret_rotations` (4 secrets at most: the current one and those
//! rotated out within 24 hours), 409 `concurrent_update` (a rotation raced another).

mod endpoints;
mod events;
mod views;

use lambda_http::{Body, Request, Response};
use paygate_shared::{
    EventId, WebhookEndpointId,
    api::{Route, serve},
    auth::Scope,
    wiring::WebhookDeps,
};

/// What a matched route leads to.
#[derive(Debug, Clone, Copy)]
enum Action {
    Register,
    ListEndpoints,
    Show(WebhookEndpointId),
    Delete(WebhookEndpointId),
    RotateSecret(WebhookEndpointId),
    ListEvents,
    ShowEvent(EventId),
    Resend(EventId),
}

const MANAGE: Scope = Scope::WebhooksManage;

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "webhooks";

const ROUTES: &[Route<Action>] = &[
    Route::post("/webhook_endpoints", MANAGE, |_| Ok(Action::Register)),
    Route::get("/webhook_endpoints", MANAGE, |_| Ok(Action::ListEndpoints)),
    Route::get("/webhook_endpoints/{endpoint_id}", MANAGE, |path| {
        path.parse().map(Action::Show)
    }),
    Route::new(
        lambda_http::http::Method::DELETE,
        "/webhook_endpoints/{endpoint_id}",
        MANAGE,
        |path| path.parse().map(Action::Delete),
    )
    .without_body(),
    Route::post(
        "/webhook_endpoints/{endpoint_id}/rotate_secret",
        MANAGE,
        |path| path.parse().map(Action::RotateSecret),
    )
    .without_body(),
    Route::get("/events", MANAGE, |_| Ok(Action::ListEvents)),
    Route::get("/events/{event_id}", MANAGE, |path| {
        path.parse().map(Action::ShowEvent)
    }),
    Route::post("/events/{event_id}/resend", MANAGE, |path| {
        path.parse().map(Action::Resend)
    }),
];

/// Serves one request to any of the function's routes.
pub async fn handle(deps: &WebhookDeps, req: Request) -> Response<Body> {
    serve(
        &deps.api,
        FUNCTION,
        req,
        ROUTES,
        async |call, action| match action {
            Action::Register => endpoints::create(deps, call).await,
            Action::ListEndpoints => endpoints::list(deps, call).await,
            Action::Show(id) => endpoints::show(deps, call, id).await,
            Action::Delete(id) => endpoints::delete(deps, call, id).await,
            Action::RotateSecret(id) => endpoints::rotate(deps, call, id).await,
            Action::ListEvents => events::list(deps, call).await,
            Action::ShowEvent(id) => events::show(deps, call, id).await,
            Action::Resend(id) => events::resend(deps, call, id).await,
        },
    )
    .await
}
