//! Each area's errors keep their problem (status, code, title, detail) whether the domain, the
//! store or a handler raises them; infrastructure failures are answered generically.

use time::macros::{date, datetime};
use ulid::Ulid;

use super::*;
use crate::{
    Account, AccountId, AccountLimits, AccountStatus, ClientId, Currency, InvalidCursor, Money,
    Payment, PaymentId, ReleaseReason,
};

type Answer = (u16, &'static str, &'static str, String);

fn answer(error: impl Into<ApiError>) -> Answer {
    let problem = error.into().to_problem("req-1");
    (problem.status, problem.code, problem.title, problem.detail)
}

fn answer_of(status: u16, code: &'static str, title: &'static str, detail: &str) -> Answer {
    (status, code, title, detail.to_owned())
}

fn account() -> Account {
    let now = datetime!(2026-11-22 10:00 UTC);
    let limits = AccountLimits {
        per_payment: 500,
        daily_outflow: 800,
    };
    let id = AccountId::from_ulid(Ulid(7));
    let mut account = Account::open(id, alice(), Currency::CNY, limits, now);
    account.balance = 100;
    account.available = 100;
    account
}

fn alice() -> ClientId {
    "alice".parse().unwrap()
}

#[test]
fn a_rule_broken_in_the_domain_is_answered_as_the_store_answers_it() {
    let a = account();
    let day = date!(2026 - 11 - 22);
    let refused = a
        .check_hold(&alice(), Money::new(101, Currency::CNY), day)
        .unwrap_err();
    let expected = answer_of(
        422,
        "insufficient_funds",
        "Insufficient funds",
        &format!("account {} has 100 available, 101 requested", a.id),
    );
    assert_eq!(answer(refused.clone()), expected);
    assert_eq!(answer(StoreError::from(refused)), expected);
}

#[test]
fn every_account_rule_keeps_its_problem() {
    let a = account();
    let id = a.id;
    let cases = [
        (
            AccountError::NotFound(id),
            answer_of(
                404,
                "account_not_found",
                "Account not found",
                &format!("account {id} was not found"),
            ),
        ),
        (
            AccountError::Inactive {
                account: id,
                status: AccountStatus::Frozen,
            },
            answer_of(
                422,
                "account_inactive",
                "Account is not active",
                &format!("account {id} is not active and cannot be used"),
            ),
        ),
        (
            AccountError::CurrencyMismatch {
                account: id,
                account_currency: Currency::CNY,
                payment_currency: Currency::USD,
            },
            answer_of(
                422,
                "currency_mismatch",
                "Currency mismatch",
                &format!("account {id} does not hold USD"),
            ),
        ),
        (
            AccountError::PerPaymentLimitExceeded {
                account: id,
                limit: 500,
                requested: 501,
            },
            answer_of(
                422,
                "per_payment_limit_exceeded",
                "Per-payment limit exceeded",
                &format!("account {id} accepts payments of at most 500, 501 requested"),
            ),
        ),
        (
            AccountError::DailyLimitExceeded {
                account: id,
                remaining: 300,
                requested: 301,
            },
            answer_of(
                422,
                "daily_limit_exceeded",
                "Daily outflow limit exceeded",
                &format!("account {id} has 300 of its daily outflow left, 301 requested"),
            ),
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(answer(error), expected);
    }
}

#[test]
fn payment_idempotency_and_cursor_rules_keep_their_problems() {
    let now = datetime!(2026-11-22 10:00 UTC);
    let treasury = Account::treasury_id(Currency::CNY);
    let funded = Payment::funding(treasury, account().id, Money::new(5, Currency::CNY), now);
    let not_pending = funded
        .release(ReleaseReason::Canceled, now)
        .expect_err("a funding is final");
    let id = PaymentId::from_ulid(Ulid(9));
    let same = AccountId::from_ulid(Ulid(3));
    let cases: [(StoreError, Answer); 7] = [
        (
            PaymentError::NotFound(id).into(),
            answer_of(
                404,
                "payment_not_found",
                "Payment not found",
                &format!("payment {id} was not found"),
            ),
        ),
        (
            PaymentError::SameAccount(same).into(),
            answer_of(
                422,
                "same_account",
                "Source and destination are the same",
                &format!("the source and destination are the same account {same}"),
            ),
        ),
        (
            not_pending.into(),
            answer_of(
                409,
                "payment_not_pending",
                "Payment is no longer pending",
                &format!("payment {} is succeeded, not pending", funded.id),
            ),
        ),
        (
            PaymentError::Expired(id).into(),
            answer_of(
                409,
                "payment_expired",
                "Payment expired",
                &format!("payment {id} expired before it was confirmed"),
            ),
        ),
        (
            IdempotencyError::KeyReused.into(),
            answer_of(
                422,
                "idempotency_key_reused",
                "Idempotency key reused with a different request",
                "the idempotency key was already used with a different request",
            ),
        ),
        (
            IdempotencyError::KeyInFlight.into(),
            answer_of(
                409,
                "idempotency_key_in_use",
                "A request with this idempotency key is in progress",
                "a request with this idempotency key is still being processed",
            ),
        ),
        (
            InvalidCursor.into(),
            answer_of(
                400,
                "invalid_cursor",
                "Invalid cursor",
                "the cursor is malformed or belongs to another listing",
            ),
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(answer(error), expected);
    }
}

#[test]
fn party_capture_and_refund_rules_have_their_problems() {
    let id = PaymentId::from_ulid(Ulid(9));
    let cny = |n| Money::new(n, Currency::CNY);
    let cases: [(StoreError, Answer); 6] = [
        (
            PaymentError::NotPayer(id).into(),
            answer_of(
                403,
                "not_payer",
                "Only the payer can do this",
                &format!("only the payer of payment {id} can do this"),
            ),
        ),
        (
            PaymentError::NotPayee(id).into(),
            answer_of(
                403,
                "not_payee",
                "Only the payee can do this",
                &format!("only the payee of payment {id} can do this"),
            ),
        ),
        (
            PaymentError::NotCaptured(id).into(),
            answer_of(
                409,
                "payment_not_captured",
                "Payment has not been captured",
                &format!("payment {id} has not been captured"),
            ),
        ),
        (
            PaymentError::RefundExceedsPayment { id, left: cny(40) }.into(),
            answer_of(
                422,
                "refund_exceeds_payment",
                "Refund exceeds what is left of the payment",
                &format!(
                    "the refund exceeds what is left to refund of payment {id}: 40 CNY minor units"
                ),
            ),
        ),
        (
            PaymentError::CaptureExceedsHold { id, held: cny(300) }.into(),
            answer_of(
                422,
                "capture_exceeds_hold",
                "Capture exceeds the held amount",
                &format!("the capture exceeds what payment {id} holds: 300 CNY minor units"),
            ),
        ),
        (
            PaymentError::InvalidAmount(crate::MoneyError::NotPositive).into(),
            answer_of(
                400,
                "invalid_amount",
                "Invalid request",
                "the amount must be a positive number of minor units",
            ),
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(answer(error), expected);
    }
}

#[test]
fn infrastructure_failures_are_answered_generically() {
    let secret = "ValidationException: table paygate-prod-accounts, key acc_1";
    let unavailable = ApiError::from(StoreError::unavailable(secret)).to_problem("req-1");
    assert_eq!(
        (
            unavailable.status,
            unavailable.code,
            unavailable.retry_after
        ),
        (503, "service_unavailable", Some(1))
    );
    assert_eq!(
        unavailable.detail,
        "the service is temporarily unavailable; retry"
    );
    let generic = answer_of(
        500,
        "internal_error",
        "Internal error",
        "an internal error occurred; it has been logged",
    );
    assert_eq!(answer(StoreError::internal(secret)), generic);
    assert_eq!(answer(StoreError::DuplicateId("pay_1".into())), generic);
    assert_eq!(answer(ApiError::internal(secret)), generic);
    let conflict = ApiError::from(StoreError::Conflict).to_problem("req-1");
    assert_eq!(
        (conflict.status, conflict.code, conflict.retry_after),
        (409, "concurrent_update", Some(1))
    );
}

#[test]
fn webhook_refusals_have_their_problems_and_sealing_failures_stay_internal() {
    use crate::{EventId, WebhookEndpointId, webhook::WebhookError as W};
    let endpoint = WebhookEndpointId::from_ulid(Ulid(9));
    let event = EventId::from_ulid(Ulid(10));
    let cases = [
        (
            W::NotFound(endpoint),
            answer_of(
                404,
                "webhook_endpoint_not_found",
                "Webhook endpoint not found",
                &format!("no webhook endpoint `{endpoint}`"),
            ),
        ),
        (
            W::EventNotFound(event),
            answer_of(
                404,
                "event_not_found",
                "Event not found",
                &format!("no event `{event}`"),
            ),
        ),
        (
            W::TooManyEndpoints,
            answer_of(
                422,
                "too_many_webhook_endpoints",
                "Too many webhook endpoints",
                "a client may have at most 16 webhook endpoints",
            ),
        ),
        (
            W::UrlNotAllowed("the scheme must be https".into()),
            answer_of(
                422,
                "webhook_url_not_allowed",
                "Webhook URL not allowed",
                "the webhook URL is not allowed: the scheme must be https",
            ),
        ),
        (
            W::TooManyRotations,
            answer_of(
                409,
                "too_many_secret_rotations",
                "Too many secret rotations",
                "an endpoint holds at most 4 signing secrets; rotated-out secrets expire 24 \
                 hours after their rotation",
            ),
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(answer(error.clone()), expected);
        assert_eq!(answer(StoreError::from(error)), expected);
    }
    let sealing = W::Sealing("the key secret paygate-webhook-key cannot be read".into());
    assert_eq!(
        answer(sealing),
        answer_of(
            500,
            "internal_error",
            "Internal error",
            "an internal error occurred; it has been logged"
        )
    );
}
