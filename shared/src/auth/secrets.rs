//! Key sources backed by AWS Secrets Manager, and the writes an admin tool needs.
//!
//! Two secrets, for least privilege:
//! - the signing-key secret, a [`SigningKeyDocument`] per version, readable only by the token
//!   and rotation functions: `AWSCURRENT` signs, `AWSPREVIOUS` (if any) still verifies;
//! - the public-keys secret, a [`Jwks`] (current first), readable by every function that only
//!   verifies.
//!
//! Putting a new value makes it `AWSCURRENT` and moves the old one to `AWSPREVIOUS`, which is
//! exactly a rotation.

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use aws_sdk_secretsmanager::{Client, error::DisplayErrorContext};
use p256::elliptic_curve::zeroize::Zeroizing;
use sha2::{Digest, Sha256};

use super::{Jwks, KeyError, KeySet, KeySource, SigningKey, SigningKeyDocument, VerifyingKey};

const CURRENT: &str = "AWSCURRENT";
const PREVIOUS: &str = "AWSPREVIOUS";

/// The signing-key secret: signs with its current version, verifies with current and previous.
#[derive(Debug, Clone)]
pub struct SecretsManagerSigningKeys {
    client: Client,
    secret_id: String,
}

impl SecretsManagerSigningKeys {
    /// `secret_id` is the secret's name or ARN.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

#[async_trait]
impl KeySource for SecretsManagerSigningKeys {
    async fn load(&self) -> Result<KeySet, KeyError> {
        let current = secret_string(&self.client, &self.secret_id, CURRENT)
            .await?
            .ok_or_else(|| missing(&self.secret_id))?;
        let current = SigningKey::from_document(&parse_document(&self.secret_id, &current)?)?;
        let previous = match secret_string(&self.client, &self.secret_id, PREVIOUS).await? {
            Some(json) => Some(SigningKey::from_document(&parse_document(
                &self.secret_id,
                &json,
            )?)?),
            None => None,
        };
        Ok(KeySet::with_signing_key(
            current,
            previous.map(|key| key.verifying_key()),
        ))
    }
}

/// The public-keys secret: a JWKS, verifying only.
#[derive(Debug, Clone)]
pub struct SecretsManagerPublicKeys {
    client: Client,
    secret_id: String,
}

impl SecretsManagerPublicKeys {
    /// `secret_id` is the secret's name or ARN.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

#[async_trait]
impl KeySource for SecretsManagerPublicKeys {
    async fn load(&self) -> Result<KeySet, KeyError> {
        let json = secret_string(&self.client, &self.secret_id, CURRENT)
            .await?
            .ok_or_else(|| missing(&self.secret_id))?;
        let jwks: Jwks =
            serde_json::from_str(&json).map_err(|e| invalid_json(&self.secret_id, "a JWKS", &e))?;
        let keys: Vec<VerifyingKey> = jwks.verifying_keys()?;
        if keys.is_empty() {
            return Err(KeyError::Invalid(format!(
                "secret {} holds no public key",
                self.secret_id
            )));
        }
        Ok(KeySet::verify_only(keys))
    }
}

/// Stores `doc` as the new current version of the signing-key secret, creating the secret if
/// it does not exist yet. Retrying with the same document is harmless: the version token is
/// derived from the key id, so the retry is recognised as the version already stored.
///
/// # Errors
/// [`KeyError::Unavailable`] when Secrets Manager refuses or cannot be reached.
pub async fn put_signing_key(
    client: &Client,
    secret_id: &str,
    doc: &SigningKeyDocument,
) -> Result<(), KeyError> {
    let json = serde_json::to_string(doc)
        .map_err(|_| KeyError::Invalid(format!("signing key {} does not serialize", doc.kid)))?;
    // Key ids are unique, so a retried put of the same key is recognised as the same version.
    let token: String = Sha256::digest(doc.kid.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    put(client, secret_id, &Zeroizing::new(json), Some(&token)).await
}

/// Stores `jwks` as the new current version of the public-keys secret, creating the secret if
/// it does not exist yet.
///
/// # Errors
/// [`KeyError::Unavailable`] when Secrets Manager refuses or cannot be reached.
pub async fn put_public_jwks(
    client: &Client,
    secret_id: &str,
    jwks: &Jwks,
) -> Result<(), KeyError> {
    let json = serde_json::to_string(jwks)
        .map_err(|_| KeyError::Invalid("the JWKS does not serialize".to_owned()))?;
    // No derived version token: re-publishing an older set must make it current again.
    put(client, secret_id, &json, None).await
}

/// Puts a new current version, or creates the secret. `token` (32 to 64 characters) names the
/// version; without one the SDK generates a fresh one per call.
async fn put(
    client: &Client,
    secret_id: &str,
    value: &str,
    token: Option<&str>,
) -> Result<(), KeyError> {
    let put = client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(value)
        .set_client_request_token(token.map(str::to_owned))
        .send()
        .await;
    match put {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            client
                .create_secret()
                .name(secret_id)
                .secret_string(value)
                .set_client_request_token(token.map(str::to_owned))
                .send()
                .await
                .map_err(|e| unavailable(secret_id, e))?;
            Ok(())
        }
        Err(err) => Err(unavailable(secret_id, err)),
    }
}

/// The `SecretString` of one version stage; `None` when the secret or the stage does not exist.
async fn secret_string(
    client: &Client,
    secret_id: &str,
    stage: &str,
) -> Result<Option<Zeroizing<String>>, KeyError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await;
    match out {
        Ok(out) => match out.secret_string {
            Some(value) => Ok(Some(Zeroizing::new(value))),
            None => Err(KeyError::Invalid(format!(
                "secret {secret_id} ({stage}) has no SecretString"
            ))),
        },
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(unavailable(secret_id, err)),
    }
}

fn parse_document(secret_id: &str, json: &str) -> Result<SigningKeyDocument, KeyError> {
    serde_json::from_str(json).map_err(|e| invalid_json(secret_id, "a signing-key document", &e))
}

/// Only the position of the error: serde's message may quote the secret's contents.
fn invalid_json(secret_id: &str, what: &str, err: &serde_json::Error) -> KeyError {
    KeyError::Invalid(format!(
        "secret {secret_id} is not {what} ({:?} error at line {}, column {})",
        err.classify(),
        err.line(),
        err.column()
    ))
}

fn missing(secret_id: &str) -> KeyError {
    KeyError::Invalid(format!(
        "secret {secret_id} does not exist or has no current version"
    ))
}

/// Every SDK failure (dispatch, timeout, throttling, 5xx, access denied, KMS) is the source
/// being unavailable to us: the API answers 503 and the error is logged with its context.
fn unavailable(secret_id: &str, err: impl std::error::Error) -> KeyError {
    KeyError::Unavailable(format!("secret {secret_id}: {}", DisplayErrorContext(err)))
}
