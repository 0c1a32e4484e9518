//! The rotation function of the token signing key. Secrets Manager rotates the signing-key
//! secret by calling it four times with the same version token, each step idempotent because
//! any of them may be retried:
//!
//! 1. `createSecret` stores a fresh P-256 key (a new time-ordered `kid`) as the `AWSPENDING`
//!    version;
//! 2. `setSecret` publishes the new public key, followed by the one that signs now, in the
//!    public JWKS secret: verifiers know the new key before any token carries it;
//! 3. `testSecret` signs a throwaway token with the new key and verifies it with the key read
//!    back from the JWKS secret;
//! 4. `finishSecret` moves `AWSCURRENT` to the new version; Secrets Manager labels the old one
//!    `AWSPREVIOUS`, so tokens it signed keep verifying until the next rotation.
//!
//! The same order as the admin CLI's `create-signing-key` (publish first, then sign).

mod error;
mod secret;
mod steps;

use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use error::RotateError;
/// What a rotation needs (and `rotate_deps_from_env`, its production wiring).
pub use paygate_shared::wiring::RotateDeps;
use secret::{CURRENT, PENDING};

/// The event Secrets Manager invokes a rotation function with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    /// The signing-key secret's ARN (or name).
    pub secret_id: String,
    /// The id of the version being rotated to.
    pub client_request_token: String,
    pub step: RotationStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RotationStep {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl RotationStep {
    pub const ALL: [RotationStep; 4] = [
        Self::CreateSecret,
        Self::SetSecret,
        Self::TestSecret,
        Self::FinishSecret,
    ];

    /// The step's name in the event.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSecret => "createSecret",
            Self::SetSecret => "setSecret",
            Self::TestSecret => "testSecret",
            Self::FinishSecret => "finishSecret",
        }
    }
}

/// Runs one rotation step, after checking that the secret is being rotated to the event's
/// version. A step for a version that is already `AWSCURRENT` does nothing (a retry after
/// `finishSecret`).
///
/// # Errors
/// A [`RotateError`] fails the step; Secrets Manager retries it. Nothing is logged or
/// returned that contains key material.
pub async fn rotate(deps: &RotateDeps, event: RotationEvent) -> Result<(), RotateError> {
    let started = Instant::now();
    let outcome = run_step(deps, &event).await;
    let latency_ms = started.elapsed().as_millis();
    let (secret_id, token, step) = (
        event.secret_id.as_str(),
        event.client_request_token.as_str(),
        event.step.as_str(),
    );
    match &outcome {
        Ok(()) => tracing::info!(secret_id, token, step, latency_ms, "rotation step done"),
        Err(err) => {
            tracing::error!(secret_id, token, step, latency_ms, error = %err, "rotation step failed");
        }
    }
    outcome
}

async fn run_step(deps: &RotateDeps, event: &RotationEvent) -> Result<(), RotateError> {
    let secret_id = event.secret_id.as_str();
    let token = event.client_request_token.as_str();
    if secret_id == deps.public_secret_id {
        return Err(RotateError::WrongSecret {
            secret_id: secret_id.to_owned(),
        });
    }
    let metadata = secret::describe(&deps.client, secret_id).await?;
    if !metadata.rotation_enabled {
        return Err(RotateError::RotationNotEnabled {
            secret_id: secret_id.to_owned(),
        });
    }
    if !metadata.versions.contains_key(token) {
        return Err(RotateError::UnknownVersion {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
        });
    }
    if metadata.has_stage(token, CURRENT) {
        if event.step == RotationStep::FinishSecret {
            // Completes a finishSecret that stopped between moving AWSCURRENT and tidying up.
            if let Some(previous) = metadata.version_with(secret::PREVIOUS) {
                steps::drop_unusable_previous(deps, secret_id, previous).await?;
            }
        }
        return Ok(());
    }
    if !metadata.has_stage(token, PENDING) {
        return Err(RotateError::NotPending {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
        });
    }
    match event.step {
        RotationStep::CreateSecret => steps::create(deps, secret_id, token).await,
        RotationStep::SetSecret => steps::set(deps, secret_id, token).await,
        RotationStep::TestSecret => steps::test(deps, secret_id, token).await,
        RotationStep::FinishSecret => steps::finish(deps, secret_id, token, &metadata).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_parses() {
        let event: RotationEvent =
            serde_json::from_str(include_str!("../events/create-secret.json")).unwrap();
        assert_eq!(event.step, RotationStep::CreateSecret);
        assert_eq!(
            event.client_request_token,
            "9f2c4e1a-7b3d-4c5e-8f6a-0b1c2d3e4f5a"
        );
        assert!(
            event
                .secret_id
                .ends_with(":secret:paygate-signing-key-AbCdEf")
        );
    }

    #[test]
    fn steps_are_named_as_secrets_manager_names_them() {
        for step in RotationStep::ALL {
            let json = serde_json::to_string(&step).unwrap();
            assert_eq!(json, format!("\"{}\"", step.as_str()));
            assert_eq!(serde_json::from_str::<RotationStep>(&json).unwrap(), step);
        }
        assert!(serde_json::from_str::<RotationStep>("\"dropSecret\"").is_err());
    }
}
