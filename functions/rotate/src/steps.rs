//! The four rotation steps, once `rotate` has checked that the event's version is the
//! `AWSPENDING` one. Each may run again after it succeeded, and then changes nothing.

use p256::elliptic_curve::zeroize::Zeroizing;
use paygate_shared::auth::{
    Claims, Expectations, Jwks, KeyError, KeySource, Scopes, SecretsManagerPublicKeys, SigningKey,
    VerifyingKey, put_public_jwks, sign, verify,
};

use crate::{
    RotateDeps, RotateError,
    secret::{self, CURRENT, Metadata, PENDING, PREVIOUS},
};

/// The throwaway token of `testSecret` is addressed to no real audience.
const TEST_ISSUER: &str = "paygate-rotate";
const TEST_AUDIENCE: &str = "paygate-rotate-test";

/// `createSecret`: a fresh key as the `AWSPENDING` version, unless that version has one.
pub async fn create(deps: &RotateDeps, secret_id: &str, token: &str) -> Result<(), RotateError> {
    if secret::value(&deps.client, secret_id, Some(token), PENDING)
        .await?
        .is_some()
    {
        tracing::info!(secret_id, token, "the pending version already holds a key");
        return Ok(());
    }
    let now = deps.clock.now();
    let key = SigningKey::generate(now)?;
    let json = serde_json::to_string(&key.to_document(now)?)
        .map_err(|_| KeyError::Invalid(format!("signing key {} does not serialize", key.kid)))?;
    secret::put_pending(&deps.client, secret_id, token, &Zeroizing::new(json)).await?;
    tracing::info!(secret_id, token, kid = %key.kid, "new signing key stored as AWSPENDING");
    Ok(())
}

/// `setSecret`: publishes the pending key, then the current one (if it is a key at all), in
/// the public JWKS secret; nothing is written when the JWKS says exactly that already.
pub async fn set(deps: &RotateDeps, secret_id: &str, token: &str) -> Result<(), RotateError> {
    let pending = pending_key(deps, secret_id, token).await?;
    let current = match secret::value(&deps.client, secret_id, None, CURRENT).await? {
        Some(json) => usable_key(secret_id, CURRENT, &json),
        None => None,
    };
    let published: Vec<VerifyingKey> = std::iter::once(pending.verifying_key())
        .chain(
            current
                .map(|key| key.verifying_key())
                .filter(|key| key.kid != pending.kid),
        )
        .collect();
    let jwks = Jwks::from_keys(&published);
    let public = deps.public_secret_id.as_str();
    let already = secret::value(&deps.client, public, None, CURRENT)
        .await?
        .and_then(|json| serde_json::from_str::<Jwks>(&json).ok());
    let kids: Vec<&str> = published.iter().map(|k| k.kid.as_str()).collect();
    if already.as_ref() == Some(&jwks) {
        tracing::info!(public, ?kids, "the public keys are already published");
        return Ok(());
    }
    put_public_jwks(&deps.client, public, &jwks).await?;
    tracing::info!(public, ?kids, "public keys published");
    Ok(())
}

/// `testSecret`: a token signed with the pending key verifies with the key published for it.
pub async fn test(deps: &RotateDeps, secret_id: &str, token: &str) -> Result<(), RotateError> {
    let pending = pending_key(deps, secret_id, token).await?;
    let published = SecretsManagerPublicKeys::new(deps.client.clone(), &deps.public_secret_id)
        .load()
        .await?;
    let Some(key) = published.find(&pending.kid).cloned() else {
        return Err(RotateError::NotPublished {
            kid: pending.kid,
            public_secret_id: deps.public_secret_id.clone(),
        });
    };
    let now = deps.clock.now();
    let claims = Claims::new(
        TEST_ISSUER,
        TEST_ISSUER,
        TEST_AUDIENCE,
        Scopes::empty(),
        now,
        time::Duration::minutes(1),
    );
    let expected = Expectations::new(TEST_ISSUER, TEST_AUDIENCE);
    verify(&sign(&pending, &claims), |_| Some(key), &expected, now).map_err(|reason| {
        RotateError::TestFailed {
            kid: pending.kid.clone(),
            reason,
        }
    })?;
    tracing::info!(secret_id, token, kid = %pending.kid, "the pending key signs and verifies");
    Ok(())
}

/// `finishSecret`: `AWSCURRENT` moves to the pending version (Secrets Manager moves
/// `AWSPREVIOUS` to the version it left).
pub async fn finish(
    deps: &RotateDeps,
    secret_id: &str,
    token: &str,
    metadata: &Metadata,
) -> Result<(), RotateError> {
    let current = metadata
        .version_with(CURRENT)
        .ok_or_else(|| RotateError::NoCurrentVersion {
            secret_id: secret_id.to_owned(),
        })?;
    secret::move_stage(&deps.client, secret_id, CURRENT, Some(token), Some(current)).await?;
    tracing::info!(secret_id, token, "the pending key is now current");
    drop_unusable_previous(deps, secret_id, current).await
}

/// Removes `AWSPREVIOUS` from version `previous` unless it holds a signing key. After the
/// first rotation it labels the deployment's placeholder, which signed nothing, and which
/// would make every load of the signing keys fail (they verify with `AWSPREVIOUS` too).
pub async fn drop_unusable_previous(
    deps: &RotateDeps,
    secret_id: &str,
    previous: &str,
) -> Result<(), RotateError> {
    let value = secret::value(&deps.client, secret_id, Some(previous), PREVIOUS).await?;
    if value.is_some_and(|json| usable_key(secret_id, PREVIOUS, &json).is_some()) {
        return Ok(());
    }
    secret::move_stage(&deps.client, secret_id, PREVIOUS, None, Some(previous)).await?;
    tracing::info!(
        secret_id,
        previous,
        "AWSPREVIOUS removed from a version without a key"
    );
    Ok(())
}

/// The key of the `AWSPENDING` version `token`.
async fn pending_key(
    deps: &RotateDeps,
    secret_id: &str,
    token: &str,
) -> Result<SigningKey, RotateError> {
    let json = secret::value(&deps.client, secret_id, Some(token), PENDING)
        .await?
        .ok_or_else(|| RotateError::PendingKeyMissing {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
        })?;
    Ok(secret::signing_key(secret_id, &json)?)
}

/// The key a version holds, or `None` when it holds none: the placeholder a fresh deployment
/// starts with, or anything else that is not a signing-key document.
fn usable_key(secret_id: &str, stage: &str, json: &str) -> Option<SigningKey> {
    match secret::signing_key(secret_id, json) {
        Ok(key) => Some(key),
        Err(err) => {
            tracing::info!(secret_id, stage, error = %err, "this version holds no signing key");
            None
        }
    }
}
