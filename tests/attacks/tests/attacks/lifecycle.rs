//! Support for the attacks on issue 13's routes (refunds, partial capture, payment lists):
//! paying and refunding over HTTP, the books extended by the payments a group attacks (each
//! payment's view and its refunds, read by its payer), and the check that a refusal is the very
//! answer a missing payment gets.

use serde_json::{Value, json};

use crate::support::{Answer, Books, Client, Tally, Target, assert_problem};

/// The books plus, per attacked payment, its view and its refunds list: what a refused request
/// must leave exactly as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    pub books: Books,
    pub payments: Vec<(Value, Value)>,
}

/// A refund body: `amount` and `reason` only when given.
pub fn refund_body(amount: Option<i64>, reason: Option<&str>) -> String {
    let mut body = serde_json::Map::new();
    if let Some(amount) = amount {
        body.insert("amount".into(), json!(amount));
    }
    if let Some(reason) = reason {
        body.insert("reason".into(), json!(reason));
    }
    Value::Object(body).to_string()
}

impl Target {
    /// Creates a payment of `amount` CNY from `source` to `destination` as `client` (captured
    /// at once when `confirm`); its id. Panics unless it is created.
    pub async fn pay(
        &self,
        client: &Client,
        token: &str,
        route: (paygate_shared::AccountId, paygate_shared::AccountId),
        amount: i64,
        confirm: bool,
    ) -> String {
        let answer = self
            .post(
                client,
                "/v1/payments",
                token,
                &Self::payment(route.0, route.1, amount, confirm),
            )
            .await;
        assert_eq!(answer.status, 201, "paying {amount}: {:?}", answer.body);
        answer.body["id"].as_str().expect("a payment id").to_owned()
    }

    /// `POST /v1/payments/{payment}/refunds` with `body` and `Idempotency-Key: key`.
    pub async fn refund(
        &self,
        client: &Client,
        token: &str,
        payment: &str,
        body: &str,
        key: &str,
    ) -> Answer {
        self.post_with(
            client,
            &format!("/v1/payments/{payment}/refunds"),
            token,
            body,
            &[("idempotency-key", key)],
        )
        .await
    }

    /// `POST /v1/payments/{payment}/{action}` (confirm or cancel) with `body` (may be empty).
    pub async fn settle(
        &self,
        client: &Client,
        token: &str,
        payment: &str,
        action: &str,
        body: &str,
    ) -> Answer {
        self.post(
            client,
            &format!("/v1/payments/{payment}/{action}"),
            token,
            body,
        )
        .await
    }

    /// The books, and each of `payments`' view and refunds as `reader` (a party) sees them.
    pub async fn ledger(&self, reader: &Client, payments: &[&str]) -> Ledger {
        let token = self.token(reader, None).await;
        let mut states = Vec::new();
        for id in payments {
            let view = self
                .get(reader, &format!("/v1/payments/{id}"), &token)
                .await;
            assert_eq!(view.status, 200, "reading {id}: {:?}", view.body);
            let refunds = self
                .get(reader, &format!("/v1/payments/{id}/refunds"), &token)
                .await;
            assert_eq!(refunds.status, 200, "refunds of {id}: {:?}", refunds.body);
            states.push((view.body, refunds.body));
        }
        Ledger {
            books: self.books().await,
            payments: states,
        }
    }
}

/// `answer` is exactly the 404 `missing` got for a missing payment: same status, headers and
/// body, but for the payment id in the detail and the request id.
pub fn assert_like_missing(
    answer: &Answer,
    missing: &Answer,
    id: &str,
    missing_id: &str,
    case: &str,
) {
    assert_problem(missing, 404, "payment_not_found", case);
    assert_problem(answer, 404, "payment_not_found", case);
    let normal = |a: &Answer, id: &str| {
        let mut body = a.body.clone();
        if let Some(fields) = body.as_object_mut() {
            fields.remove("request_id");
        }
        body.to_string().replace(id, "<id>")
    };
    assert_eq!(normal(answer, id), normal(missing, missing_id), "{case}");
    let headers = |a: &Answer| {
        let mut names: Vec<String> = a
            .headers
            .keys()
            .map(|n| n.as_str().to_owned())
            .filter(|n| !VARYING_HEADERS.contains(&n.as_str()))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| (a.header(&n).unwrap_or_default().to_owned(), n))
            .collect::<Vec<_>>()
    };
    assert_eq!(headers(answer), headers(missing), "{case}: headers");
}

/// Headers whose values differ per request, whatever the object.
const VARYING_HEADERS: &[&str] = &[
    "date",
    "x-amzn-requestid",
    "x-amz-apigw-id",
    "x-amzn-trace-id",
];

/// A 422 `refund_exceeds_payment` whose detail names `left` (in minor units or as a decimal).
pub fn assert_exceeds(answer: &Answer, left: i64, case: &str) {
    assert_problem(answer, 422, "refund_exceeds_payment", case);
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    let decimal = format!("{}.{:02}", left / 100, left % 100);
    let named = detail
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|word| word == left.to_string() || word == decimal);
    assert!(
        named,
        "{case}: the detail does not name the {left} left: {detail}"
    );
}

/// Checks a refusal left everything as it was, and counts it.
pub async fn unchanged(
    target: &Target,
    tally: &mut Tally,
    payments: &[&str],
    before: &Ledger,
    case: &str,
) {
    let after = target.ledger(&target.alice, payments).await;
    assert_eq!(
        &after, before,
        "{case}: a refused request changed something"
    );
    tally.refused(case.to_owned());
}
