//! Support for the webhook end-to-end tests: the Python receiver (tests/webhooks/receiver.py,
//! verifying every request with the `standardwebhooks` package from PyPI), `paygate-local`
//! started as its command line would start it (in this process, or as its own binary for the
//! crash test), a seed of two clients, and a client of the API.
#![allow(dead_code)]

pub mod checks;
pub mod gateway;
pub mod receiver;

use std::{net::SocketAddr, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use paygate_testkit::{Answer, http::send};
use serde_json::{Value, json};

/// The payer: two funded CNY accounts.
pub const PAYER: &str = "webhook-payer";
/// The payee: one CNY account, empty.
pub const SHOP: &str = "webhook-shop";
pub const PAYER_ACCOUNTS: [&str; 2] = [
    "acc_01KAS0WHPAYER000000000000A",
    "acc_01KAS0WHPAYER000000000000B",
];
pub const SHOP_ACCOUNT: &str = "acc_01KAS0WHSH0P00000000000000";
pub const OPENING: i64 = 1_000_000;

/// The seed file of the two clients (every scope, the premium plan so that bursts are not
/// throttled), as `--seed` reads it.
pub fn seed_file() -> Value {
    let client = |id: &str| {
        json!({"client_id": id, "client_secret": format!("{id}-secret-0123456789"),
               "api_key": format!("{id}-api-key-0123456789"), "usage_plan": "premium",
               "scopes": ["payments:write", "payments:read", "accounts:read", "webhooks:manage"]})
    };
    let account = |id: &str, owner: &str, balance: i64| json!({"account_id": id, "owner": owner, "currency": "CNY", "balance": balance});
    json!({
        "clients": [client(PAYER), client(SHOP)],
        "accounts": [account(PAYER_ACCOUNTS[0], PAYER, OPENING),
                     account(PAYER_ACCOUNTS[1], PAYER, OPENING),
                     account(SHOP_ACCOUNT, SHOP, 0)],
    })
}

/// A client of the gateway: its API key and bearer token.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub addr: SocketAddr,
    pub api_key: String,
    pub token: String,
}

impl Client {
    /// `id` of [`seed_file`], with a fresh token.
    pub async fn login(addr: SocketAddr, id: &str) -> Self {
        let api_key = format!("{id}-api-key-0123456789");
        let basic = STANDARD.encode(format!("{id}:{id}-secret-0123456789"));
        let answer = send(
            addr,
            "POST",
            "/v1/oauth/token",
            &[
                ("x-api-key", api_key.as_str()),
                ("authorization", &format!("Basic {basic}")),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "grant_type=client_credentials",
        )
        .await;
        assert_eq!(answer.status, 200, "token for {id}: {:?}", answer.body);
        Self {
            id: id.to_owned(),
            addr,
            api_key,
            token: answer.body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let bearer = format!("Bearer {}", self.token);
        let key = format!("wh-{}", ulid::Ulid::new());
        let mut headers = vec![
            ("x-api-key", self.api_key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        if method == "POST" {
            headers.push(("idempotency-key", key.as_str()));
        }
        let body = match body {
            Some(body) => {
                headers.push(("content-type", "application/json"));
                body.to_string()
            }
            None => String::new(),
        };
        send(self.addr, method, &format!("/v1{path}"), &headers, body).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    /// `POST` expecting `status`; the answer's body.
    pub async fn post_ok(&self, path: &str, body: Value, status: u16) -> Value {
        let answer = self.call("POST", path, Some(body)).await;
        assert_eq!(answer.status, status, "POST {path}: {:?}", answer.body);
        answer.body
    }

    /// Registers an endpoint at `url` (all event types unless `events`); the created view.
    pub async fn register(&self, url: &str, events: Option<&[&str]>) -> Value {
        let mut body = json!({"url": url, "description": "e2e"});
        if let Some(events) = events {
            body["events"] = json!(events);
        }
        let created = self.post_ok("/webhook_endpoints", body, 201).await;
        assert!(
            created["secret"]
                .as_str()
                .is_some_and(|s| s.starts_with("whsec_")),
            "{created:?}"
        );
        created
    }

    /// `GET /events/{id}`, which must answer 200.
    pub async fn event(&self, id: &str) -> Value {
        let answer = self.get(&format!("/events/{id}")).await;
        assert_eq!(answer.status, 200, "GET /events/{id}: {:?}", answer.body);
        answer.body
    }

    /// Every event of this client (following cursors), newest first.
    pub async fn events(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut path = "/events?limit=100".to_owned();
        loop {
            let page = self.get(&path).await;
            assert_eq!(page.status, 200, "GET {path}: {:?}", page.body);
            all.extend(page.body["data"].as_array().cloned().unwrap_or_default());
            match page.body["next_cursor"].as_str() {
                Some(cursor) if page.body["has_more"] == true => {
                    path = format!("/events?limit=100&cursor={cursor}");
                }
                _ => return all,
            }
        }
    }
}

/// A payment of `amount` from the payer's first account to the shop (`confirm`: one step).
pub fn payment(amount: i64, confirm: bool) -> Value {
    json!({"source_account": PAYER_ACCOUNTS[0], "destination_account": SHOP_ACCOUNT,
           "amount": amount, "currency": "CNY", "confirm": confirm})
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < timeout,
            "not within {timeout:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The event object a delivery carries: the detail view less its delivery records.
pub fn without_deliveries(detail: &Value) -> Value {
    let mut event = detail.clone();
    if let Some(map) = event.as_object_mut() {
        map.remove("deliveries");
    }
    event
}
