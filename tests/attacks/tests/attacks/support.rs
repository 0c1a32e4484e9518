//! The target: a local gateway of the bundled template on 127.0.0.1 (port 0), over the embedded
//! store with a manual clock and a signing key the suite holds (so it can sign what the real
//! issuer never would), seeded with three clients that each own funded CNY accounts. Plus
//! sending (testkit's HTTP/1.1 client, with every bearer token put on the watchlist), the
//! assertions every attack ends with, and the books: every seeded account's balances and
//! entries, read over HTTP by its owner, to show no write happened.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hyper::body::Bytes;
use paygate_local::{Backend, Background, Gateway, seed};
use paygate_shared::{
    AccountId, ManualClock,
    auth::{KeySet, SigningKey, StaticKeySource},
    notify::ssrf::UrlPolicy,
    store::memory::MemoryStore,
};
use paygate_template::Template;
use serde_json::{Value, json};
use time::{OffsetDateTime, macros::datetime};

/// When every target starts (the clock only moves when a case moves it).
pub const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
/// Each seeded account's opening balance, in minor units (1000.00 CNY).
pub const OPENING: i64 = 100_000;
pub const ALL_SCOPES: &str = "payments:write payments:read accounts:read webhooks:manage";

/// Values that must never reach a log line: client secrets, API keys, every token sent.
#[derive(Debug, Default)]
pub struct Watchlist(Mutex<Vec<(String, String)>>);

impl Watchlist {
    pub fn add(&self, what: impl Into<String>, value: impl Into<String>) {
        let mut list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        list.push((what.into(), value.into()));
    }

    pub fn entries(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A seeded client: its credentials, API key and accounts (all CNY, [`OPENING`] each).
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub api_key: String,
    pub accounts: Vec<AccountId>,
}

pub use paygate_testkit::Answer;

/// A running gateway with its seed.
pub struct Target {
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    /// The key the gateway signs and verifies with.
    pub signing_key: SigningKey,
    /// All scopes, two accounts.
    pub alice: Client,
    /// All scopes, two accounts: the attacker in the BOLA cases.
    pub bob: Client,
    /// Only `accounts:read`, one account.
    pub carol: Client,
    /// All scopes, one account: the third party in the cases of issue 13 (neither payer nor
    /// payee of the payments between alice and bob).
    pub dave: Client,
    /// A payments operator (`risk:review payments:read`), no account: the reviewer of issue 16.
    pub erin: Client,
    pub watch: Arc<Watchlist>,
    /// The gateway's store, for what only an operator does (an account's posting mode) and the
    /// gateway's poster (which this suite does not start: posting happens when a case says).
    pub store: Arc<MemoryStore>,
    pub poster: paygate_shared::poster::Poster,
    _server: Background,
}

fn random_hex() -> String {
    format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

fn client(name: &str, accounts: usize, watch: &Watchlist) -> Client {
    let client = Client {
        id: format!("{name}-shop"),
        secret: format!("sec-{name}-{}", random_hex()),
        api_key: format!("ak-{name}-{}", random_hex()),
        accounts: (0..accounts).map(|_| AccountId::generate(T0)).collect(),
    };
    watch.add(format!("{name}'s client secret"), &client.secret);
    watch.add(format!("{name}'s API key"), &client.api_key);
    let basic = STANDARD.encode(format!("{}:{}", client.id, client.secret));
    watch.add(format!("{name}'s Basic credentials"), basic);
    client
}

impl Target {
    /// The bundled template, every client's API key on `plan` (`standard` or `premium`).
    pub async fn start(watch: Arc<Watchlist>, plan: &str) -> Self {
        Self::start_with(watch, plan, true).await
    }

    /// As [`Target::start`]; `allow_loopback_http: false` gives webhook URLs the rules they
    /// have on AWS (`https` to public addresses only) instead of paygate-local's.
    pub async fn start_with(watch: Arc<Watchlist>, plan: &str, allow_loopback_http: bool) -> Self {
        let template = Template::bundled().expect("the bundled template parses");
        let clock = Arc::new(ManualClock::new(T0));
        let signing_key = SigningKey::generate(T0).expect("a signing key");
        let keys = Arc::new(StaticKeySource::new(KeySet::with_signing_key(
            signing_key.clone(),
            None,
        )));
        let store = Arc::new(MemoryStore::new());
        let mut backend = Backend::new(store.clone(), keys, clock.clone());
        let poster = backend.poster.clone();
        backend.webhook_policy = UrlPolicy {
            allow_loopback_http,
        };
        let mut gateway = Gateway::new(&template, backend).expect("the gateway");

        let alice = client("alice", 2, &watch);
        let bob = client("bob", 2, &watch);
        let carol = client("carol", 1, &watch);
        let dave = client("dave", 1, &watch);
        let erin = client("erin", 0, &watch);
        let seed_client = |c: &Client, scopes: &str| {
            json!({"client_id": c.id, "client_secret": c.secret, "api_key": c.api_key,
                   "scopes": scopes.split(' ').collect::<Vec<_>>(), "usage_plan": plan})
        };
        let accounts: Vec<Value> = [&alice, &bob, &carol, &dave]
            .iter()
            .flat_map(|c| {
                c.accounts.iter().map(|a| {
                    json!({"account_id": a.to_string(), "owner": c.id, "currency": "CNY",
                           "balance": OPENING})
                })
            })
            .collect();
        let mut operator = seed_client(&erin, "risk:review payments:read");
        operator["operator"] = json!(true);
        let file = json!({
            "clients": [seed_client(&alice, ALL_SCOPES), seed_client(&bob, ALL_SCOPES),
                        seed_client(&carol, "accounts:read"), seed_client(&dave, ALL_SCOPES),
                        operator],
            "accounts": accounts,
        });
        let file: seed::SeedFile = serde_json::from_value(file).expect("a seed file");
        seed::load(&mut gateway, &file)
            .await
            .expect("the seed loads");

        let server = Background::start(Arc::new(gateway)).await.expect("serve");
        Self {
            addr: server.addr(),
            clock,
            signing_key,
            alice,
            bob,
            carol,
            dave,
            erin,
            watch,
            store,
            poster,
            _server: server,
        }
    }

    /// Sends one request on a fresh connection. Every bearer token sent is put on the
    /// watchlist.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("authorization")
                && let Some(token) = value.strip_prefix("Bearer ")
                && token.len() >= 16
            {
                self.watch.add("a bearer token", token);
            }
        }
        paygate_testkit::http::send(self.addr, method, path, headers, body).await
    }

    /// `POST /v1/oauth/token` for `client` (HTTP Basic), asking for `scope` if given.
    pub async fn token_request(&self, client: &Client, scope: Option<&str>) -> Answer {
        let basic = STANDARD.encode(format!("{}:{}", client.id, client.secret));
        let body = match scope {
            Some(scope) => format!(
                "grant_type=client_credentials&scope={}",
                scope.replace(' ', "+")
            ),
            None => "grant_type=client_credentials".to_owned(),
        };
        let answer = self
            .send(
                "POST",
                "/v1/oauth/token",
                &[
                    ("x-api-key", &client.api_key),
                    ("authorization", &format!("Basic {basic}")),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                body,
            )
            .await;
        if let Some(token) = answer.body["access_token"].as_str() {
            self.watch.add(format!("a token of {}", client.id), token);
        }
        answer
    }

    /// An access token of `client` with all its scopes (or `scope`).
    pub async fn token(&self, client: &Client, scope: Option<&str>) -> String {
        let answer = self.token_request(client, scope).await;
        assert_eq!(
            answer.status, 200,
            "token for {}: {:?}",
            client.id, answer.body
        );
        answer.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `GET` with `client`'s API key and `authorization` (a full header value).
    pub async fn get_as(&self, client: &Client, path: &str, authorization: &str) -> Answer {
        self.send(
            "GET",
            path,
            &[
                ("x-api-key", &client.api_key),
                ("authorization", authorization),
            ],
            Bytes::new(),
        )
        .await
    }

    /// `GET` with `client`'s API key and a bearer token.
    pub async fn get(&self, client: &Client, path: &str, token: &str) -> Answer {
        self.get_as(client, path, &format!("Bearer {token}")).await
    }

    /// `POST` of `body` (sent as is, `application/json`) with `client`'s API key, a bearer token
    /// and a fresh idempotency key.
    pub async fn post(&self, client: &Client, path: &str, token: &str, body: &str) -> Answer {
        let idempotency_key = format!("attack-{}", random_hex());
        self.post_with(
            client,
            path,
            token,
            body,
            &[("idempotency-key", &idempotency_key)],
        )
        .await
    }

    /// [`Target::post`] with extra headers (and no idempotency key unless among them).
    pub async fn post_with(
        &self,
        client: &Client,
        path: &str,
        token: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            ("x-api-key", client.api_key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        if !body.is_empty() && !extra.iter().any(|(n, _)| *n == "content-type") {
            headers.push(("content-type", "application/json"));
        }
        headers.extend_from_slice(extra);
        self.send("POST", path, &headers, body.to_owned()).await
    }

    /// A payment body from `source` to `destination`.
    pub fn payment(
        source: AccountId,
        destination: AccountId,
        amount: i64,
        confirm: bool,
    ) -> String {
        json!({"source_account": source.to_string(), "destination_account": destination.to_string(),
               "amount": amount, "currency": "CNY", "confirm": confirm})
        .to_string()
    }

    /// Every seeded account's balance, available balance and ledger entries, each read by its
    /// owner over HTTP.
    pub async fn books(&self) -> Books {
        let mut books = BTreeMap::new();
        for client in [&self.alice, &self.bob, &self.carol, &self.dave] {
            let token = self.token(client, None).await;
            for account in &client.accounts {
                let balance = self
                    .get(client, &format!("/v1/accounts/{account}/balance"), &token)
                    .await;
                assert_eq!(balance.status, 200, "{:?}", balance.body);
                let entries = self
                    .get(
                        client,
                        &format!("/v1/accounts/{account}/transactions?limit=100"),
                        &token,
                    )
                    .await;
                assert_eq!(entries.status, 200, "{:?}", entries.body);
                books.insert(
                    *account,
                    (
                        balance.body["balance"].clone(),
                        balance.body["available"].clone(),
                        entries.body["data"].clone(),
                        balance.body["incoming"].clone(),
                    ),
                );
            }
        }
        Books(books)
    }
}

/// Balances, available balances and entries per account.
#[derive(Debug, Clone, PartialEq)]
/// Per account: `balance`, `available`, the newest entries, `incoming`.
pub struct Books(BTreeMap<AccountId, (Value, Value, Value, Value)>);

impl Books {
    /// All the money the seeded accounts hold, posted or incoming: payments and refunds between
    /// them never change it.
    pub fn total(&self) -> i64 {
        self.0
            .values()
            .map(|(balance, _, _, incoming)| {
                balance.as_i64().unwrap_or(i64::MIN) + incoming.as_i64().unwrap_or(i64::MIN)
            })
            .sum()
    }

    /// One account's `(balance, available, incoming)`.
    pub fn of(&self, account: AccountId) -> Option<(i64, i64, i64)> {
        let (balance, available, _, incoming) = self.0.get(&account)?;
        Some((balance.as_i64()?, available.as_i64()?, incoming.as_i64()?))
    }
}

/// API Gateway's 401 from the authorizer: exactly `{"message":"Unauthorized"}`.
pub fn assert_unauthorized(answer: &Answer, case: &str) {
    assert_eq!(answer.status, 401, "{case}: {:?}", answer.body);
    assert_eq!(answer.body, json!({"message": "Unauthorized"}), "{case}");
    assert_eq!(
        answer.header("x-amzn-errortype"),
        Some("UnauthorizedException"),
        "{case}"
    );
}

/// `answer` is the 404 of a missing object: same code, title and detail up to the id.
pub fn like_missing(answer: &Answer, missing: &Answer, id: &str, missing_id: &str, case: &str) {
    let code = missing.body["code"].as_str().unwrap_or_default();
    assert_problem(answer, 404, code, case);
    assert_eq!(answer.body["title"], missing.body["title"], "{case}");
    let detail = |a: &Answer, id: &str| {
        a.body["detail"]
            .as_str()
            .unwrap_or_default()
            .replace(id, "<id>")
    };
    assert_eq!(detail(answer, id), detail(missing, missing_id), "{case}");
}

/// A function's problem document with `status` and `code`.
pub fn assert_problem(answer: &Answer, status: u16, code: &str, case: &str) {
    assert_eq!(
        (answer.status, answer.body["code"].as_str()),
        (status, Some(code)),
        "{case}: {:?}",
        answer.body
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{case}"
    );
    assert_eq!(answer.body["status"], status, "{case}");
    assert!(
        answer.header("x-amzn-errortype").is_none(),
        "{case}: the function answered, not the gateway"
    );
}

/// The cases of one attack group that were refused as they must be.
#[derive(Debug)]
pub struct Tally {
    pub group: &'static str,
    pub cases: Vec<String>,
}

impl Tally {
    pub fn new(group: &'static str) -> Self {
        Self {
            group,
            cases: Vec::new(),
        }
    }

    /// Records a case whose assertions have passed.
    pub fn refused(&mut self, case: impl Into<String>) {
        let case = case.into();
        assert!(
            !self.cases.contains(&case),
            "case `{case}` is counted twice in {}",
            self.group
        );
        self.cases.push(case);
    }
}
