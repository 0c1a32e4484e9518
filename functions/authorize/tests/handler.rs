//! The token endpoint, in-process, with REST v1 events against in-memory clients and keys.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use paygate_authorize::TokenDeps;
use paygate_shared::{
    ManualClock,
    auth::{
        Expectations, KeyCache, KeyError, KeySet, KeySource, SigningKey, StaticKeySource,
        UnverifiedToken,
    },
    client::{ClientRecord, ClientStatus, SecretHash},
    config::TokenSettings,
    store::{ClientStore, memory::MemoryStore},
};
use paygate_testkit::{AUDIENCE, Answer, Event, ISSUER, T0, answer};
use serde_json::{Value, json};

const LIFETIME_SECONDS: u64 = 900;
const SECRET: &str = "pgs_s3cr:t+with&odd=chars";

struct Server {
    deps: TokenDeps,
    clients: Arc<MemoryStore>,
    keys: Arc<StaticKeySource>,
    first_key: SigningKey,
}

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        lifetime: Duration::from_secs(LIFETIME_SECONDS),
        key_cache_ttl: Duration::ZERO,
    }
}

fn deps(clients: Arc<MemoryStore>, source: Arc<dyn KeySource>) -> TokenDeps {
    TokenDeps {
        clients,
        // No caching: a rotation is seen by the next request.
        keys: Arc::new(KeyCache::new(source, Duration::ZERO)),
        clock: Arc::new(ManualClock::new(T0)),
        tokens: settings(),
        round_trips: None,
        metrics: paygate_shared::metrics::Metrics::off(),
    }
}

async fn server() -> Server {
    let first_key = SigningKey::generate(T0).unwrap();
    let keys = Arc::new(StaticKeySource::new(KeySet::with_signing_key(
        first_key.clone(),
        None,
    )));
    let clients = Arc::new(MemoryStore::new());
    register(
        &clients,
        "app-1",
        &["payments:write", "payments:read", "accounts:read"],
        ClientStatus::Active,
    )
    .await;
    register(
        &clients,
        "reader",
        &["payments:read", "accounts:read"],
        ClientStatus::Active,
    )
    .await;
    register(&clients, "gone", &["payments:read"], ClientStatus::Disabled).await;
    Server {
        deps: deps(clients.clone(), keys.clone()),
        clients,
        keys,
        first_key,
    }
}

async fn register(clients: &MemoryStore, id: &str, scopes: &[&str], status: ClientStatus) {
    clients
        .create_client(&ClientRecord {
            client_id: id.parse().unwrap(),
            secret_hash: SecretHash::new(SECRET, 1_000),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            operator: scopes.contains(&"risk:review") && !id.starts_with("merchant"),
            risk: None,
            status,
            created_at: T0,
        })
        .await
        .unwrap();
}

/// Form-encodes everything but the unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `Authorization: Basic` as RFC 6749 §2.3.1 builds it.
fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

fn token_request(form: &str) -> Event {
    Event::new("POST", "/oauth/token", "/oauth/token").form(form)
}

async fn call(deps: &TokenDeps, event: Event) -> Answer {
    answer(paygate_authorize::handle(deps, event.request()).await)
}

fn oauth_error(error: &str, description: &str) -> Value {
    json!({"error": error, "error_description": description})
}

const FAILED: &str = "client authentication failed";

#[tokio::test]
async fn basic_credentials_get_a_token_for_the_scopes_asked() {
    let server = server().await;
    let event = token_request("grant_type=client_credentials&scope=accounts%3Aread+payments:read")
        .header("Authorization", basic("app-1", SECRET));
    let got = call(&server.deps, event).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("cache-control"), Some("no-store"));
    assert_eq!(got.header("pragma"), Some("no-cache"));
    let token = got.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        got.body,
        json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": LIFETIME_SECONDS,
            "scope": "payments:read accounts:read"
        })
    );

    assert_eq!(
        UnverifiedToken::parse(&token).unwrap().kid(),
        server.first_key.kid
    );
    let claims = server
        .deps
        .keys
        .verify(&token, &Expectations::new(ISSUER, AUDIENCE), T0)
        .await
        .unwrap();
    assert_eq!(claims.sub, "app-1");
    assert_eq!(claims.scope, "payments:read accounts:read");
    assert_eq!(claims.iat, T0.unix_timestamp());
    assert_eq!(claims.exp - claims.iat, LIFETIME_SECONDS as i64);
    assert!(claims.jti.starts_with("tok_"), "{}", claims.jti);
}

#[tokio::test]
async fn body_credentials_without_scope_get_all_the_clients_scopes() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_id=reader&client_secret={}",
        encode(SECRET)
    );
    let got = call(&server.deps, token_request(&form)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["scope"], "payments:read accounts:read");
    let token = got.body["access_token"].as_str().unwrap();
    let claims = server
        .deps
        .keys
        .verify(token, &Expectations::new(ISSUER, AUDIENCE), T0)
        .await
        .unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.scope.as_str()),
        ("reader", "payments:read accounts:read")
    );
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_an_invalid_request() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_id=app-1&client_secret={}",
        encode(SECRET)
    );
    let got = call(
        &server.deps,
        token_request(&form).header("Authorization", basic("app-1", SECRET)),
    )
    .await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.body,
        oauth_error(
            "invalid_request",
            "use one client authentication method: HTTP Basic or the body, not both"
        )
    );
    assert_eq!(got.header("cache-control"), Some("no-store"));
    assert_eq!(got.header("www-authenticate"), None);
}

#[tokio::test]
async fn wrong_secrets_unknown_and_disabled_clients_get_the_same_401() {
    let server = server().await;
    let grant = "grant_type=client_credentials";
    let basic_cases = [
        ("app-1", "pgs_wrong"),
        ("nobody", SECRET),
        ("x", SECRET), // not even a valid client id
        ("gone", SECRET),
        ("app-1", ""),
    ];
    for (id, secret) in basic_cases {
        let got = call(
            &server.deps,
            token_request(grant).header("Authorization", basic(id, secret)),
        )
        .await;
        assert_eq!(got.status, 401, "{id}");
        assert_eq!(got.body, oauth_error("invalid_client", FAILED), "{id}");
        assert_eq!(
            got.header("www-authenticate"),
            Some("Basic realm=\"paygate\""),
            "{id}"
        );
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert_eq!(got.header("cache-control"), Some("no-store"));
    }
    for (id, secret) in [("app-1", "pgs_wrong"), ("nobody", SECRET), ("gone", SECRET)] {
        let form = format!("{grant}&client_id={id}&client_secret={}", encode(secret));
        let got = call(&server.deps, token_request(&form)).await;
        assert_eq!(got.status, 401, "{id}");
        assert_eq!(got.body, oauth_error("invalid_client", FAILED), "{id}");
        assert_eq!(got.header("www-authenticate"), None, "no Basic used");
        assert!(!got.body.to_string().contains("pgs_"), "never echoed");
    }

    let none = call(&server.deps, token_request(grant)).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["error"], "invalid_client");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Basic realm=\"paygate\"")
    );
    let bearer = token_request(grant).header("Authorization", "Bearer abc");
    assert_eq!(call(&server.deps, bearer).await.status, 401);
}

#[tokio::test]
async fn scopes_beyond_the_clients_are_invalid_scope() {
    let server = server().await;
    let ask = |scope: &str| {
        token_request(&format!("grant_type=client_credentials&scope={scope}"))
            .header("Authorization", basic("reader", SECRET))
    };
    let subset = call(&server.deps, ask("payments:read")).await;
    assert_eq!(
        (subset.status, &subset.body["scope"]),
        (200, &json!("payments:read"))
    );
    let cases = [
        (
            "payments:read+payments:write",
            "the requested scope exceeds the client's scopes",
        ),
        ("payments:admin", "a requested scope does not exist"),
        ("+", "the scope parameter names no scope"),
    ];
    for (scope, description) in cases {
        let got = call(&server.deps, ask(scope)).await;
        assert_eq!(got.status, 400, "{scope}");
        assert_eq!(
            got.body,
            oauth_error("invalid_scope", description),
            "{scope}"
        );
    }
}

#[tokio::test]
async fn the_grant_type_and_the_body_are_checked() {
    let server = server().await;
    let auth = basic("app-1", SECRET);
    let cases = [
        (
            token_request("scope=payments:read"),
            "invalid_request",
            "grant_type is required",
        ),
        (
            token_request("grant_type=password&username=a&password=b"),
            "unsupported_grant_type",
            "only the client_credentials grant is supported",
        ),
        (
            token_request("grant_type=client_credentials&grant_type=client_credentials"),
            "invalid_request",
            "a request parameter is repeated",
        ),
        (
            token_request("grant_type=client%zzcredentials"),
            "invalid_request",
            "the body is not valid application/x-www-form-urlencoded",
        ),
        (
            Event::new("POST", "/oauth/token", "/oauth/token")
                .json(&json!({"grant_type": "client_credentials"})),
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ),
    ];
    for (event, error, description) in cases {
        let got = call(&server.deps, event.header("Authorization", auth.clone())).await;
        assert_eq!(got.status, 400, "{description}");
        assert_eq!(got.body, oauth_error(error, description));
    }
}

#[tokio::test]
async fn the_jwks_publishes_current_and_previous_keys() {
    let server = server().await;
    let jwks = || Event::new("GET", "/.well-known/jwks.json", "/.well-known/jwks.json");
    let kids = |answer: &Answer| -> Vec<String> {
        answer.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = call(&server.deps, jwks()).await;
    assert_eq!(before.status, 200);
    assert_eq!(kids(&before), vec![server.first_key.kid.clone()]);

    let second = SigningKey::generate(T0).unwrap();
    server.keys.rotate(second.clone());
    let after = call(&server.deps, jwks()).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(after.header("content-type"), Some("application/json"));
    assert_eq!(
        kids(&after),
        vec![second.kid.clone(), server.first_key.kid.clone()]
    );
    let first = &after.body["keys"][0];
    assert_eq!(
        (&first["kty"], &first["crv"], &first["alg"], &first["use"]),
        (
            &json!("EC"),
            &json!("P-256"),
            &json!("ES256"),
            &json!("sig")
        )
    );
    assert_eq!(
        first.as_object().unwrap().len(),
        7,
        "public members only: {first}"
    );

    // New tokens are signed with the new key.
    let got = call(
        &server.deps,
        token_request("grant_type=client_credentials")
            .header("Authorization", basic("app-1", SECRET)),
    )
    .await;
    let token = got.body["access_token"].as_str().unwrap();
    assert_eq!(UnverifiedToken::parse(token).unwrap().kid(), second.kid);
}

struct Unreachable;

#[async_trait]
impl KeySource for Unreachable {
    async fn load(&self) -> Result<KeySet, KeyError> {
        Err(KeyError::Unavailable(
            "secretsmanager: connect timeout".to_owned(),
        ))
    }
}

#[tokio::test]
async fn unreachable_keys_are_a_retryable_503() {
    let server = server().await;
    let deps = deps(server.clients.clone(), Arc::new(Unreachable));
    let events = [
        token_request("grant_type=client_credentials")
            .header("Authorization", basic("app-1", SECRET)),
        Event::new("GET", "/.well-known/jwks.json", "/.well-known/jwks.json"),
    ];
    for event in events {
        let got = call(&deps, event).await;
        assert_eq!(got.status, 503, "{}", got.body);
        assert_eq!(got.code(), "service_unavailable");
        assert_eq!(got.header("retry-after"), Some("1"));
        assert_eq!(got.header("content-type"), Some("application/problem+json"));
        assert!(
            !got.body.to_string().contains("secretsmanager"),
            "{}",
            got.body
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let server = server().await;
    for event in [
        Event::new("GET", "/oauth/token", "/oauth/token"),
        Event::new("POST", "/oauth/authorize", "/oauth/authorize")
            .form("grant_type=client_credentials"),
    ] {
        let got = call(&server.deps, event).await;
        assert_eq!((got.status, got.code()), (404, "route_not_found"));
    }
}
