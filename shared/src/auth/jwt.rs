//! ES256 JWTs in JWS compact form (RFC 7515/7519), written by hand over `p256`.
//!
//! Verification trusts nothing before the signature: the size is checked before any decoding,
//! the header must say `alg` exactly `ES256` and name a `kid`, the signature (raw 64-byte `r||s`,
//! low-S) is checked over the exact `header.payload` bytes, and only then are the claims decoded
//! and their times, issuer and audience checked. No error message ever contains the token.

#[cfg(test)]
mod claim_tests;
#[cfg(test)]
mod tests;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::ecdsa::{
    Signature,
    signature::{Signer, Verifier},
};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use time::OffsetDateTime;

use super::{Claims, Expectations, SigningKey, VerifyingKey, claims};

/// Tokens longer than this are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// The only algorithm accepted or produced.
pub const ALGORITHM: &str = "ES256";
const MAX_KEY_ID_LEN: usize = 128;

/// Why a token was refused (the API answers 401). Messages never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    /// Not a well-formed JWS compact token; says which part was wrong.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    #[error("the token's algorithm is not ES256")]
    UnsupportedAlgorithm,
    #[error("the token's header names no key id")]
    MissingKeyId,
    /// No current or previous key has this id (the key cache refreshes on this).
    #[error("the token was signed with unknown key `{0}`")]
    UnknownKey(String),
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// The header as received: only the members that decide anything are read.
#[derive(Deserialize)]
struct ReceivedHeader {
    alg: String,
    kid: Option<String>,
    /// Any critical extension is one this verifier does not understand (RFC 7515 §4.1.11).
    crit: Option<IgnoredAny>,
}

/// Signs `claims` with `key`: `base64url(header).base64url(claims).base64url(r||s)`.
pub fn sign(key: &SigningKey, claims: &Claims) -> String {
    let header = Header {
        alg: ALGORITHM,
        typ: "JWT",
        kid: &key.kid,
    };
    // Cannot fail: both are plain structs of strings and integers.
    let header = serde_json::to_vec(&header).expect("a JWS header always serializes");
    let payload = serde_json::to_vec(claims).expect("claims always serialize");
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature: Signature = key.key.sign(signing_input.as_bytes());
    // Always low-S, because the verifier refuses the malleable high-S twin.
    let signature = signature.normalize_s().unwrap_or(signature);
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// Verifies `token` with the key `keys` returns for its `kid` and checks its claims.
///
/// # Errors
/// The first rule the token breaks; [`TokenError::UnknownKey`] when `keys` has no such key.
pub fn verify(
    token: &str,
    keys: impl FnOnce(&str) -> Option<VerifyingKey>,
    expected: &Expectations,
    now: OffsetDateTime,
) -> Result<Claims, TokenError> {
    let token = UnverifiedToken::parse(token)?;
    let key = keys(token.kid()).ok_or_else(|| TokenError::UnknownKey(token.kid().to_owned()))?;
    token.verify(&key, expected, now)
}

/// A token whose header has been checked (`alg` ES256, a `kid`) but whose signature and claims
/// have not: the claims cannot be read before [`UnverifiedToken::verify`] succeeds.
#[derive(Clone)]
pub struct UnverifiedToken<'a> {
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
    kid: String,
}

impl std::fmt::Debug for UnverifiedToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl<'a> UnverifiedToken<'a> {
    /// Splits `token` and checks its size and header.
    ///
    /// # Errors
    /// [`TokenError::TooLarge`], [`TokenError::Malformed`], [`TokenError::UnsupportedAlgorithm`]
    /// or [`TokenError::MissingKeyId`].
    pub fn parse(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(TokenError::Malformed("a token has exactly three segments"));
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed("the header is not base64url"))?;
        let header: ReceivedHeader = serde_json::from_slice(&header)
            .map_err(|_| TokenError::Malformed("the header is not a JSON object with an alg"))?;
        if header.alg != ALGORITHM {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed("critical header extensions"));
        }
        let kid = header
            .kid
            .filter(|kid| !kid.is_empty())
            .ok_or(TokenError::MissingKeyId)?;
        // Key ids reach logs and error messages: keep them short and plain.
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if kid.len() > MAX_KEY_ID_LEN || !kid.chars().all(plain) {
            return Err(TokenError::Malformed("the key id"));
        }
        Ok(Self {
            signing_input: &token[..token.len() - signature.len() - 1],
            payload,
            signature,
            kid,
        })
    }

    /// The key id the header names.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Checks the signature with `key`, then the claims against `expected` at `now`.
    ///
    /// # Errors
    /// [`TokenError::BadSignature`], [`TokenError::Malformed`] (claims), then [`TokenError::Expired`],
    /// [`TokenError::NotYetValid`], [`TokenError::WrongIssuer`], [`TokenError::WrongAudience`].
    pub fn verify(
        self,
        key: &VerifyingKey,
        expected: &Expectations,
        now: OffsetDateTime,
    ) -> Result<Claims, TokenError> {
        let signature = URL_SAFE_NO_PAD
            .decode(self.signature)
            .map_err(|_| TokenError::Malformed("the signature is not base64url"))?;
        // 64 bytes r||s with 0 < r, s < n; a DER signature fails here.
        let signature = Signature::from_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        if signature.normalize_s().is_some() {
            return Err(TokenError::BadSignature);
        }
        key.key
            .verify(self.signing_input.as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)?;

        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| TokenError::Malformed("the claims are not base64url"))?;
        claims::check(&payload, expected, now)
    }
}
