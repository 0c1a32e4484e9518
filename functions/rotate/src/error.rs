//! Why a rotation step failed. Any error fails the step, and Secrets Manager retries it; no
//! message ever holds key material (parse errors give a position, never the text).

use lambda_runtime::Diagnostic;
use paygate_shared::auth::{KeyError, TokenError};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The event names the public JWKS secret: this function rotates only the signing key.
    #[error("secret {secret_id} is the public-keys secret, not a signing-key secret")]
    WrongSecret { secret_id: String },
    #[error("secret {secret_id} is not enabled for rotation")]
    RotationNotEnabled { secret_id: String },
    /// The event's token names no version of the secret.
    #[error("secret {secret_id} has no version {token} to rotate to")]
    UnknownVersion { secret_id: String, token: String },
    /// The token's version is neither the one being rotated to nor already current.
    #[error("version {token} of secret {secret_id} is not AWSPENDING")]
    NotPending { secret_id: String, token: String },
    #[error("secret {secret_id} has no AWSCURRENT version")]
    NoCurrentVersion { secret_id: String },
    /// A later step ran before `createSecret` stored the new key.
    #[error("version {token} of secret {secret_id} holds no signing key yet")]
    PendingKeyMissing { secret_id: String, token: String },
    /// Secrets Manager refused or could not be reached.
    #[error("secret {secret_id}: {message}")]
    SecretsManager { secret_id: String, message: String },
    /// Key material that does not parse, or a public-keys secret that cannot be read.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// `testSecret`: verifiers would not know the new key.
    #[error("the pending key {kid} is not published in secret {public_secret_id}")]
    NotPublished {
        kid: String,
        public_secret_id: String,
    },
    /// `testSecret`: a token signed with the new key does not verify with what is published.
    #[error("a token signed with the pending key {kid} does not verify: {reason}")]
    TestFailed { kid: String, reason: TokenError },
}

impl From<RotateError> for Diagnostic {
    fn from(err: RotateError) -> Self {
        let error_type = match &err {
            RotateError::WrongSecret { .. } => "WrongSecret",
            RotateError::RotationNotEnabled { .. } => "RotationNotEnabled",
            RotateError::UnknownVersion { .. } => "UnknownVersion",
            RotateError::NotPending { .. } => "NotPending",
            RotateError::NoCurrentVersion { .. } => "NoCurrentVersion",
            RotateError::PendingKeyMissing { .. } => "PendingKeyMissing",
            RotateError::SecretsManager { .. } => "SecretsManager",
            RotateError::Keys(_) => "InvalidKeys",
            RotateError::NotPublished { .. } => "NotPublished",
            RotateError::TestFailed { .. } => "TestFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}
