//! The confirm function: `POST /payments/{payment_id}/confirm` captures a pending payment, all
//! of it or, with `{"amount": n}`, part of it, releasing the rest of the hold in the same atomic
//! write; `POST /payments/{payment_id}/cancel` releases its hold. Only the payer may do either.
//! Both are idempotent: confirming a succeeded payment again (with no amount, or the amount it
//! captured), or canceling a canceled one, answers with it unchanged. Each change is counted
//! once (`PaymentEvents`): `captured`, `canceled`, or `expired` for a confirm that came too late
//! and released the hold; an unchanged answer counts nothing.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    Money, Payment, PaymentError, PaymentId, PaymentStatus, ReleaseReason, StoreError,
    api::{
        ApiDeps, ApiError, Call, Route,
        owned::payment_as,
        request::{optional_json_body, positive_amount},
        response::json,
        serve,
        views::PaymentView,
    },
    auth::Scope,
    metrics::PaymentEvent,
    payment::Party,
};
use serde::Deserialize;

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "confirm";

/// Cancel takes no body: one with a body is refused before its payment id is read. Confirm
/// takes an optional one.
const ROUTES: &[Route<(Action, PaymentId)>] = &[
    Route::post(
        "/payments/{payment_id}/confirm",
        Scope::PaymentsWrite,
        |path| path.parse().map(|id| (Action::Confirm, id)),
    ),
    Route::post(
        "/payments/{payment_id}/cancel",
        Scope::PaymentsWrite,
        |path| path.parse().map(|id| (Action::Cancel, id)),
    )
    .without_body(),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Confirm,
    Cancel,
}

/// The optional confirm body. Unknown fields are refused, so a typo never captures everything.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    /// Minor units to capture, 1 to the held amount; absent (or `null`): all of it.
    #[serde(default)]
    amount: Option<i64>,
}

/// What the caller asked for: the final state it wants the payment in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    /// Captured: `Some(n)` minor units of the hold, `None` all of it.
    Confirm(Option<i64>),
    Cancel,
}

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, FUNCTION, req, ROUTES, async |call, (action, id)| {
        let intent = match action {
            Action::Confirm => Intent::Confirm(capture_amount(call.req)?),
            Action::Cancel => Intent::Cancel,
        };
        settle(deps, call, intent, id).await
    })
    .await
}

/// The amount a confirm asks to capture, if it names one.
fn capture_amount(req: &Request) -> Result<Option<i64>, ApiError> {
    let body: Option<ConfirmBody> = optional_json_body(req)?;
    body.and_then(|b| b.amount)
        .map(|n| positive_amount("amount", n))
        .transpose()
}

async fn settle(
    deps: &ApiDeps,
    call: Call<'_>,
    intent: Intent,
    id: PaymentId,
) -> Result<Response<Body>, ApiError> {
    let payment = payment_as(deps, &call.caller, id, Party::Payer).await?;
    let held = payment.amount;
    let outcome = match (payment.status(), intent) {
        (PaymentStatus::Pending, Intent::Confirm(amount)) => {
            let amount = amount.map_or(payment.amount, |n| Money::new(n, payment.amount.currency));
            deps.store.capture(&payment, amount, call.now).await
        }
        // A payment in review can be withdrawn by its payer, but not confirmed until approved.
        (PaymentStatus::Pending | PaymentStatus::RequiresReview, Intent::Cancel) => {
            deps.store
                .release(&payment, ReleaseReason::Canceled, call.now)
                .await
        }
        _ => Err(PaymentError::NotPending(Box::new(payment)).into()),
    };
    let settled = match outcome {
        Ok(settled) => {
            let (event, amount) = match intent {
                Intent::Confirm(_) => (PaymentEvent::Captured, settled.captured_money()),
                Intent::Cancel => (PaymentEvent::Canceled, settled.amount),
            };
            deps.metrics.payment_event(event, amount, call.now);
            settled
        }
        // Lost a race to, or retried after, the same request: the state it wanted is the answer.
        Err(StoreError::Payment(PaymentError::NotPending(current))) => {
            already_final(*current, intent)?
        }
        // Too late: this confirm released the hold (one that found it released is NotPending).
        Err(StoreError::Payment(PaymentError::Expired(id))) => {
            deps.metrics
                .payment_event(PaymentEvent::Expired, held, call.now);
            return Err(PaymentError::Expired(id).into());
        }
        Err(other) => return Err(other.into()),
    };
    json(StatusCode::OK, &PaymentView::from(&settled))
}

/// A payment that is no longer pending: fine if it is where `intent` wanted it (for a confirm
/// naming an amount, captured by exactly that much), otherwise the conflict named precisely.
fn already_final(current: Payment, intent: Intent) -> Result<Payment, ApiError> {
    let wanted = match (intent, current.status()) {
        (Intent::Confirm(None), PaymentStatus::Succeeded)
        | (Intent::Cancel, PaymentStatus::Canceled) => true,
        (Intent::Confirm(Some(n)), PaymentStatus::Succeeded) => current.amount_captured == n,
        _ => false,
    };
    match current.status() {
        _ if wanted => Ok(current),
        PaymentStatus::Expired => Err(PaymentError::Expired(current.id).into()),
        _ => Err(PaymentError::NotPending(Box::new(current)).into()),
    }
}
