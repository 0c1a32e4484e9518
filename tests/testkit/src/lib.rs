//! Test support for handler tests: the API's dependencies on the in-memory store with a manual
//! clock and static signing keys, tokens minted with those keys, and API Gateway REST v1 proxy
//! events in the shape `sam local generate-event apigateway aws-proxy` produces (stage `v1`).

pub mod failing;
pub mod http;

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use paygate_shared::{
    Account, AccountId, ClientId, ManualClock, Money,
    api::{ApiDeps, Authenticator},
    auth::{Claims, Expectations, KeyCache, KeySet, Scopes, SigningKey, StaticKeySource, sign},
    config::PaymentSettings,
    metrics::{CapturedMetrics, Metrics, PAYMENT_AMOUNT, PAYMENT_EVENTS},
    money::Currency,
    store::{Store, memory::MemoryStore},
};
use serde_json::{Value, json};
use time::{OffsetDateTime, macros::datetime};

/// When every test starts.
pub const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);
pub const ISSUER: &str = "paygate";
pub const AUDIENCE: &str = "paygate-api";

/// An in-memory API: the dependencies, plus handles on what they were built from.
pub struct TestApi {
    pub deps: ApiDeps,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub keys: Arc<StaticKeySource>,
    pub signing_key: SigningKey,
}

impl Default for TestApi {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApi {
    /// On the in-memory store.
    pub fn new() -> Self {
        Self::with_store(Arc::new(MemoryStore::new()))
    }

    /// On any store (the DynamoDB adapter against moto, for the flow tests).
    pub fn with_store(store: Arc<dyn Store>) -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let signing_key = SigningKey::generate(T0).expect("key generation");
        let keys = Arc::new(StaticKeySource::new(KeySet::with_signing_key(
            signing_key.clone(),
            None,
        )));
        let cache = KeyCache::new(keys.clone(), std::time::Duration::from_secs(300));
        let deps = ApiDeps {
            store: store.clone(),
            auth: Authenticator::new(Arc::new(cache), Expectations::new(ISSUER, AUDIENCE)),
            clock: clock.clone(),
            payments: PaymentSettings::default(),
            round_trips: None,
            risk: paygate_shared::risk::RiskControl::default(),
            metrics: Metrics::off(),
        };
        Self {
            deps,
            store,
            clock,
            keys,
            signing_key,
        }
    }

    /// A valid access token for `client` with `scopes` (space-separated).
    pub fn token(&self, client: &str, scopes: &str) -> String {
        let scopes: Scopes = scopes.parse().expect("known scopes");
        let claims = Claims::new(
            ISSUER,
            client,
            AUDIENCE,
            scopes,
            self.clock.now_utc(),
            time::Duration::minutes(15),
        );
        sign(&self.signing_key, &claims)
    }

    /// An active account of `owner` holding `balance` (funded from the treasury).
    pub async fn account(&self, owner: &str, currency: Currency, balance: i64) -> AccountId {
        let now = self.clock.now_utc();
        let limits = PaymentSettings::default().default_limits;
        let owner: ClientId = owner.parse().expect("client id");
        let account = Account::open(AccountId::generate(now), owner, currency, limits, now);
        self.store
            .create_account(&account)
            .await
            .expect("create account");
        if balance > 0 {
            self.store
                .fund(account.id, Money::new(balance, currency), now)
                .await
                .expect("fund");
        }
        account.id
    }

    /// Registers client `id` (an operator or not) with its own risk `rules` (a JSON object,
    /// parsed as the seed file and the admin CLI parse it), as the admin CLI would.
    pub async fn client(&self, id: &str, operator: bool, rules: Option<Value>) {
        let record = paygate_shared::client::ClientRecord {
            client_id: id.parse().expect("client id"),
            secret_hash: paygate_shared::client::SecretHash::new("pgs_test", 1),
            scopes: Vec::new(),
            status: paygate_shared::client::ClientStatus::Active,
            operator,
            risk: rules.map(|r| paygate_shared::RiskRules::from_value(&r).expect("valid rules")),
            created_at: self.clock.now_utc(),
        };
        self.store
            .create_client(&record)
            .await
            .expect("create client");
    }

    pub async fn balance(&self, id: AccountId) -> (i64, i64) {
        let account = self.store.account(id).await.expect("read").expect("exists");
        (account.balance, account.available)
    }

    /// Records the handlers' metrics from now on, under `paygate/test`, for the test to read.
    pub fn capture_metrics(&mut self) -> CapturedMetrics {
        let (metrics, captured) = Metrics::capture("paygate/test");
        self.deps.metrics = metrics;
        captured
    }
}

/// The `PaymentEvents` records so far, as `(Event, Currency, PaymentAmount)`, in order (each
/// record's `PaymentEvents` checked to be 1).
pub fn payment_events(captured: &CapturedMetrics) -> Vec<(String, String, i64)> {
    captured
        .with_metric(PAYMENT_EVENTS)
        .iter()
        .map(|record| {
            assert_eq!(record[PAYMENT_EVENTS], 1, "{record}");
            (
                record["Event"].as_str().expect("an Event").to_owned(),
                record["Currency"].as_str().expect("a Currency").to_owned(),
                record[PAYMENT_AMOUNT].as_i64().expect("a PaymentAmount"),
            )
        })
        .collect()
}

/// `(event, currency, amount)` as [`payment_events`] lists them.
pub fn payment_event(event: &str, currency: &str, amount: i64) -> (String, String, i64) {
    (event.to_owned(), currency.to_owned(), amount)
}

/// The manual clock's reading, without going through the `Clock` trait object.
pub trait NowUtc {
    fn now_utc(&self) -> OffsetDateTime;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> OffsetDateTime {
        paygate_shared::Clock::now(self)
    }
}

/// The moto endpoint `bash tests/run.sh` started (`PAYGATE_TEST_DYNAMODB_ENDPOINT`). Tests that
/// need it fail loudly without it rather than silently testing less.
pub fn moto_endpoint() -> String {
    std::env::var("PAYGATE_TEST_DYNAMODB_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("PAYGATE_TEST_DYNAMODB_ENDPOINT is not set: run the suite with `bash tests/run.sh`")
}

/// A REST v1 proxy event.
#[derive(Debug, Clone)]
pub struct Event {
    method: &'static str,
    path: String,
    resource: &'static str,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<String>,
    authorizer: Option<Value>,
}

impl Event {
    /// `resource` is the API Gateway resource (`/payments/{payment_id}`), `path` the concrete
    /// path without the stage (`/payments/pay_…`).
    pub fn new(method: &'static str, resource: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            resource,
            headers: Vec::new(),
            query: Vec::new(),
            body: None,
            authorizer: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw_body(body.to_string())
            .header("Content-Type", "application/json")
    }

    pub fn raw_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The context API Gateway adds after the Lambda authorizer allowed the request.
    pub fn authorized_as(mut self, client: &str, scopes: &str) -> Self {
        self.authorizer = Some(json!({
            "principalId": client, "client_id": client, "scopes": scopes, "integrationLatency": 3
        }));
        self
    }

    /// The event as JSON, as API Gateway would send it.
    pub fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let multi_headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!([v])))
            .collect();
        let query = (!self.query.is_empty()).then(|| {
            self.query
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
        });
        let multi_query = (!self.query.is_empty()).then(|| {
            self.query
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect::<serde_json::Map<_, _>>()
        });
        let mut context = json!({
            "accountId": "123456789012",
            "apiId": "1234567890",
            "domainName": "api.paygate.test",
            "httpMethod": self.method,
            "identity": { "apiKey": "test-api-key", "sourceIp": "127.0.0.1", "userAgent": "testkit" },
            "path": format!("/v1{}", self.path),
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "22/Nov/2026:10:00:00 +0000",
            "requestTimeEpoch": 1_795_860_000_000_i64,
            "resourceId": "123456",
            "resourcePath": self.resource,
            "stage": "v1"
        });
        if let Some(authorizer) = &self.authorizer {
            context["authorizer"] = authorizer.clone();
        }
        json!({
            "body": self.body,
            "headers": headers,
            "httpMethod": self.method,
            "isBase64Encoded": false,
            "multiValueHeaders": multi_headers,
            "multiValueQueryStringParameters": multi_query,
            "path": self.path,
            "pathParameters": null,
            "queryStringParameters": query,
            "requestContext": context,
            "resource": self.resource,
            "stageVariables": null,
            "version": "1.0"
        })
    }

    /// The event as the `Request` lambda_http hands a handler.
    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.to_json().to_string()).expect("a valid REST v1 event")
    }
}

/// A response's status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem `code`, for error answers.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// API Gateway's own error `message` (its answers are `{"message": …}`, not problems).
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

pub fn answer(response: Response<Body>) -> Answer {
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Empty => Value::Null,
        Body::Text(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Body::Binary(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

impl Event {
    /// An `application/x-www-form-urlencoded` body, taken as already encoded (the token
    /// endpoint's requests).
    pub fn form(self, body: impl Into<String>) -> Self {
        self.raw_body(body)
            .header("Content-Type", "application/x-www-form-urlencoded")
    }
}
