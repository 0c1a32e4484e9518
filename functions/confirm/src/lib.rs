//! The confirm function: `POST /payments/{payment_id}/confirm` captures a pending payment
//! (double-entry, atomic); `POST /payments/{payment_id}/cancel` releases its hold. Both are
//! idempotent: confirming a succeeded payment, or canceling a canceled one, answers with it
//! unchanged.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    Payment, PaymentError, PaymentId, PaymentStatus, ReleaseReason, StoreError,
    api::{
        ApiDeps, ApiError, Call, Route, owned::owned_payment, response::json, serve,
        views::PaymentView,
    },
    auth::Scope,
};

/// Both routes take no body: one with a body is refused before its payment id is read.
const ROUTES: &[Route<(Intent, PaymentId)>] = &[
    Route::post(
        "/payments/{payment_id}/confirm",
        Scope::PaymentsWrite,
        |path| path.parse().map(|id| (Intent::Confirm, id)),
    )
    .without_body(),
    Route::post(
        "/payments/{payment_id}/cancel",
        Scope::PaymentsWrite,
        |path| path.parse().map(|id| (Intent::Cancel, id)),
    )
    .without_body(),
];

/// What the caller asked for: the final state it wants the payment in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Confirm,
    Cancel,
}

impl Intent {
    const fn target(self) -> PaymentStatus {
        match self {
            Self::Confirm => PaymentStatus::Succeeded,
            Self::Cancel => PaymentStatus::Canceled,
        }
    }
}

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, req, ROUTES, async |call, (intent, id)| {
        settle(deps, call, intent, id).await
    })
    .await
}

async fn settle(
    deps: &ApiDeps,
    call: Call<'_>,
    intent: Intent,
    id: PaymentId,
) -> Result<Response<Body>, ApiError> {
    let payment = owned_payment(deps, &call.caller, id).await?;
    let outcome = match payment.status() {
        PaymentStatus::Pending => match intent {
            Intent::Confirm => deps.store.capture(&payment, payment.amount, call.now).await,
            Intent::Cancel => {
                deps.store
                    .release(&payment, ReleaseReason::Canceled, call.now)
                    .await
            }
        },
        _ => Err(PaymentError::NotPending(Box::new(payment)).into()),
    };
    let settled = match outcome {
        Ok(settled) => settled,
        // Lost a race to, or retried after, the same request: the state it wanted is the answer.
        Err(StoreError::Payment(PaymentError::NotPending(current))) => {
            already_final(*current, intent)?
        }
        Err(other) => return Err(other.into()),
    };
    json(StatusCode::OK, &PaymentView::from(&settled))
}

/// A payment that is no longer pending: fine if it is where `intent` wanted it, otherwise the
/// conflict named precisely.
fn already_final(current: Payment, intent: Intent) -> Result<Payment, ApiError> {
    match current.status() {
        status if status == intent.target() => Ok(current),
        PaymentStatus::Expired => Err(PaymentError::Expired(current.id).into()),
        _ => Err(PaymentError::NotPending(Box::new(current)).into()),
    }
}
