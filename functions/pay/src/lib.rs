//! The pay function: `POST /payments` creates a payment holding the funds (or, with
//! `confirm: true`, captures at once); `GET /payments/{payment_id}` shows one to its owner.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    AccountError, AccountId, Fingerprint, IdempotencyKey, IdempotencyRecord, NewPayment, Payment,
    PaymentId,
    api::{
        ApiDeps, ApiError, Call, Route,
        owned::owned_payment,
        request::{header, json_body},
        response::{json, raw_json},
        serve,
        views::PaymentView,
    },
    auth::Scope,
    idempotency::RETENTION,
    money::parse_currency,
    store::PaymentOutcome,
};
use serde::{Deserialize, Serialize};

/// What the pay function serves, one variant per route.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Create,
    Show(PaymentId),
}

const ROUTES: &[Route<Endpoint>] = &[
    Route::post("/payments", Scope::PaymentsWrite, |_| Ok(Endpoint::Create)),
    Route::get("/payments/{payment_id}", Scope::PaymentsRead, |path| {
        path.parse().map(Endpoint::Show)
    }),
];

/// The `Idempotency-Key` request header and the replay marker response header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The create-payment body. Unknown fields are refused, so a typo never silently drops intent.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CreatePayment {
    source_account: AccountId,
    destination_account: AccountId,
    /// Minor units: an integer, never a float or a string.
    amount: i64,
    currency: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    confirm: bool,
}

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, req, ROUTES, async |call, endpoint| match endpoint {
        Endpoint::Create => create(deps, call).await,
        Endpoint::Show(id) => show(deps, call, id).await,
    })
    .await
}

async fn create(deps: &ApiDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let key = header(call.req.headers(), IDEMPOTENCY_KEY).ok_or_else(|| {
        ApiError::invalid(
            "idempotency_key_missing",
            "the Idempotency-Key header is required",
        )
    })?;
    let key = IdempotencyKey::new(call.caller.client_id.clone(), key)
        .map_err(|e| ApiError::invalid("invalid_idempotency_key", e.to_string()))?;
    let body: CreatePayment = json_body(call.req)?;
    let payment = validate(deps, &call, &body).await?;
    // Canonical re-serialisation: the same request in different whitespace or field order
    // fingerprints the same.
    let canonical = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    let fingerprint = Fingerprint::of(&[b"POST", b"/payments", &canonical]);
    let view = PaymentView::from(&payment);
    let response_body = serde_json::to_string(&view).map_err(ApiError::internal)?;
    let record = IdempotencyRecord {
        key,
        fingerprint,
        payment_id: payment.id,
        response_status: StatusCode::CREATED.as_u16(),
        response_body: response_body.clone(),
        created_at: call.now,
        expires_at: call.now + RETENTION,
    };
    match deps
        .store
        .create_payment(&payment, &record, call.now)
        .await?
    {
        PaymentOutcome::Created(_) => Ok(raw_json(StatusCode::CREATED, response_body)),
        PaymentOutcome::Replayed(first) => {
            let status = StatusCode::from_u16(first.response_status).map_err(ApiError::internal)?;
            let mut response = raw_json(status, first.response_body);
            response.headers_mut().insert(
                IDEMPOTENT_REPLAYED,
                "true".parse().map_err(|_| ApiError::internal("header"))?,
            );
            Ok(response)
        }
    }
}

/// Turns the body into a pending (or, with `confirm`, succeeded) payment, its payee resolved
/// as the destination's owner (the store verifies it in the same write as the hold).
async fn validate(
    deps: &ApiDeps,
    call: &Call<'_>,
    body: &CreatePayment,
) -> Result<Payment, ApiError> {
    let currency = parse_currency(&body.currency)
        .map_err(|e| ApiError::invalid("invalid_currency", format!("`currency`: {e}")))?;
    let amount = deps
        .payments
        .amounts
        .amount(body.amount, currency)
        .map_err(|e| ApiError::invalid("invalid_amount", format!("`amount`: {e}")))?;
    if let Some(description) = &body.description
        && (description.chars().count() > Payment::MAX_DESCRIPTION_CHARS
            || description.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(
            "invalid_field",
            format!(
                "`description`: at most {} characters, without control characters",
                Payment::MAX_DESCRIPTION_CHARS
            ),
        ));
    }
    // A missing destination is answered as the hold answers it: account_not_found.
    let payee = deps
        .store
        .account_owner(body.destination_account)
        .await?
        .ok_or(AccountError::NotFound(body.destination_account))?;
    let new = NewPayment {
        client_id: call.caller.client_id.clone(),
        payee,
        source: body.source_account,
        destination: body.destination_account,
        amount,
        description: body.description.clone(),
    };
    let ttl = time::Duration::try_from(deps.payments.pending_ttl).map_err(ApiError::internal)?;
    let pending = Payment::pending(new, call.now, ttl)?;
    Ok(if body.confirm {
        pending.capture(pending.amount, call.now)?
    } else {
        pending
    })
}

async fn show(deps: &ApiDeps, call: Call<'_>, id: PaymentId) -> Result<Response<Body>, ApiError> {
    let payment = owned_payment(deps, &call.caller, id).await?;
    json(StatusCode::OK, &PaymentView::from(&payment))
}
