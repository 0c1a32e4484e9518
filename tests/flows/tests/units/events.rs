//! The typical request of each endpoint, as the REST v1 event (or authorizer event) API
//! Gateway would hand its function.

use base64::{Engine, engine::general_purpose::STANDARD};
use paygate_testkit::Event;
use serde_json::json;

pub const CLIENT: &str = "alice";
pub const SECRET: &str = "pgs_units-secret";
pub const SCOPES: &str = "payments:write payments:read accounts:read";

pub fn token() -> Event {
    Event::new("POST", "/oauth/token", "/oauth/token")
        .header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{SECRET}"))),
        )
        .form("grant_type=client_credentials")
}

pub fn jwks() -> Event {
    Event::new("GET", "/.well-known/jwks.json", "/.well-known/jwks.json")
}

/// `POST /payments` of 12.50 CNY; `confirm` makes it one-step.
pub fn pay(token: &str, key: &str, from: &str, to: &str, confirm: bool) -> Event {
    Event::new("POST", "/payments", "/payments")
        .bearer(token)
        .header("Idempotency-Key", key)
        .json(&json!({
            "source_account": from, "destination_account": to, "amount": 1250,
            "currency": "CNY", "description": "order 4711", "confirm": confirm
        }))
}

pub fn get_payment(token: &str, id: &str) -> Event {
    Event::new("GET", "/payments/{payment_id}", format!("/payments/{id}")).bearer(token)
}

/// `POST /payments/{id}/confirm` or `/cancel`.
pub fn settle(token: &str, id: &str, action: &str) -> Event {
    let resource = if action == "confirm" {
        "/payments/{payment_id}/confirm"
    } else {
        "/payments/{payment_id}/cancel"
    };
    Event::new("POST", resource, format!("/payments/{id}/{action}")).bearer(token)
}

/// `POST /payments/{id}/confirm` capturing `amount` of the hold and releasing the rest.
pub fn confirm_part(token: &str, id: &str, amount: i64) -> Event {
    settle(token, id, "confirm").json(&json!({ "amount": amount }))
}

/// `POST /payments/{id}/refunds` of `amount`, by the payee.
pub fn refund(token: &str, id: &str, key: &str, amount: i64) -> Event {
    Event::new(
        "POST",
        "/payments/{payment_id}/refunds",
        format!("/payments/{id}/refunds"),
    )
    .bearer(token)
    .header("Idempotency-Key", key)
    .json(&json!({ "amount": amount, "reason": "requested_by_customer" }))
}

/// `GET /payments/{id}/refunds`.
pub fn refunds(token: &str, id: &str) -> Event {
    Event::new(
        "GET",
        "/payments/{payment_id}/refunds",
        format!("/payments/{id}/refunds"),
    )
    .bearer(token)
}

/// A page of 20 of the caller's payments as `role`, newest first, optionally of one account.
pub fn payments(token: &str, role: &str, account: Option<&str>) -> Event {
    let event = Event::new("GET", "/payments", "/payments")
        .bearer(token)
        .query("role", role)
        .query("limit", "20");
    match account {
        Some(account) => event.query("account_id", account),
        None => event,
    }
}

/// `GET /accounts`: the caller's accounts with their balances.
pub fn accounts(token: &str) -> Event {
    Event::new("GET", "/accounts", "/accounts").bearer(token)
}

pub fn balance(token: &str, account: &str) -> Event {
    Event::new(
        "GET",
        "/accounts/{account_id}/balance",
        format!("/accounts/{account}/balance"),
    )
    .bearer(token)
}

/// A page of 20 ledger entries, newest first.
pub fn transactions(token: &str, account: &str) -> Event {
    Event::new(
        "GET",
        "/accounts/{account_id}/transactions",
        format!("/accounts/{account}/transactions"),
    )
    .bearer(token)
    .query("limit", "20")
}

/// A page of entries older than any: empty, so ownership needs the account read.
pub fn transactions_before_any(token: &str, account: &str) -> Event {
    transactions(token, account).query("to", "2000-01-01T00:00:00Z")
}

/// The REQUEST authorizer's event for `POST /payments` with `token`.
pub fn authorizer(token: &str) -> paygate_authorizer::Request {
    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../functions/authorizer/tests/data/apigw-custom-auth-request-type-request.json"
    ))
    .expect("fixture parses");
    let bearer = format!("Bearer {token}");
    event["headers"]["Authorization"] = json!(bearer);
    event["multiValueHeaders"]["Authorization"] = json!([bearer]);
    serde_json::from_value(event).expect("a REQUEST authorizer event")
}
