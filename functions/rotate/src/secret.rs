//! The Secrets Manager calls a rotation makes on the signing-key secret, with SDK failures
//! turned into [`RotateError`], and the reading of its values as signing keys.

use std::collections::HashMap;

use aws_sdk_secretsmanager::{Client, error::DisplayErrorContext};
use p256::elliptic_curve::zeroize::Zeroizing;
use paygate_shared::auth::{KeyError, SigningKey, SigningKeyDocument};

use crate::RotateError;

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// What `DescribeSecret` says about a secret's rotation.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub rotation_enabled: bool,
    /// Each version id with its staging labels.
    pub versions: HashMap<String, Vec<String>>,
}

impl Metadata {
    /// Whether version `version_id` carries `stage`.
    pub fn has_stage(&self, version_id: &str, stage: &str) -> bool {
        self.versions
            .get(version_id)
            .is_some_and(|stages| stages.iter().any(|s| s == stage))
    }

    /// The version carrying `stage` (a label is on at most one version).
    pub fn version_with(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.as_str())
    }
}

/// The secret's rotation flag and versions.
pub async fn describe(client: &Client, secret_id: &str) -> Result<Metadata, RotateError> {
    let out = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| sdk_error(secret_id, e))?;
    Ok(Metadata {
        rotation_enabled: out.rotation_enabled.unwrap_or(false),
        versions: out.version_ids_to_stages.unwrap_or_default(),
    })
}

/// The `SecretString` of the version with `stage` (and id `version_id`, when given), wiped
/// from memory when dropped; `None` when that version has no value (yet).
pub async fn value(
    client: &Client,
    secret_id: &str,
    version_id: Option<&str>,
    stage: &str,
) -> Result<Option<Zeroizing<String>>, RotateError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .set_version_id(version_id.map(str::to_owned))
        .version_stage(stage)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out.secret_string.map(Zeroizing::new)),
        // Also what Secrets Manager answers for the AWSPENDING version `RotateSecret` creates
        // without a value, before `createSecret` fills it.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(sdk_error(secret_id, err)),
    }
}

/// Stores `value` as version `token`, labelled `AWSPENDING` only.
pub async fn put_pending(
    client: &Client,
    secret_id: &str,
    token: &str,
    value: &str,
) -> Result<(), RotateError> {
    client
        .put_secret_value()
        .secret_id(secret_id)
        .client_request_token(token)
        .secret_string(value)
        .version_stages(PENDING)
        .send()
        .await
        .map_err(|e| sdk_error(secret_id, e))?;
    Ok(())
}

/// Moves `stage` to version `to` (if given) from version `from` (if given).
pub async fn move_stage(
    client: &Client,
    secret_id: &str,
    stage: &str,
    to: Option<&str>,
    from: Option<&str>,
) -> Result<(), RotateError> {
    client
        .update_secret_version_stage()
        .secret_id(secret_id)
        .version_stage(stage)
        .set_move_to_version_id(to.map(str::to_owned))
        .set_remove_from_version_id(from.map(str::to_owned))
        .send()
        .await
        .map_err(|e| sdk_error(secret_id, e))?;
    Ok(())
}

/// The signing key a secret value holds.
///
/// # Errors
/// [`KeyError::Invalid`] when `json` is not a signing-key document with a P-256 key; the
/// message gives the position of a JSON error, never the text (it may be key material).
pub fn signing_key(secret_id: &str, json: &str) -> Result<SigningKey, KeyError> {
    let doc: SigningKeyDocument = serde_json::from_str(json).map_err(|e| {
        KeyError::Invalid(format!(
            "secret {secret_id} is not a signing-key document ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    SigningKey::from_document(&doc)
}

fn sdk_error(secret_id: &str, err: impl std::error::Error) -> RotateError {
    RotateError::SecretsManager {
        secret_id: secret_id.to_owned(),
        message: DisplayErrorContext(err).to_string(),
    }
}
