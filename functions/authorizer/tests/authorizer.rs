//! The authorizer, in-process, on API Gateway's REQUEST authorizer event (the shape of
//! aws_lambda_events' `example-apigw-custom-auth-request-type-request.json`, trimmed, in
//! `tests/data/`) with static keys and a manual clock.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use lambda_runtime::Diagnostic;
use paygate_authorizer::{AuthorizerDeps, AuthorizerError, Request, authorize};
use paygate_shared::{
    Clock, ManualClock,
    auth::{
        Claims, Expectations, Jwk, KeyCache, KeyError, KeySet, KeySource, SigningKey,
        StaticKeySource, sign,
    },
};
use serde_json::{Value, json};
use sha2::Sha256;
use time::macros::datetime;

const ISSUER: &str = "paygate";
const AUDIENCE: &str = "paygate-api";
const FIXTURE: &str = "tests/data/apigw-custom-auth-request-type-request.json";
const STAGE_WILDCARD: &str = "arn:aws:execute-api:eu-west-1:123456789012:s4x3opwd6i/v1/*/*";

struct Setup {
    deps: AuthorizerDeps,
    keys: Arc<StaticKeySource>,
    clock: Arc<ManualClock>,
    key: SigningKey,
}

fn setup() -> Setup {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-22 10:00 UTC)));
    let key = SigningKey::generate(clock.now()).unwrap();
    // What the public-keys secret holds: verifying keys only.
    let keys = Arc::new(StaticKeySource::new(KeySet::verify_only(vec![
        key.verifying_key(),
    ])));
    Setup {
        deps: deps(keys.clone(), clock.clone()),
        keys,
        clock,
        key,
    }
}

fn deps(source: Arc<dyn KeySource>, clock: Arc<ManualClock>) -> AuthorizerDeps {
    AuthorizerDeps {
        // No caching: a rotation is seen by the next request.
        keys: Arc::new(KeyCache::new(source, Duration::ZERO)),
        expected: Expectations::new(ISSUER, AUDIENCE),
        clock,
    }
}

impl Setup {
    fn claims(&self, sub: &str, scopes: &str, audience: &str) -> Claims {
        Claims::new(
            ISSUER,
            sub,
            audience,
            scopes.parse().unwrap(),
            self.clock.now(),
            time::Duration::minutes(15),
        )
    }

    fn token(&self, sub: &str, scopes: &str) -> String {
        sign(&self.key, &self.claims(sub, scopes, AUDIENCE))
    }
}

/// The fixture event, with `Authorization: {authorization}` when given.
fn event(authorization: Option<&str>) -> Request {
    event_with("Authorization", authorization, None)
}

fn event_with(header: &str, value: Option<&str>, method_arn: Option<&str>) -> Request {
    let path = format!("{}/{FIXTURE}", env!("CARGO_MANIFEST_DIR"));
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if let Some(value) = value {
        json["headers"][header] = json!(value);
        json["multiValueHeaders"][header] = json!([value]);
    }
    if let Some(arn) = method_arn {
        json["methodArn"] = json!(arn);
    }
    serde_json::from_value(json).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn allow(client: &str, scopes: &str) -> Value {
    json!({
        "principalId": client,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": ["execute-api:Invoke"],
                "Effect": "Allow",
                "Resource": [STAGE_WILDCARD]
            }]
        },
        "context": {"client_id": client, "scopes": scopes},
        "usageIdentifierKey": null
    })
}

async fn decide(deps: &AuthorizerDeps, event: Request) -> Result<Value, AuthorizerError> {
    authorize(deps, event)
        .await
        .map(|response| serde_json::to_value(response).unwrap())
}

async fn assert_unauthorized(deps: &AuthorizerDeps, event: Request, case: &str) {
    let err = decide(deps, event).await.unwrap_err();
    assert_eq!(err, AuthorizerError::Unauthorized, "{case}");
    // The exact message API Gateway turns into a 401.
    assert_eq!(
        Diagnostic::from(err).error_message,
        "Unauthorized",
        "{case}"
    );
}

#[tokio::test]
async fn a_valid_token_is_allowed_on_the_whole_stage() {
    let s = setup();
    let token = s.token("app-1", "accounts:read payments:write");
    let got = decide(&s.deps, event(Some(&bearer(&token)))).await.unwrap();
    assert_eq!(got, allow("app-1", "payments:write accounts:read"));

    // Header name and scheme in any case.
    let lower = event_with("authorization", Some(&format!("bearer  {token}")), None);
    assert_eq!(
        decide(&s.deps, lower).await.unwrap(),
        allow("app-1", "payments:write accounts:read")
    );
}

#[tokio::test]
async fn a_token_without_scopes_is_still_allowed() {
    let s = setup();
    let got = decide(&s.deps, event(Some(&bearer(&s.token("app-2", "")))))
        .await
        .unwrap();
    assert_eq!(got, allow("app-2", ""));
}

#[tokio::test]
async fn bad_tokens_and_missing_ones_are_unauthorized() {
    let s = setup();
    let valid = s.claims("app-1", "payments:read", AUDIENCE);
    let segment = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&valid).unwrap());

    let alg_none = format!(
        "{}.{payload}.",
        segment(&json!({"alg": "none", "typ": "JWT", "kid": s.key.kid}))
    );
    // The classic confusion: HMAC keyed with the published public key.
    let hs256_input = format!(
        "{}.{payload}",
        segment(&json!({"alg": "HS256", "typ": "JWT", "kid": s.key.kid}))
    );
    let public_jwk = serde_json::to_vec(&Jwk::from(&s.key.verifying_key())).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&public_jwk).unwrap();
    mac.update(hs256_input.as_bytes());
    let hs256 = format!(
        "{hs256_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let stranger = SigningKey::generate(s.clock.now()).unwrap();
    let unknown_kid = sign(&stranger, &valid);
    let wrong_audience = sign(&s.key, &s.claims("app-1", "payments:read", "another-api"));
    let not_a_client_id = sign(&s.key, &s.claims("a", "payments:read", AUDIENCE));
    let mut tampered = s.token("app-1", "payments:read").into_bytes();
    let inside_signature = tampered.len() - 20;
    tampered[inside_signature] = if tampered[inside_signature] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = String::from_utf8(tampered).unwrap();

    let cases = [
        ("alg none", Some(bearer(&alg_none))),
        ("HS256 with the public key", Some(bearer(&hs256))),
        ("unknown kid", Some(bearer(&unknown_kid))),
        ("wrong audience", Some(bearer(&wrong_audience))),
        ("subject not a client id", Some(bearer(&not_a_client_id))),
        ("tampered signature", Some(bearer(&tampered))),
        ("not a JWT", Some(bearer("abc"))),
        ("empty bearer", Some("Bearer ".to_owned())),
        ("no scheme", Some(s.token("app-1", "payments:read"))),
        ("Basic", Some("Basic YXBwLTE6c2VjcmV0".to_owned())),
        ("no header", None),
    ];
    for (case, header) in cases {
        assert_unauthorized(&s.deps, event(header.as_deref()), case).await;
    }
}

#[tokio::test]
async fn an_expired_token_is_unauthorized() {
    let s = setup();
    let token = s.token("app-1", "payments:read");
    // 15 minutes of life plus 30 seconds of leeway.
    s.clock.advance(time::Duration::seconds(15 * 60 + 29));
    assert!(decide(&s.deps, event(Some(&bearer(&token)))).await.is_ok());
    s.clock.advance(time::Duration::seconds(1));
    assert_unauthorized(&s.deps, event(Some(&bearer(&token))), "expired").await;
}

#[tokio::test]
async fn the_previous_key_verifies_for_one_rotation_only() {
    let s = setup();
    let token = s.token("app-1", "payments:read");
    let second = SigningKey::generate(s.clock.now()).unwrap();
    s.keys.rotate(second);
    assert_eq!(
        decide(&s.deps, event(Some(&bearer(&token)))).await.unwrap(),
        allow("app-1", "payments:read")
    );
    let third = SigningKey::generate(s.clock.now()).unwrap();
    s.keys.rotate(third);
    assert_unauthorized(&s.deps, event(Some(&bearer(&token))), "two rotations").await;
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
async fn unreachable_keys_are_an_error_not_unauthorized() {
    let s = setup();
    let deps = deps(Arc::new(Unreachable), s.clock.clone());
    let err = decide(
        &deps,
        event(Some(&bearer(&s.token("app-1", "payments:read")))),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, AuthorizerError::Keys(KeyError::Unavailable(_))),
        "{err:?}"
    );
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "KeysUnavailable");
    assert_ne!(diagnostic.error_message, "Unauthorized");
}

#[tokio::test]
async fn a_malformed_method_arn_is_an_error_even_with_a_valid_token() {
    let s = setup();
    let token = bearer(&s.token("app-1", "payments:read"));
    for arn in [
        "",
        "arn:aws:execute-api:eu-west-1:123456789012:s4x3opwd6i",
        "not-an-arn",
    ] {
        let err = decide(
            &s.deps,
            event_with("Authorization", Some(&token), Some(arn)),
        )
        .await
        .unwrap_err();
        assert_eq!(err, AuthorizerError::MalformedMethodArn, "{arn}");
        assert_ne!(Diagnostic::from(err).error_message, "Unauthorized");
    }
}
