//! ES256 JWTs in JWS compact form (RFC 7515/7519), encoded and decoded by `jsonwebtoken` (its
//! RustCrypto backend), with this crate's rules as a thin layer around it.
//!
//! Verification trusts nothing before the signature: the size is checked before any decoding,
//! the header must say `alg` exactly `ES256` and name a plain `kid` (and no `crit`), the
//! signature must be a raw 64-byte `r||s` with low S (the library's verifier would accept the
//! malleable high-S twin), then `jsonwebtoken::decode` checks the signature over the exact
//! `header.payload` bytes and decodes the claims, and only then are their times (against the
//! injected clock, with leeway), issuer and audience checked here. The library's own claim checks
//! are off: they read the system clock. No error message ever contains the token.

#[cfg(test)]
mod claim_tests;
#[cfg(test)]
mod tests;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind as LibraryError,
};
use p256::{ecdsa::Signature, pkcs8::EncodePrivateKey};
use serde::{Deserialize, de::IgnoredAny};
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

/// The header as this verifier reads it when `jsonwebtoken` refuses one: only to say why (an
/// algorithm it does not know is [`TokenError::UnsupportedAlgorithm`], anything else malformed).
#[derive(Deserialize)]
struct ReceivedHeader {
    alg: String,
    #[serde(rename = "kid")]
    _kid: Option<String>,
    #[serde(rename = "crit")]
    _crit: Option<IgnoredAny>,
}

/// Signs `claims` with `key`: `base64url(header).base64url(claims).base64url(r||s)`, the header
/// `{"typ":"JWT","alg":"ES256","kid":…}`.
pub fn sign(key: &SigningKey, claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    // jsonwebtoken's RustCrypto signer reads an EC key as PKCS#8 DER; a valid key always encodes.
    let der = key
        .key
        .to_pkcs8_der()
        .expect("a P-256 key always encodes as PKCS#8");
    let encoding_key = EncodingKey::from_ec_der(der.as_bytes());
    // Cannot fail: an EC key for an EC algorithm, and claims that are strings and integers.
    let token = jsonwebtoken::encode(&header, claims, &encoding_key)
        .expect("an ES256 token always encodes");
    with_low_s(token)
}

/// The token with its signature's S in the lower half: the verifier refuses the malleable
/// high-S twin, and the library's P-256 signer does not normalise (p256 leaves that to callers).
fn with_low_s(token: String) -> String {
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return token;
    };
    let high = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .and_then(|signature| signature.normalize_s());
    match high {
        Some(low) => format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(low.to_bytes())),
        None => token,
    }
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
    token: &'a str,
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
        let (Some(header), Some(_payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(TokenError::Malformed("a token has exactly three segments"));
        };
        let decoded = jsonwebtoken::decode_header(token).map_err(|_| header_refusal(header))?;
        if decoded.alg != Algorithm::ES256 {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        // jsonwebtoken accepts `crit: ["b64"]`; this verifier understands no extension at all.
        if decoded.crit.is_some() {
            return Err(TokenError::Malformed("critical header extensions"));
        }
        let kid = decoded
            .kid
            .filter(|kid| !kid.is_empty())
            .ok_or(TokenError::MissingKeyId)?;
        // Key ids reach logs and error messages: keep them short and plain.
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if kid.len() > MAX_KEY_ID_LEN || !kid.chars().all(plain) {
            return Err(TokenError::Malformed("the key id"));
        }
        Ok(Self {
            token,
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
        // The uncompressed SEC1 point, which is what the library's P-256 verifier reads.
        let point = key.key.to_encoded_point(false);
        let decoding_key = DecodingKey::from_ec_der(point.as_bytes());
        let verified = jsonwebtoken::decode(self.token, &decoding_key, &signature_only())
            .map_err(|err| library_refusal(err.kind()))?;
        claims::check(verified.claims, expected, now)
    }
}

/// The library checks the algorithm and the signature and decodes the claims; the claim checks
/// are [`claims::check`]'s, against the injected clock rather than the system's.
fn signature_only() -> Validation {
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation
}

/// Why a header `jsonwebtoken` could not read was refused: an `alg` it does not know (`none`,
/// `es256`, …) is an unsupported algorithm, anything else is malformed.
fn header_refusal(header: &str) -> TokenError {
    let Ok(header) = URL_SAFE_NO_PAD.decode(header) else {
        return TokenError::Malformed("the header is not base64url");
    };
    match serde_json::from_slice::<ReceivedHeader>(&header) {
        Err(_) => TokenError::Malformed("the header is not a JSON object with an alg"),
        Ok(header) if header.alg != ALGORITHM => TokenError::UnsupportedAlgorithm,
        Ok(_) => TokenError::Malformed("the header is not a JWS header"),
    }
}

/// The token error for a `jsonwebtoken` refusal after the header, size and signature encoding
/// passed this module's checks: a bad signature, or claims that do not decode.
fn library_refusal(err: &LibraryError) -> TokenError {
    match err {
        LibraryError::InvalidSignature | LibraryError::InvalidEcdsaKey => TokenError::BadSignature,
        LibraryError::Base64(_) => TokenError::Malformed("the claims are not base64url"),
        LibraryError::Json(_) | LibraryError::Utf8(_) => {
            TokenError::Malformed("the claims are not the expected JSON object")
        }
        _ => TokenError::Malformed("the token is not a JWS the library accepts"),
    }
}
