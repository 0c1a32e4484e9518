//! Test support: a gateway on 127.0.0.1 (port 0) over the embedded store with a manual clock,
//! spoken to with testkit's HTTP/1.1 client.
#![allow(dead_code)]

pub mod receiver;
pub mod webhooks;

use std::{net::SocketAddr, sync::Arc};

use base64::{Engine, engine::general_purpose::STANDARD};
use hyper::body::Bytes;
use paygate_local::{Backend, Background, Gateway, seed};
use paygate_shared::ManualClock;
use paygate_template::{BUNDLED, Template};
use serde_json::{Value, json};
use time::macros::datetime;

pub struct Running {
    pub api: Api,
    pub gateway: Arc<Gateway>,
    pub clock: Arc<ManualClock>,
    _server: Background,
}

impl std::ops::Deref for Running {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// A client of a gateway at `addr` with the demo seed's credentials.
#[derive(Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub seeded: seed::Seeded,
}

/// The bundled template with each `(from, to)` replaced once (and asserted to be there).
pub fn template_with(replacements: &[(&str, &str)]) -> Template {
    let mut text = BUNDLED.to_owned();
    for (from, to) in replacements {
        assert!(text.contains(from), "the template has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    Template::parse(&text).expect("the modified template parses")
}

/// A gateway of `template` with the demo seed, serving on a free port.
pub async fn start(template: &Template) -> Running {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
    let backend = Backend::in_memory(clock.clone()).expect("keys");
    start_on(template, backend, clock).await
}

/// As [`start`], on `backend` (whose clock is `clock`).
pub async fn start_on(template: &Template, backend: Backend, clock: Arc<ManualClock>) -> Running {
    let mut gateway = Gateway::new(template, backend).expect("gateway");
    let seeded = seed::demo(&mut gateway).await.expect("seed");
    let gateway = Arc::new(gateway);
    let server = Background::start(gateway.clone()).await.expect("serve");
    Running {
        api: Api {
            addr: server.addr(),
            seeded,
        },
        gateway,
        clock,
        _server: server,
    }
}

pub async fn start_bundled() -> Running {
    start(&Template::bundled().expect("bundled template")).await
}

pub use paygate_testkit::{Answer, http::send};

impl Api {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        send(self.addr, method, path, headers, body).await
    }

    /// An access token of the demo client, through `POST /v1/oauth/token`.
    pub async fn token(&self) -> String {
        let basic = STANDARD.encode(format!(
            "{}:{}",
            self.seeded.client_id, self.seeded.client_secret
        ));
        let answer = self
            .send(
                "POST",
                "/v1/oauth/token",
                &[
                    ("x-api-key", &self.seeded.api_key),
                    ("authorization", &format!("Basic {basic}")),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// `GET` with the demo API key and a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> Answer {
        let bearer = format!("Bearer {token}");
        self.send(
            "GET",
            path,
            &[
                ("x-api-key", &self.seeded.api_key),
                ("authorization", &bearer),
            ],
            Bytes::new(),
        )
        .await
    }

    /// `POST` of JSON with the demo API key, a bearer token and an idempotency key.
    pub async fn post(&self, path: &str, token: &str, body: Option<Value>) -> Answer {
        let bearer = format!("Bearer {token}");
        let idem = format!("idem-{}", rand_suffix());
        let mut headers = vec![
            ("x-api-key", self.seeded.api_key.as_str()),
            ("authorization", bearer.as_str()),
            ("idempotency-key", idem.as_str()),
        ];
        let body = match body {
            Some(body) => {
                headers.push(("content-type", "application/json"));
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        self.send("POST", path, &headers, body).await
    }

    /// A payment between the two demo accounts.
    pub fn payment(&self, amount: i64, confirm: bool) -> Value {
        json!({
            "source_account": self.seeded.accounts[0].to_string(),
            "destination_account": self.seeded.accounts[1].to_string(),
            "amount": amount,
            "currency": "CNY",
            "confirm": confirm,
        })
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Keys that work until `fail` is set, then are unreachable.
pub struct FlakyKeys {
    pub inner: paygate_shared::auth::StaticKeySource,
    pub fail: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl paygate_shared::auth::KeySource for FlakyKeys {
    async fn load(&self) -> Result<paygate_shared::auth::KeySet, paygate_shared::auth::KeyError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(paygate_shared::auth::KeyError::Unavailable("test".into()));
        }
        self.inner.load().await
    }
}

/// A gateway of the bundled template whose keys fail once the returned switch is set.
pub async fn start_with_flaky_keys() -> (Running, Arc<FlakyKeys>) {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
    let mut backend = Backend::in_memory(clock.clone()).expect("keys");
    let key =
        paygate_shared::auth::SigningKey::generate(datetime!(2026-11-23 10:00 UTC)).expect("key");
    let keys = Arc::new(FlakyKeys {
        inner: paygate_shared::auth::StaticKeySource::new(
            paygate_shared::auth::KeySet::with_signing_key(key, None),
        ),
        fail: std::sync::atomic::AtomicBool::new(false),
    });
    backend.signing_keys = keys.clone();
    backend.public_keys = keys.clone();
    let template = Template::bundled().expect("bundled template");
    (start_on(&template, backend, clock).await, keys)
}

/// A gateway started as the binary starts one, from command-line arguments (without the
/// program name), with a client for it.
pub async fn start_cli(args: &[&str]) -> (paygate_local::cli::Running, Api) {
    use clap::Parser;
    let args = paygate_local::cli::Args::try_parse_from(
        std::iter::once("paygate-local").chain(args.iter().copied()),
    )
    .expect("valid arguments");
    let running = paygate_local::cli::start(&args)
        .await
        .expect("gateway starts");
    let seeded = running.seeded.clone().expect("the demo seed");
    let api = Api {
        addr: running.addr,
        seeded,
    };
    (running, api)
}

/// moto's endpoint (`bash tests/run.sh` starts it).
pub fn moto() -> String {
    std::env::var("PAYGATE_TEST_DYNAMODB_ENDPOINT").expect(
        "PAYGATE_TEST_DYNAMODB_ENDPOINT is not set: these tests need moto; run them with \
         `bash tests/run.sh -- -p paygate-gateway-tests`",
    )
}

/// A name no other test run uses, for tables and secrets on the shared moto.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The arguments that put a gateway's store and keys on moto, under fresh names.
pub fn on_moto(names: &str) -> Vec<String> {
    let endpoint = moto();
    vec![
        "--dynamodb-endpoint".into(),
        endpoint.clone(),
        "--secrets-endpoint".into(),
        endpoint,
        "--accounts-table".into(),
        format!("{names}-accounts"),
        "--transactions-table".into(),
        format!("{names}-transactions"),
        "--signing-key-secret".into(),
        format!("{names}-signing"),
        "--public-keys-secret".into(),
        format!("{names}-public"),
        "--webhook-key-secret".into(),
        format!("{names}-webhook-key"),
    ]
}

/// The whole payment life cycle through the gateway: token, a pending payment confirmed, one
/// cancelled, a one-step payment, the balance and the ledger; returns the payer's balance.
pub async fn payment_flow(api: &Api) -> Value {
    let token = api.token().await;
    let (payer, payee) = (
        api.seeded.accounts[0].to_string(),
        api.seeded.accounts[1].to_string(),
    );
    let before = api
        .get(&format!("/v1/accounts/{payer}/balance"), &token)
        .await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    let available = before.body["available"].as_i64().expect("available");

    let pending = api
        .post("/v1/payments", &token, Some(api.payment(1250, false)))
        .await;
    assert_eq!(pending.status, 201, "{:?}", pending.body);
    assert_eq!(pending.body["status"], "pending");
    let id = pending.body["id"].as_str().expect("id").to_owned();
    let confirmed = api
        .post(&format!("/v1/payments/{id}/confirm"), &token, None)
        .await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(confirmed.body["status"], "succeeded");
    let again = api
        .post(&format!("/v1/payments/{id}/confirm"), &token, None)
        .await;
    assert_eq!(again.status, 200, "confirm is idempotent: {:?}", again.body);

    let held = api
        .post("/v1/payments", &token, Some(api.payment(500, false)))
        .await;
    assert_eq!(held.status, 201, "{:?}", held.body);
    let held_id = held.body["id"].as_str().expect("id").to_owned();
    let cancelled = api
        .post(&format!("/v1/payments/{held_id}/cancel"), &token, None)
        .await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["status"], "canceled");

    let one_step = api
        .post("/v1/payments", &token, Some(api.payment(250, true)))
        .await;
    assert_eq!(one_step.status, 201, "{:?}", one_step.body);
    assert_eq!(one_step.body["status"], "succeeded");

    let after = api
        .get(&format!("/v1/accounts/{payer}/balance"), &token)
        .await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["available"].as_i64(), Some(available - 1500));
    let payee_balance = api
        .get(&format!("/v1/accounts/{payee}/balance"), &token)
        .await;
    assert_eq!(payee_balance.status, 200);

    let ledger = api
        .get(
            &format!("/v1/accounts/{payer}/transactions?limit=2"),
            &token,
        )
        .await;
    assert_eq!(ledger.status, 200, "{:?}", ledger.body);
    let entries = ledger.body["data"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["amount"].as_i64(), Some(250));
    assert_eq!(entries[0]["direction"], "debit");
    assert_eq!(
        entries[0]["balance_after"].as_i64(),
        after.body["balance"].as_i64()
    );
    let cursor = ledger.body["next_cursor"].as_str().expect("a next page");
    let next = api
        .get(
            &format!("/v1/accounts/{payer}/transactions?limit=2&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    after.body
}
