//! The review function, for payments operators (clients flagged `operator`, whose tokens alone
//! may carry `risk:review`): `GET /reviews` lists the payments risk control sent to review,
//! across every client, oldest first; `POST /payments/{payment_id}/review` decides one:
//! `approve` makes it pending (or captures it at once, if it was created with `confirm: true`),
//! `decline` releases its hold. Each decision is atomic and happens once: a second one is
//! `409 payment_not_in_review`. An operator never reviews a payment it is a party to. An
//! approval that captures counts as `captured` (`PaymentEvents`), a review that came too late
//! and released the hold as `expired`; a decline is risk control's, not a payment event.

use lambda_http::{Body, Request, Response, http::StatusCode};
use paygate_shared::{
    ClientId, Payment, PaymentError, PaymentId, PaymentStatus, ReviewDecision, ReviewOutcome,
    StoreError,
    api::{
        ApiDeps, ApiError, Call, Route,
        query::QueryParams,
        request::json_body,
        response::json,
        serve,
        views::{ListView, PaymentView},
    },
    auth::Scope,
    listing::reviews::{MAX_REVIEW_PAGE, ReviewQuery, decode_review_cursor, encode_review_cursor},
    metrics::PaymentEvent,
};
use serde::{Deserialize, Serialize};

/// The function's binary name (the `Function` of its metrics).
const FUNCTION: &str = "review";

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    List,
    Decide(PaymentId),
}

const ROUTES: &[Route<Endpoint>] = &[
    Route::get("/reviews", Scope::RiskReview, |_| Ok(Endpoint::List)),
    Route::post("/payments/{payment_id}/review", Scope::RiskReview, |path| {
        path.parse().map(Endpoint::Decide)
    }),
];

/// Longest review note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
const DEFAULT_PAGE: u16 = 20;

/// The decision body. Unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decide {
    decision: ReviewDecision,
    #[serde(default)]
    note: Option<String>,
}

/// One payment in review, as an operator sees it: with both parties.
#[derive(Debug, Serialize)]
struct InReview {
    object: &'static str,
    payer: ClientId,
    payee: ClientId,
    payment: PaymentView,
}

impl From<&Payment> for InReview {
    fn from(payment: &Payment) -> Self {
        Self {
            object: "review",
            payer: payment.client_id.clone(),
            payee: payment.payee.clone(),
            payment: PaymentView::from(payment),
        }
    }
}

pub async fn handle(deps: &ApiDeps, req: Request) -> Response<Body> {
    serve(deps, FUNCTION, req, ROUTES, async |call, endpoint| {
        require_operator(deps, &call.caller.client_id).await?;
        match endpoint {
            Endpoint::List => list(deps, call).await,
            Endpoint::Decide(id) => decide(deps, call, id).await,
        }
    })
    .await
}

/// The scope is granted only to operators; the record is read again, so a client whose operator
/// flag was removed stops reviewing at once, not when its token expires.
async fn require_operator(deps: &ApiDeps, client: &ClientId) -> Result<(), ApiError> {
    match deps.store.client(client).await? {
        Some(record) if record.operator => Ok(()),
        _ => Err(ApiError::NotOperator),
    }
}

async fn list(deps: &ApiDeps, call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let params = QueryParams::read(call.req, &["limit", "cursor"])?;
    let query = ReviewQuery {
        limit: params.limit(DEFAULT_PAGE, MAX_REVIEW_PAGE)?,
        after: params.get("cursor").map(decode_review_cursor).transpose()?,
    };
    let page = deps.store.reviews(&query).await?;
    let data = page.payments.iter().map(InReview::from).collect();
    json(
        StatusCode::OK,
        &ListView::page(data, page.next.map(encode_review_cursor)),
    )
}

async fn decide(deps: &ApiDeps, call: Call<'_>, id: PaymentId) -> Result<Response<Body>, ApiError> {
    let body: Decide = json_body(call.req)?;
    if let Some(note) = &body.note
        && (note.chars().count() > MAX_NOTE_CHARS || note.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(
            "invalid_field",
            format!("`note`: at most {MAX_NOTE_CHARS} characters, without control characters"),
        ));
    }
    let reviewer = &call.caller.client_id;
    let payment = deps
        .store
        .payment(id)
        .await?
        .ok_or(PaymentError::NotFound(id))?;
    if &payment.client_id == reviewer || &payment.payee == reviewer {
        return Err(ApiError::OwnPayment(id));
    }
    let outcome = ReviewOutcome {
        decision: body.decision,
        note: body.note,
        reviewer: reviewer.clone(),
        reviewed_at: call.now,
    };
    let reviewed = match deps.store.review(&payment, &outcome, call.now).await {
        Ok(reviewed) => reviewed,
        // Too late: this review released the hold (one that found it released is refused
        // otherwise).
        Err(StoreError::Payment(PaymentError::Expired(id))) => {
            deps.metrics
                .payment_event(PaymentEvent::Expired, payment.amount, call.now);
            return Err(PaymentError::Expired(id).into());
        }
        Err(other) => return Err(other.into()),
    };
    if reviewed.status() == PaymentStatus::Succeeded {
        deps.metrics
            .payment_event(PaymentEvent::Captured, reviewed.captured_money(), call.now);
    }
    json(StatusCode::OK, &PaymentView::from(&reviewed))
}
