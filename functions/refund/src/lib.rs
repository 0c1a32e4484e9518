//! The refund function: `POST /payments/{payment_id}/refunds` gives money of a succeeded payment
//! back, by its payee (who holds it): one debit of the payee's account and one credit of the
//! payer's source account, atomic, under an `Idempotency-Key` exactly as `POST /payments`.
//! `GET /payments/{payment_id}/refunds` lists a payment's refunds, oldest first, to either party.
//! A refund posted is counted once (`PaymentEvents`, `refunded`, its amount); a replay is not.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    Money, Payment, PaymentError, PaymentId, PaymentStatus,
    api::{
        ApiDeps, ApiError, Call, Route,
        idempotent::{Idempotent, answer_created, answer_replayed, idempotency_key},
        owned::{party_refunds, payment_as},
        request::{optional_json_body, positive_amount},
        response::json,
        serve,
        views::{ListView, RefundView},
    },
    auth::Scope,
    metrics::PaymentEvent,
    payment::Party,
    refund::{Refund, RefundReason},
    store::RefundOutcome,
};
use serde::{Deserialize, Serialize};

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "refund";

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Create(PaymentId),
    List(PaymentId),
}

const ROUTES: &[Route<Endpoint>] = &[
    Route::post(
        "/payments/{payment_id}/refunds",
        Scope::PaymentsWrite,
        |path| path.parse().map(Endpoint::Create),
    ),
    Route::get(
        "/payments/{payment_id}/refunds",
        Scope::PaymentsRead,
        |path| path.parse().map(Endpoint::List),
    ),
];

/// The create-refund body; no body at all is `{}`. Unknown fields are refused, so a typo never
/// refunds everything. Absent fields are left out of the canonical form, so `{}` and
/// `{"amount": null}` are one request to the idempotency fingerprint.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CreateRefund {
    /// Minor units; absent: all that is left to refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<RefundReason>,
}

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(
        deps,
        FUNCTION,
        req,
        ROUTES,
        async |call, endpoint| match endpoint {
            Endpoint::Create(id) => create(deps, call, id).await,
            Endpoint::List(id) => list(deps, call, id).await,
        },
    )
    .await
}

async fn create(deps: &ApiDeps, call: Call<'_>, id: PaymentId) -> Result<Response<Body>, ApiError> {
    let key = idempotency_key(call.req, &call.caller.client_id)?;
    let body: CreateRefund = optional_json_body(call.req)?.unwrap_or_default();
    let asked = body
        .amount
        .map(|n| positive_amount("amount", n))
        .transpose()?;
    let payment = payment_as(deps, &call.caller, id, Party::Payee).await?;
    let request = Idempotent::post(key, &format!("/payments/{id}/refunds"), &body)?;
    let amount = match asked {
        Some(amount) => amount,
        None => everything_left(&payment)?,
    };
    // Whether the payment is captured and has this much left is the store's to decide, in the
    // write, after it has looked for an earlier request under the same key: a retry of a refund
    // that took everything is answered as it was, not refused for what it took.
    let refund = Refund::new(
        payment.id,
        Money::new(amount, payment.amount.currency),
        body.reason,
        call.now,
    );
    let record = request.created(payment.id, &RefundView::from(&refund), call.now)?;
    match deps
        .store
        .create_refund(&payment, &refund, &record, call.now)
        .await?
    {
        RefundOutcome::Created { refund, .. } => {
            deps.metrics
                .payment_event(PaymentEvent::Refunded, refund.amount, call.now);
            Ok(answer_created(&record))
        }
        RefundOutcome::Replayed(first) => answer_replayed(first),
    }
}

/// What "everything left" means for `payment` as read.
///
/// A payment that has not succeeded has nothing to refund yet; and since no refund of it can
/// exist, no earlier request can be replayed for it: refused at once. The store is not asked,
/// since the payment may be captured meanwhile and "all" must not become an amount it never
/// named.
///
/// A succeeded payment with nothing left asks the store for one minor unit: captured and
/// refunded totals only grow towards each other, so the store refuses it with
/// `refund_exceeds_payment` (0 left), unless it is the retry of the refund that took the rest,
/// which it replays.
fn everything_left(payment: &Payment) -> Result<i64, ApiError> {
    if payment.status() != PaymentStatus::Succeeded {
        return Err(PaymentError::NotCaptured(payment.id).into());
    }
    Ok(payment.refundable().max(1))
}

async fn list(deps: &ApiDeps, call: Call<'_>, id: PaymentId) -> Result<Response<Body>, ApiError> {
    let (_, refunds) = party_refunds(deps, &call.caller, id).await?;
    json(
        StatusCode::OK,
        &ListView::<RefundView>::from(refunds.as_slice()),
    )
}
