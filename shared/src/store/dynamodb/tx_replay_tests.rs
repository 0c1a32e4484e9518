//! The branches of [`super::tx`] and [`super::explain`] that moto never reaches (throttling,
//! write conflicts, cancellation codes we do not know), driven by DynamoDB responses replayed
//! through the SDK's test HTTP client, as the SDK's own tests do. The bodies are DynamoDB's
//! JSON 1.0 error shape (`__type`, `Message`, `CancellationReasons` with `Code`, `Message` and
//! the `ALL_OLD` `Item`), the shape moto answers a cancelled transaction with.

use std::time::Duration;

use aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider, retry::RetryConfig,
};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_runtime_api::http::{Request, Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use time::macros::datetime;

use super::{
    DynamoStore, TableNames,
    expr::put_new,
    keys::account_key,
    tx::{OldItem, Reason, Role, Transaction, TxOutcome},
};
use crate::{
    AccountId, ClientId, Fingerprint, IdempotencyKey, IdempotencyRecord, Money, NewPayment,
    Payment, StoreError, money::Currency, store::AccountStore, store::PaymentStore,
};

const ENDPOINT: &str = "https://dynamodb.eu-west-1.amazonaws.com/";

/// One DynamoDB answer: its status and JSON body.
pub(super) struct Answer {
    pub status: u16,
    pub body: String,
}

/// A `TransactionCanceledException` with one reason per write: `(code, message, old item)`.
pub(super) fn cancelled(reasons: &[(&str, Option<&str>, Option<&str>)]) -> Answer {
    let codes: Vec<&str> = reasons.iter().map(|(code, _, _)| *code).collect();
    let reasons: Vec<String> = reasons
        .iter()
        .map(|(code, message, item)| {
            let mut reason = format!(r#"{{"Code":"{code}""#);
            if let Some(message) = message {
                reason.push_str(&format!(r#","Message":"{message}""#));
            }
            if let Some(item) = item {
                reason.push_str(&format!(r#","Item":{item}"#));
            }
            reason + "}"
        })
        .collect();
    Answer {
        status: 400,
        body: format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [{}]","CancellationReasons":[{}]}}"#,
            codes.join(", "),
            reasons.join(",")
        ),
    }
}

/// A plain service error (no cancellation reasons).
fn service_error(status: u16, type_: &str, message: &str) -> Answer {
    Answer {
        status,
        body: format!(r#"{{"__type":"{type_}","message":"{message}"}}"#),
    }
}

pub(super) const FINE: (&str, Option<&str>, Option<&str>) = ("None", None, None);
const THROTTLING: &str = "com.amazon.coral.availability#ThrottlingException";
const THROTTLING_MESSAGE: &str = "Rate of requests exceeds the allowed throughput.";

/// A store whose HTTP client answers each request with the next of `answers`, with the SDK's
/// standard retries (as in production: three attempts) but a short backoff.
pub(super) fn replaying(answers: Vec<Answer>) -> (DynamoStore, StaticReplayClient) {
    let events = answers
        .into_iter()
        .map(|answer| {
            let mut request = Request::new(SdkBody::empty());
            request.set_uri(ENDPOINT).expect("a valid URI");
            let status = StatusCode::try_from(answer.status).expect("a valid status");
            let mut response = Response::new(status, SdkBody::from(answer.body));
            response
                .headers_mut()
                .insert("content-type", "application/x-amz-json-1.0");
            ReplayEvent::new(request, response)
        })
        .collect();
    let http = StaticReplayClient::new(events);
    let config = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "replay",
        )))
        .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
        .http_client(http.clone())
        .build();
    (
        DynamoStore::new(&config, TableNames::with_prefix("replay")),
        http,
    )
}

/// The DynamoDB operations the store sent, by their `x-amz-target`.
pub(super) fn operations_sent(http: &StaticReplayClient) -> Vec<String> {
    http.actual_requests()
        .map(|request| {
            let target = request.headers().get("x-amz-target").unwrap_or_default();
            target.trim_start_matches("DynamoDB_20120810.").to_owned()
        })
        .collect()
}

/// A pending payment of 100 CNY and the idempotency record of the request creating it.
fn pending_payment() -> (Payment, IdempotencyRecord) {
    let now = datetime!(2026-11-22 10:00:00 UTC);
    let client: ClientId = "alice".parse().unwrap();
    let new = NewPayment {
        client_id: client.clone(),
        payee: "bob".parse().unwrap(),
        source: AccountId::generate(now),
        destination: AccountId::generate(now),
        amount: Money::new(100, Currency::CNY),
        description: None,
    };
    let payment = Payment::pending(new, now, time::Duration::minutes(15)).unwrap();
    let record = IdempotencyRecord {
        key: IdempotencyKey::new(client, "k-1").unwrap(),
        fingerprint: Fingerprint::of(&[b"request"]),
        payment_id: payment.id,
        response_status: 201,
        response_body: "{}".into(),
        created_at: now,
        expires_at: now + crate::idempotency::RETENTION,
    };
    (payment, record)
}

/// A transaction of three writes playing `roles` (what they write does not matter here: the
/// replayed answer decides).
fn three_writes(store: &DynamoStore, roles: [Role; 3]) -> Transaction {
    roles.into_iter().fold(Transaction::new(), |tx, role| {
        let id = AccountId::generate(datetime!(2026-11-22 10:00:00 UTC));
        tx.with(
            role,
            put_new(&store.tables().accounts, account_key(id)).unwrap(),
        )
    })
}

async fn reasons_of(answer: Answer) -> Result<super::tx::Reasons, StoreError> {
    let (store, _http) = replaying(vec![answer]);
    let tx = three_writes(&store, [Role::Source, Role::Destination, Role::Payment]);
    match store.transact(tx).await? {
        TxOutcome::Cancelled(reasons) => Ok(reasons),
        TxOutcome::Committed => panic!("a cancellation was replayed"),
    }
}

/// moto's answer, recorded, to a transaction whose first write passed, whose second failed its
/// condition on an existing item and whose third failed on a missing one.
const RECORDED_CANCELLATION: &str = r#"{"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException", "CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed", "Item": {"pk": {"S": "a"}, "available": {"N": "5"}}}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}], "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ConditionalCheckFailed]"}"#;

#[tokio::test]
async fn cancellation_reasons_are_addressed_by_role() {
    let reasons = reasons_of(Answer {
        status: 400,
        body: RECORDED_CANCELLATION.into(),
    })
    .await
    .unwrap();
    assert_eq!(reasons.get(Role::Source), Some(&Reason::Fine));
    let Some(OldItem::Existing(item)) = reasons.condition_failed(Role::Destination) else {
        panic!("the destination's old item: {reasons:?}");
    };
    assert_eq!(item.get("available"), Some(&super::attrs::attr_number(5)));
    assert_eq!(
        reasons.condition_failed(Role::Payment),
        Some(&OldItem::Missing)
    );
    assert_eq!(reasons.get(Role::IdempotencyRecord), None, "no such write");
}

#[tokio::test]
async fn throttled_writes_are_told_apart_from_failed_conditions() {
    for code in ["ThrottlingError", "ProvisionedThroughputExceeded"] {
        let reasons = reasons_of(cancelled(&[
            FINE,
            (code, Some("Throughput exceeds the current capacity"), None),
            FINE,
        ]))
        .await
        .unwrap();
        assert_eq!(reasons.get(Role::Source), Some(&Reason::Fine), "{code}");
        assert_eq!(
            reasons.get(Role::Destination),
            Some(&Reason::Throttled(code.to_owned()))
        );
    }
}

#[tokio::test]
async fn an_unknown_cancellation_code_keeps_its_code_and_message() {
    let reasons = reasons_of(cancelled(&[
        FINE,
        FINE,
        (
            "ItemCollectionSizeLimitExceeded",
            Some("Collection size exceeded."),
            None,
        ),
    ]))
    .await
    .unwrap();
    assert_eq!(
        reasons.get(Role::Payment),
        Some(&Reason::Other(
            "ItemCollectionSizeLimitExceeded: Collection size exceeded.".into()
        ))
    );
}

#[tokio::test]
async fn reasons_that_do_not_match_the_writes_are_an_internal_error() {
    let result = reasons_of(cancelled(&[FINE, ("ConditionalCheckFailed", None, None)])).await;
    let (kind, chain) = failure(&result);
    assert_eq!(kind, "internal");
    assert!(
        chain.contains("3 writes") && chain.contains("2 reasons"),
        "{chain}"
    );
}

/// An infrastructure failure's kind and its whole chain of causes.
fn failure<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> (&'static str, String) {
    match result {
        Err(error @ StoreError::Failure(failure)) => {
            let kind = match failure {
                crate::StoreFailure::Unavailable(_) => "unavailable",
                crate::StoreFailure::Internal(_) => "internal",
            };
            (kind, crate::error::Chain(error).to_string())
        }
        other => panic!("not an infrastructure failure: {other:?}"),
    }
}

/// Creates the pending payment against `answers`; the error and the operations sent.
async fn hold_against(answers: Vec<Answer>) -> (Result<(), StoreError>, Vec<String>) {
    let (payment, record) = pending_payment();
    let (store, http) = replaying(answers);
    let result = store
        .create_payment(&payment, &record, payment.created_at)
        .await;
    let sent = operations_sent(&http);
    assert_eq!(
        store.round_trips(),
        sent.len() as u64,
        "every attempt is counted"
    );
    (result.map(|_| ()), sent)
}

#[tokio::test]
async fn a_hold_throttled_inside_the_transaction_is_unavailable() {
    // Writes: source, destination, payment, idempotency record, the `payment.created` event.
    let throttled = (
        "ThrottlingError",
        Some("Throughput exceeds the current capacity"),
        None,
    );
    let (result, sent) = hold_against(vec![cancelled(&[throttled, FINE, FINE, FINE, FINE])]).await;
    assert_eq!(result, Err(StoreError::unavailable("ThrottlingError")));
    assert_eq!(sent, ["TransactWriteItems"], "not retried by the adapter");
}

#[tokio::test]
async fn a_hold_cancelled_for_an_unknown_reason_is_internal() {
    let unknown = (
        "ValidationError",
        Some("Item size has exceeded the maximum"),
        None,
    );
    let (result, sent) = hold_against(vec![cancelled(&[FINE, FINE, unknown, FINE, FINE])]).await;
    assert_eq!(
        result,
        Err(StoreError::internal(
            "ValidationError: Item size has exceeded the maximum"
        ))
    );
    assert_eq!(sent, ["TransactWriteItems"]);
}

#[tokio::test]
async fn a_conflict_on_the_idempotency_record_means_its_request_is_in_flight() {
    let conflict = (
        "TransactionConflict",
        Some("Transaction is ongoing for the item"),
        None,
    );
    let (result, sent) = hold_against(vec![cancelled(&[FINE, FINE, FINE, conflict, FINE])]).await;
    assert_eq!(result, Err(crate::IdempotencyError::KeyInFlight.into()));
    assert_eq!(sent, ["TransactWriteItems"]);
}

#[tokio::test]
async fn conflicts_on_an_account_are_retried_then_reported() {
    let conflict = (
        "TransactionConflict",
        Some("Transaction is ongoing for the item"),
        None,
    );
    let answers = (0..8)
        .map(|_| cancelled(&[conflict, FINE, FINE, FINE, FINE]))
        .collect();
    let (result, sent) = hold_against(answers).await;
    assert_eq!(result, Err(StoreError::Conflict));
    assert_eq!(sent, vec!["TransactWriteItems"; 8], "eight attempts in all");
}

#[tokio::test]
async fn throttling_exceptions_are_unavailable_after_the_sdk_retries() {
    let answers = (0..3)
        .map(|_| service_error(400, THROTTLING, THROTTLING_MESSAGE))
        .collect();
    let (result, sent) = hold_against(answers).await;
    let (kind, chain) = failure(&result);
    assert_eq!(kind, "unavailable");
    assert!(chain.contains("ThrottlingException"), "{chain}");
    assert_eq!(
        sent,
        vec!["TransactWriteItems"; 3],
        "the SDK's three attempts"
    );
}

#[tokio::test]
async fn exceeded_provisioned_throughput_is_unavailable() {
    let exceeded = || {
        service_error(
            400,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        )
    };
    let (store, http) = replaying(vec![exceeded(), exceeded(), exceeded()]);
    let result = store
        .account(AccountId::generate(datetime!(2026-11-22 10:00 UTC)))
        .await;
    let (kind, chain) = failure(&result);
    assert_eq!(kind, "unavailable");
    assert!(
        chain.contains("ProvisionedThroughputExceededException"),
        "{chain}"
    );
    assert_eq!(operations_sent(&http), vec!["GetItem"; 3]);
}

#[tokio::test]
async fn a_rejected_request_is_internal_and_not_retried() {
    let rejected = service_error(
        400,
        "com.amazon.coral.validate#ValidationException",
        "One or more parameter values were invalid",
    );
    let (result, sent) = hold_against(vec![rejected]).await;
    let (kind, chain) = failure(&result);
    assert_eq!(kind, "internal");
    assert!(
        chain.contains("ValidationException")
            && chain.contains("One or more parameter values were invalid"),
        "{chain}"
    );
    assert_eq!(sent, ["TransactWriteItems"]);
}

/// An item in DynamoDB's JSON wire shape (strings and numbers: all an idempotency record holds).
fn wire(item: &super::attrs::Item) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    let attrs: serde_json::Map<String, serde_json::Value> = item
        .iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::S(s) => serde_json::json!({ "S": s }),
                AttributeValue::N(n) => serde_json::json!({ "N": n }),
                other => panic!("unexpected attribute {other:?}"),
            };
            (name.clone(), value)
        })
        .collect();
    serde_json::Value::Object(attrs).to_string()
}

/// The hold of `payment` cancelled on its idempotency record alone, the old item being
/// `previous`: what an SDK retry of an already committed hold meets on an endpoint that
/// ignores the client request token.
async fn hold_meeting(
    payment: &Payment,
    record: &IdempotencyRecord,
    previous: &IdempotencyRecord,
) -> Result<crate::store::PaymentOutcome, StoreError> {
    let old = wire(&super::items::idempotency_item(previous));
    let failed = (
        "ConditionalCheckFailed",
        Some("The conditional request failed"),
        Some(old.as_str()),
    );
    let (store, _) = replaying(vec![cancelled(&[FINE, FINE, FINE, failed, FINE])]);
    store
        .create_payment(payment, record, payment.created_at)
        .await
}

#[tokio::test]
async fn a_hold_that_meets_its_own_record_was_created_not_replayed() {
    use crate::store::PaymentOutcome;
    let (payment, ours) = pending_payment();
    // Same key, fingerprint and response (the response carries this call's fresh ids).
    let outcome = hold_meeting(&payment, &ours, &ours).await;
    assert_eq!(outcome, Ok(PaymentOutcome::Created(payment.clone())));
    // An earlier request with the same body got its own ids: that one is a replay.
    let earlier = IdempotencyRecord {
        response_body: r#"{"id":"pay_earlier"}"#.into(),
        ..ours.clone()
    };
    let outcome = hold_meeting(&payment, &ours, &earlier).await;
    assert_eq!(outcome, Ok(PaymentOutcome::Replayed(earlier)));
    // And another request under the key is refused.
    let other = IdempotencyRecord {
        fingerprint: Fingerprint::of(&[b"another request"]),
        ..ours.clone()
    };
    assert_eq!(
        hold_meeting(&payment, &ours, &other).await,
        Err(crate::IdempotencyError::KeyReused.into())
    );
}
