//! Webhook secrets at rest: AES-256-GCM. Each seal draws a fresh random 96-bit nonce and binds
//! the endpoint id as associated data, so a sealed secret copied onto another endpoint's item
//! does not open. The stored form is `v1.` + base64 of nonce ‖ ciphertext ‖ tag.
//!
//! The key is the SHA-256 of a key-material string: in production a Secrets Manager secret
//! (`PAYGATE_WEBHOOK_KEY_SECRET`, read once per sandbox), locally and in tests random bytes.

use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use super::{SecretSealer, WebhookError, WebhookSecret};
use crate::WebhookEndpointId;

/// What every sealed secret starts with: the format's version.
pub const SEALED_PREFIX: &str = "v1.";
const NONCE_BYTES: usize = 12;

/// AES-256-GCM under one key.
#[derive(Clone)]
pub struct AesGcmSealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for AesGcmSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesGcmSealer(<key redacted>)")
    }
}

impl AesGcmSealer {
    /// Under the SHA-256 of `material`: any text a secret holds becomes a 256-bit key.
    pub fn from_material(material: &[u8]) -> Self {
        let key = Sha256::digest(material);
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        }
    }

    /// Under a random key that lives only in this process (the local gateway, tests): what it
    /// seals opens nowhere else, nor after a restart.
    pub fn generate() -> Self {
        Self::from_material(&rand::random::<[u8; 32]>())
    }
}

fn refused(what: &str) -> WebhookError {
    WebhookError::Sealing(what.to_owned())
}

impl SecretSealer for AesGcmSealer {
    fn seal(
        &self,
        secret: &WebhookSecret,
        endpoint: WebhookEndpointId,
    ) -> Result<String, WebhookError> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let aad = endpoint.to_string();
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| refused("encryption failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed)))
    }

    fn open(
        &self,
        sealed: &str,
        endpoint: WebhookEndpointId,
    ) -> Result<WebhookSecret, WebhookError> {
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .ok_or_else(|| refused("not a sealed secret of a known format"))?;
        if bytes.len() <= NONCE_BYTES {
            return Err(refused("a sealed secret too short to hold one"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let aad = endpoint.to_string();
        let clear = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            // Tampered, sealed under another key, or another endpoint's: GCM cannot tell which.
            .map_err(|_| refused("the sealed secret does not open for this endpoint"))?;
        String::from_utf8(clear)
            .map(WebhookSecret::new)
            .map_err(|_| refused("the opened secret is not text"))
    }
}

/// The sealer whose key material is the Secrets Manager secret `secret_id` (its current
/// `SecretString`): read once, when the function starts.
///
/// # Errors
/// [`WebhookError::Sealing`] naming the secret (never its value) when it cannot be read.
#[cfg(feature = "secrets")]
pub async fn sealer_from_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<AesGcmSealer, WebhookError> {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;

    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            WebhookError::Sealing(format!(
                "the key secret {secret_id} cannot be read: {}",
                DisplayErrorContext(&e)
            ))
        })?;
    let material = out.secret_string.ok_or_else(|| {
        WebhookError::Sealing(format!("the key secret {secret_id} has no SecretString"))
    })?;
    if material.is_empty() {
        return Err(WebhookError::Sealing(format!(
            "the key secret {secret_id} is empty"
        )));
    }
    Ok(AesGcmSealer::from_material(material.as_bytes()))
}
