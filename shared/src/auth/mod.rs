//! Access tokens: ES256 JWTs signed and verified with P-256 keys, the keys themselves (PKCS#8 PEM
//! for the private key, JWK/JWKS for the public ones), and the per-sandbox [`KeyCache`] that
//! loads them from a [`KeySource`] (AWS Secrets Manager in production, behind the `secrets`
//! feature; [`StaticKeySource`] in tests and the local gateway).
//!
//! JWS encoding and decoding are `jsonwebtoken`'s (RustCrypto backend); this crate keeps its own
//! rules around the library: the size cap before any decoding, exactly one algorithm (`ES256`,
//! checked before the library is asked, and the only one its validation allows), so no header can
//! talk the verifier into `none` or into treating a public key as an HMAC secret, a plain `kid`,
//! no `crit`, low-S signatures, and the claim checks against an injected clock.
//!
//! Least privilege: only the token and rotation functions read the private signing key (the
//! signing-key secret); everything else verifies with the public JWKS secret.

pub mod cache;
pub mod claims;
pub mod jwk;
pub mod jwt;
pub mod keys;
pub mod scope;
#[cfg(feature = "secrets")]
pub mod secrets;

pub use cache::{KeyCache, KeySet, KeySource, StaticKeySource};
pub use claims::{Claims, Expectations};
pub use jwk::{Jwk, JwkError, Jwks};
pub use jwt::{TokenError, UnverifiedToken, sign, verify};
pub use keys::{SigningKey, SigningKeyDocument, VerifyingKey};
pub use scope::{Scope, ScopeError, Scopes};
#[cfg(feature = "secrets")]
pub use secrets::{
    SecretsManagerPublicKeys, SecretsManagerSigningKeys, put_public_jwks, put_signing_key,
};

/// The Lambda authorizer's context keys: what the authorizer puts in, and functions read back
/// (re-exported by `api::caller`). Here rather than in the HTTP layer so the authorizer, which
/// has no HTTP layer, shares them.
pub const CONTEXT_CLIENT_ID: &str = "client_id";
pub const CONTEXT_SCOPES: &str = "scopes";

/// Why key material could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key source could not be reached (network, timeout, throttling, a 5xx, access
    /// denied): the API answers 503 and the caller may retry.
    #[error("the key source is unavailable: {0}")]
    Unavailable(String),
    /// The key source answered with something that is not valid key material (a corrupt or
    /// missing secret, a bad JWK, a PEM that does not parse).
    #[error("the key material is invalid: {0}")]
    Invalid(String),
    /// A signing key was asked of a source that only holds public keys.
    #[error("this key source holds no signing key")]
    NoSigningKey,
}

impl From<JwkError> for KeyError {
    fn from(err: JwkError) -> Self {
        Self::Invalid(err.to_string())
    }
}

/// Why a request's bearer token was not accepted: the token itself is bad (401), or the keys to
/// check it could not be had (503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}
