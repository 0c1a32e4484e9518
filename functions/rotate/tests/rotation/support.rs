//! The harness: fresh secrets on moto (`PAYGATE_TEST_DYNAMODB_ENDPOINT`, which serves every
//! service on one endpoint; set by `bash tests/run.sh`), and Secrets Manager's own part of a
//! rotation around the four steps.
//!
//! moto (5.x) cannot invoke the function itself: its `RotateSecret` runs the steps only through
//! a Lambda it hosts (in Docker), and without a Lambda ARN it makes an empty version
//! `AWSCURRENT` at once. Given the ARN of a Lambda it does not have, it first records the
//! rotation exactly as Secrets Manager does before calling `createSecret` (rotation enabled, the
//! token a new `AWSPENDING` version without a value) and then answers
//! `ResourceNotFoundException`. [`Fixture::begin`] uses that, checks the recorded state, and
//! the tests call `rotate()` for each step.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_secretsmanager::{Client, config::Credentials, types::RotationRulesType};
use paygate_rotate::{RotateDeps, RotateError, RotationEvent, RotationStep, rotate};
use paygate_shared::{
    Clock, ManualClock,
    auth::{
        AuthError, Claims, Expectations, KeyCache, Scopes, SecretsManagerPublicKeys,
        SecretsManagerSigningKeys, SigningKeyDocument,
    },
};
use time::{OffsetDateTime, macros::datetime};
use ulid::Ulid;

/// What a fresh deployment puts in the signing-key secret before the first rotation.
pub const PLACEHOLDER: &str = r#"{"pending":"first rotation"}"#;
/// A function moto does not host (see the module comment).
const ABSENT_LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:paygate-rotate-absent";
const START: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

/// A Secrets Manager client on moto. Without the endpoint the test fails: it would otherwise
/// pass while proving nothing.
pub async fn moto_client() -> Client {
    let endpoint = std::env::var("PAYGATE_TEST_DYNAMODB_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
        .expect(
            "PAYGATE_TEST_DYNAMODB_ENDPOINT is not set: run the suite with `bash tests/run.sh`",
        );
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "paygate-test"))
        .load()
        .await;
    Client::new(&config)
}

/// A signing-key secret and a public-keys secret of their own, both holding the deployment's
/// placeholder; the signing-key secret is not yet enabled for rotation.
pub struct Fixture {
    pub client: Client,
    pub signing_id: String,
    pub public_id: String,
    pub clock: Arc<ManualClock>,
    pub deps: RotateDeps,
}

impl Fixture {
    pub async fn new() -> Self {
        let client = moto_client().await;
        let run = Ulid::new();
        let signing_id = format!("paygate-test-{run}-signing-key");
        let public_id = format!("paygate-test-{run}-public-keys");
        for id in [&signing_id, &public_id] {
            client
                .create_secret()
                .name(id)
                .secret_string(PLACEHOLDER)
                .send()
                .await
                .unwrap();
        }
        let clock = Arc::new(ManualClock::new(START));
        let deps = RotateDeps {
            client: client.clone(),
            public_secret_id: public_id.clone(),
            clock: clock.clone(),
        };
        Self {
            client,
            signing_id,
            public_id,
            clock,
            deps,
        }
    }

    /// Starts a rotation as Secrets Manager does before invoking `createSecret`; returns the
    /// new version's token.
    pub async fn begin(&self) -> String {
        let token = format!("{:032x}", Ulid::new().0);
        let started = self
            .client
            .rotate_secret()
            .secret_id(&self.signing_id)
            .client_request_token(&token)
            .rotation_lambda_arn(ABSENT_LAMBDA)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .send()
            .await;
        assert!(
            started
                .as_ref()
                .err()
                .and_then(|e| e.as_service_error())
                .is_some_and(|e| e.is_resource_not_found_exception()),
            "moto's RotateSecret no longer refuses an absent Lambda: {started:?}"
        );
        let stages = self.stages().await;
        assert_eq!(stages[&token], ["AWSPENDING"], "{stages:?}");
        let described = self.describe().await;
        assert_eq!(described.rotation_enabled, Some(true));
        token
    }

    /// One step of the rotation to `token`.
    pub async fn step(&self, token: &str, step: RotationStep) -> Result<(), RotateError> {
        self.step_on(&self.signing_id, token, step).await
    }

    pub async fn step_on(
        &self,
        secret_id: &str,
        token: &str,
        step: RotationStep,
    ) -> Result<(), RotateError> {
        let event = RotationEvent {
            secret_id: secret_id.to_owned(),
            client_request_token: token.to_owned(),
            step,
        };
        rotate(&self.deps, event).await
    }

    /// Secrets Manager's part after `finishSecret`: it may leave `AWSPENDING` on the new
    /// current version or remove it, and moto's `RotateSecret` refuses to start the next
    /// rotation while they share a version, so it is removed here.
    pub async fn end(&self, token: &str) {
        self.client
            .update_secret_version_stage()
            .secret_id(&self.signing_id)
            .version_stage("AWSPENDING")
            .remove_from_version_id(token)
            .send()
            .await
            .unwrap();
    }

    /// A whole rotation, a day after the previous one; returns the new version's token.
    pub async fn rotation(&self) -> String {
        self.clock.advance(time::Duration::days(1));
        let token = self.begin().await;
        for step in RotationStep::ALL {
            self.step(&token, step).await.unwrap();
        }
        self.end(&token).await;
        token
    }

    pub async fn describe(
        &self,
    ) -> aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput {
        self.client
            .describe_secret()
            .secret_id(&self.signing_id)
            .send()
            .await
            .unwrap()
    }

    /// Each version of the signing-key secret with its labels; versions without any are left
    /// out (Secrets Manager does not list them).
    pub async fn stages(&self) -> HashMap<String, Vec<String>> {
        let mut stages = self
            .describe()
            .await
            .version_ids_to_stages
            .unwrap_or_default();
        stages.retain(|_, labels| !labels.is_empty());
        stages
    }

    /// The version of the signing-key secret carrying `stage`.
    pub async fn version_with(&self, stage: &str) -> Option<String> {
        self.stages()
            .await
            .into_iter()
            .find(|(_, labels)| labels.iter().any(|l| l == stage))
            .map(|(id, _)| id)
    }

    /// The `SecretString` and version id of `secret_id`'s version with `stage`.
    pub async fn value(&self, secret_id: &str, stage: &str) -> (String, String) {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .send()
            .await
            .unwrap();
        (out.secret_string.unwrap(), out.version_id.unwrap())
    }

    /// The signing-key document of the signing-key secret's version with `stage`.
    pub async fn document(&self, stage: &str) -> SigningKeyDocument {
        serde_json::from_str(&self.value(&self.signing_id, stage).await.0).unwrap()
    }

    /// The key id of the signing-key secret's version with `stage`.
    pub async fn kid(&self, stage: &str) -> String {
        self.document(stage).await.kid.clone()
    }

    /// The key ids the public JWKS secret publishes, in order.
    pub async fn published_kids(&self) -> Vec<String> {
        let jwks: paygate_shared::auth::Jwks =
            serde_json::from_str(&self.value(&self.public_id, "AWSCURRENT").await.0).unwrap();
        jwks.keys.into_iter().map(|k| k.kid).collect()
    }

    /// A fresh sandbox's key cache over the signing-key secret (what the token endpoint uses).
    pub fn signing_cache(&self) -> KeyCache {
        cache(SecretsManagerSigningKeys::new(
            self.client.clone(),
            &self.signing_id,
        ))
    }

    /// A fresh sandbox's key cache over the public JWKS secret (what every verifier uses).
    pub fn public_cache(&self) -> KeyCache {
        cache(SecretsManagerPublicKeys::new(
            self.client.clone(),
            &self.public_id,
        ))
    }
}

fn cache(source: impl paygate_shared::auth::KeySource + 'static) -> KeyCache {
    KeyCache::new(Arc::new(source), Duration::from_secs(300)).with_min_refresh(Duration::ZERO)
}

/// An access token signed with the signing key `cache` holds now; returns it with its issue
/// time.
pub async fn issue(cache: &KeyCache, clock: &ManualClock) -> (String, OffsetDateTime) {
    let now = clock.now();
    let claims = Claims::new(
        "paygate",
        "client-1",
        "paygate-api",
        Scopes::empty(),
        now,
        time::Duration::minutes(15),
    );
    let key = cache.signing_key().await.unwrap();
    (paygate_shared::auth::sign(&key, &claims), now)
}

/// Verifies `token` through `cache` a minute after it was issued.
pub async fn check(
    cache: &KeyCache,
    token: &(String, OffsetDateTime),
) -> Result<Claims, AuthError> {
    let expected = Expectations::new("paygate", "paygate-api");
    cache
        .verify(&token.0, &expected, token.1 + time::Duration::minutes(1))
        .await
}
