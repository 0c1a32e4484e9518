//! P-256 key material with key ids: the private [`SigningKey`] (held only by the functions that
//! issue tokens), the public [`VerifyingKey`], and the [`SigningKeyDocument`] that is the
//! Secrets Manager `SecretString` of the signing-key secret.
//!
//! Nothing here ever formats private key material: the `Debug` impls print the key id only.

use std::fmt;

use p256::elliptic_curve::zeroize::{Zeroize, Zeroizing};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

use super::KeyError;

/// The prefix of every key id this crate generates: `key_<ULID>`.
pub const KEY_ID_PREFIX: &str = "key_";

/// A private ES256 signing key and its key id (`kid`).
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub key: p256::ecdsa::SigningKey,
}

/// A public ES256 verifying key and its key id (`kid`).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    pub kid: String,
    pub key: p256::ecdsa::VerifyingKey,
}

/// The signing-key secret as stored in Secrets Manager (its JSON `SecretString`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyDocument {
    pub kid: String,
    /// The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub private_key_pem: String,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl SigningKey {
    /// A fresh key from the operating system's random number generator, with a time-ordered
    /// key id `key_<ULID>` whose time component is `now`.
    ///
    /// # Errors
    /// [`KeyError::Unavailable`] if the operating system's randomness cannot be read.
    pub fn generate(now: OffsetDateTime) -> Result<Self, KeyError> {
        let mut rng = rand::rngs::OsRng;
        let key = loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.try_fill_bytes(bytes.as_mut())
                .map_err(|e| KeyError::Unavailable(format!("operating-system randomness: {e}")))?;
            // Zero or >= the group order is rejected; the chance of that is about 2^-32.
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(bytes.as_ref()) {
                break key;
            }
        };
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let kid = format!(
            "{KEY_ID_PREFIX}{}",
            Ulid::from_parts(millis, rand::random::<u128>())
        );
        Ok(Self { kid, key })
    }

    /// The public half, with the same key id.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            kid: self.kid.clone(),
            key: *self.key.verifying_key(),
        }
    }

    /// The private key as PKCS#8 PEM, wiped from memory when dropped.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the key cannot be encoded (not expected for a valid key).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Invalid(format!("cannot encode signing key {}: {e}", self.kid)))
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`, P-256).
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the PEM is not a P-256 PKCS#8 private key.
    pub fn from_pkcs8_pem(kid: impl Into<String>, pem: &str) -> Result<Self, KeyError> {
        let kid = kid.into();
        // The pkcs8 error names what was wrong, never the key bytes.
        let key = p256::ecdsa::SigningKey::from_pkcs8_pem(pem).map_err(|e| {
            KeyError::Invalid(format!("signing key {kid} is not P-256 PKCS#8: {e}"))
        })?;
        Ok(Self { kid, key })
    }

    /// The secret document for this key.
    ///
    /// # Errors
    /// As [`SigningKey::to_pkcs8_pem`].
    pub fn to_document(&self, created_at: OffsetDateTime) -> Result<SigningKeyDocument, KeyError> {
        Ok(SigningKeyDocument {
            kid: self.kid.clone(),
            private_key_pem: self.to_pkcs8_pem()?.to_string(),
            created_at,
        })
    }

    /// The key a secret document holds.
    ///
    /// # Errors
    /// As [`SigningKey::from_pkcs8_pem`].
    pub fn from_document(doc: &SigningKeyDocument) -> Result<Self, KeyError> {
        Self::from_pkcs8_pem(doc.kid.clone(), &doc.private_key_pem)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SigningKeyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyDocument")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl Drop for SigningKeyDocument {
    fn drop(&mut self) {
        self.private_key_pem.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    #[test]
    fn generated_key_ids_are_prefixed_time_ordered_ulids() {
        let early = SigningKey::generate(NOW).unwrap();
        let late = SigningKey::generate(NOW + time::Duration::seconds(1)).unwrap();
        let ulid = early.kid.strip_prefix(KEY_ID_PREFIX).unwrap();
        assert_eq!(ulid.len(), 26);
        assert_eq!(
            Ulid::from_string(ulid).unwrap().timestamp_ms(),
            NOW.unix_timestamp() as u64 * 1000
        );
        assert!(early.kid < late.kid);
        assert_ne!(early.key.to_bytes(), late.key.to_bytes());
    }

    #[test]
    fn pem_and_document_round_trip() {
        let key = SigningKey::generate(NOW).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = SigningKey::from_pkcs8_pem(key.kid.clone(), &pem).unwrap();
        assert_eq!(back.key.to_bytes(), key.key.to_bytes());

        let doc = key.to_document(NOW).unwrap();
        let json = serde_json::to_string(&doc).unwrap();
        let parsed: SigningKeyDocument = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, doc);
        assert!(json.contains("\"created_at\":\"2026-11-22T10:00:00.000Z\""));
        let from_doc = SigningKey::from_document(&parsed).unwrap();
        assert_eq!(from_doc.kid, key.kid);
        assert_eq!(from_doc.verifying_key(), key.verifying_key());
    }

    #[test]
    fn a_pem_that_is_not_a_p256_private_key_is_invalid() {
        let err =
            SigningKey::from_pkcs8_pem("key_x", "-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap_err();
        assert!(matches!(err, KeyError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn debug_never_prints_private_key_material() {
        let key = SigningKey::generate(NOW).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let body: String = pem.lines().nth(1).unwrap().to_owned();
        let doc = key.to_document(NOW).unwrap();
        let scalar_hex: String = key
            .key
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        for printed in [format!("{key:?}"), format!("{doc:?}"), format!("{key:#?}")] {
            assert!(printed.contains(&key.kid), "{printed}");
            assert!(!printed.contains(&body), "{printed}");
            assert!(!printed.contains("PRIVATE KEY"), "{printed}");
            assert!(!printed.to_lowercase().contains(&scalar_hex), "{printed}");
        }
    }
}
