//! The pay function: `POST /payments` creates a payment holding the funds (or, with
//! `confirm: true`, captures at once); `GET /payments/{payment_id}` shows one to either of its
//! parties; `GET /payments` lists the caller's payments (see [`list`]).

mod list;

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    AccountError, AccountId, NewPayment, Payment, PaymentId, PaymentStatus, RiskError, StoreError,
    api::{
        ApiDeps, ApiError, Call, Route,
        idempotent::{Idempotent, answer_recorded, answer_replayed, idempotency_key},
        owned::party_payment,
        request::{json_body, request_id},
        response::json,
        serve,
        views::PaymentView,
    },
    auth::Scope,
    metrics::PaymentEvent,
    money::parse_currency,
    risk::{RiskSubject, assess},
    store::{PayeeCheck, PaymentOutcome, RiskWrite},
};
use serde::{Deserialize, Serialize};

/// What the pay function serves, one variant per route.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Create,
    List,
    Show(PaymentId),
}

const ROUTES: &[Route<Endpoint>] = &[
    Route::post("/payments", Scope::PaymentsWrite, |_| Ok(Endpoint::Create)),
    Route::get("/payments", Scope::PaymentsRead, |_| Ok(Endpoint::List)),
    Route::get("/payments/{payment_id}", Scope::PaymentsRead, |path| {
        path.parse().map(Endpoint::Show)
    }),
];

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "pay";

/// The `Idempotency-Key` request header and the replay marker response header.
pub use paygate_shared::api::idempotent::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};

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
    serve(
        deps,
        FUNCTION,
        req,
        ROUTES,
        async |call, endpoint| match endpoint {
            Endpoint::Create => create(deps, call).await,
            Endpoint::List => list::list(deps, call).await,
            Endpoint::Show(id) => show(deps, call, id).await,
        },
    )
    .await
}

async fn create(deps: &ApiDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let key = idempotency_key(call.req, &call.caller.client_id)?;
    let body: CreatePayment = json_body(call.req)?;
    let pending = validate(deps, &call, &body).await?;
    let request = Idempotent::post(key, "/payments", &body)?;
    let rules = deps
        .risk
        .rules(deps.store.as_ref(), &call.caller.client_id)
        .await?;
    // Assume the payee known (its record exists): true of nearly every payment, and checked in
    // the hold's write at no cost; a first payment to a payee is assessed again, once.
    let mut known = true;
    for _ in 0..3 {
        let subject = RiskSubject {
            source: pending.source,
            destination: pending.destination,
            payee: &pending.payee,
            amount: pending.amount,
        };
        let assessment = assess(&rules, subject, !known, call.now);
        let payment = pending
            .clone()
            .assessed(assessment, body.confirm, call.now)?;
        let payee = if known {
            PayeeCheck::Known
        } else {
            PayeeCheck::New
        };
        let declined = payment.status() == PaymentStatus::Declined;
        let record = if declined {
            let problem = ApiError::Declined {
                payment_id: payment.id,
                reasons: payment.risk.reasons.iter().map(|r| r.as_str()).collect(),
            }
            .to_problem(&request_id(call.req));
            let body = serde_json::to_string(&problem).map_err(ApiError::internal)?;
            request.answered(payment.id, StatusCode::UNPROCESSABLE_ENTITY, body, call.now)
        } else {
            request.created(payment.id, &PaymentView::from(&payment), call.now)?
        };
        let risk = RiskWrite {
            velocity: rules.velocity(),
            payee,
        };
        match deps
            .store
            .create_assessed_payment(&payment, &record, &risk, call.now)
            .await
        {
            Ok(PaymentOutcome::Created(_)) => {
                record_creation(deps, &payment, call.now);
                return answer_recorded(&record);
            }
            Ok(PaymentOutcome::Replayed(first)) => return answer_replayed(first),
            Err(StoreError::Risk(RiskError::PayeeAssumption { known: actual })) => {
                known = actual;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Records a payment just created (never a replay): its risk decision, and unless declined
/// its creation, with its capture when it was captured at once.
fn record_creation(deps: &ApiDeps, payment: &Payment, now: time::OffsetDateTime) {
    deps.metrics.risk_decision(&payment.risk, now);
    if payment.status() == PaymentStatus::Declined {
        return;
    }
    deps.metrics
        .payment_event(PaymentEvent::Created, payment.amount, now);
    if payment.status() == PaymentStatus::Succeeded {
        deps.metrics
            .payment_event(PaymentEvent::Captured, payment.captured_money(), now);
    }
}

/// Turns the body into a pending payment, its payee resolved as the destination's owner (the
/// store verifies it in the same write as the hold). Risk control then decides what it becomes.
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
    Ok(Payment::pending(new, call.now, ttl)?)
}

async fn show(deps: &ApiDeps, call: Call<'_>, id: PaymentId) -> Result<Response<Body>, ApiError> {
    let payment = party_payment(deps, &call.caller, id).await?;
    json(StatusCode::OK, &PaymentView::from(&payment))
}
