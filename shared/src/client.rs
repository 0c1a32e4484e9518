//! OAuth clients: the principals that own accounts. A client's secret is stored only as a
//! salted PBKDF2-SHA256 hash and checked in constant time.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::{ClientId, spelling::spelled};

/// PBKDF2 rounds for new hashes. Generated secrets carry 256 bits of entropy, which no rounds
/// count could add to; the rounds protect hand-picked secrets (such as a local seed's) and are
/// kept low enough for a 128 MB Lambda to answer a token request in a few milliseconds.
pub const DEFAULT_ROUNDS: u32 = 10_000;
const SALT_BYTES: usize = 16;
const HASH_BYTES: usize = 32;

/// A stored client secret: `pbkdf2-sha256$<rounds>$<salt>$<hash>` (base64url).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretHash(String);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

impl SecretHash {
    /// Hashes `secret` with a fresh random salt.
    pub fn new(secret: &str, rounds: u32) -> Self {
        let salt: [u8; SALT_BYTES] = rand::random();
        Self(format!(
            "pbkdf2-sha256${rounds}${}${}",
            URL_SAFE_NO_PAD.encode(salt),
            URL_SAFE_NO_PAD.encode(derive(secret, &salt, rounds))
        ))
    }

    /// The stored form, as kept in the store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Adopts a stored hash.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// Whether `secret` is the one hashed, compared in constant time. A malformed stored hash
    /// verifies nothing.
    pub fn verify(&self, secret: &str) -> bool {
        let mut parts = self.0.split('$');
        let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return false;
        };
        let (Ok(rounds), Ok(salt), Ok(hash)) = (
            rounds.parse::<u32>(),
            URL_SAFE_NO_PAD.decode(salt),
            URL_SAFE_NO_PAD.decode(hash),
        ) else {
            return false;
        };
        if rounds == 0 || hash.len() != HASH_BYTES {
            return false;
        }
        derive(secret, &salt, rounds).ct_eq(hash.as_slice()).into()
    }

    /// Spends the same work as a real check, for unknown clients: the answer's timing must not
    /// tell whether a client id exists.
    pub fn verify_nothing(secret: &str) {
        let _ = derive(secret, &[0; SALT_BYTES], DEFAULT_ROUNDS);
    }
}

fn derive(secret: &str, salt: &[u8], rounds: u32) -> [u8; HASH_BYTES] {
    let mut out = [0u8; HASH_BYTES];
    pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), salt, rounds, &mut out);
    out
}

/// A fresh client secret: 256 random bits, base64url, with a recognisable prefix for secret
/// scanners.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("pgs_{}", URL_SAFE_NO_PAD.encode(bytes))
}

spelled! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ClientStatus {
        Active => "active",
        Disabled => "disabled",
    }
}

/// A registered OAuth client (client-credentials grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub client_id: ClientId,
    pub secret_hash: SecretHash,
    /// The scopes it may request (`payments:write`, ...).
    pub scopes: Vec<String>,
    pub status: ClientStatus,
    /// A payments operator: may be granted `risk:review`. Set only by the admin CLI or a seed
    /// file, never through the API.
    #[serde(default)]
    pub operator: bool,
    /// Its own risk rules, replacing the defaults (`paygate-admin set-risk-rules`).
    #[serde(default)]
    pub risk: Option<crate::RiskRules>,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_verify_only_themselves() {
        let secret = generate_secret();
        assert!(secret.starts_with("pgs_") && secret.len() == 47);
        let hash = SecretHash::new(&secret, 1_000);
        assert!(hash.verify(&secret));
        assert!(!hash.verify("pgs_wrong"));
        assert!(!hash.verify(""));
        assert!(!hash.as_str().contains(&secret[4..]));
        assert_ne!(SecretHash::new(&secret, 1_000), hash, "salts differ");
        assert_eq!(format!("{hash:?}"), "SecretHash(..)");
    }

    #[test]
    fn malformed_hashes_verify_nothing() {
        for stored in [
            "",
            "plain",
            "pbkdf2-sha256$0$AAAA$AAAA",
            "md5$1$a$b",
            "pbkdf2-sha256$10$!!$!!",
        ] {
            assert!(
                !SecretHash::from_stored(stored.into()).verify("x"),
                "{stored}"
            );
        }
    }
}
