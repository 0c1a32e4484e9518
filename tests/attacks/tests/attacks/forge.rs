//! Hand-made JWS compact tokens: any header, any claims, signed with any key or algorithm, or
//! not at all. What an attacker can produce with the public key, a key of their own, or a real
//! token to tamper with.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use p256::ecdsa::{Signature, signature::Signer};
use paygate_shared::auth::SigningKey;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{ALL_SCOPES, T0};

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The header the issuer writes.
pub fn header(kid: &str) -> Value {
    json!({"alg": "ES256", "typ": "JWT", "kid": kid})
}

/// Claims the gateway accepts at [`T0`] (subject `sub`, every scope).
pub fn claims(sub: &str) -> Value {
    let now = T0.unix_timestamp();
    json!({"iss": "paygate", "sub": sub, "aud": "paygate-api", "scope": ALL_SCOPES,
           "iat": now, "exp": now + 900, "jti": "tok_01KAS0ATTACK00000000000000"})
}

/// `claims` with `changes` merged in (a `null` removes the claim).
pub fn with(mut claims: Value, changes: Value) -> Value {
    if let (Some(target), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
        for (name, value) in changes {
            if value.is_null() {
                target.remove(name);
            } else {
                target.insert(name.clone(), value.clone());
            }
        }
    }
    claims
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

/// ES256 over `header.claims` with `key`, low-S, raw `r||s`: what the issuer does.
pub fn es256(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let signature: Signature = key.key.sign(input.as_bytes());
    let signature = signature.normalize_s().unwrap_or(signature);
    format!("{input}.{}", b64(signature.to_bytes()))
}

/// HMAC-SHA256 over `header.claims` keyed with `secret` (the alg-confusion attack keys it with
/// the public key).
pub fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// `header.claims.` with no signature at all.
pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.", signing_input(header, claims))
}

/// The three segments of a token.
pub fn segments(token: &str) -> [&str; 3] {
    let mut parts = token.splitn(3, '.');
    let mut next = || parts.next().unwrap_or_default();
    [next(), next(), next()]
}

/// `token` with its signature replaced by `signature` (raw bytes).
pub fn resigned(token: &str, signature: &[u8]) -> String {
    let [header, claims, _] = segments(token);
    format!("{header}.{claims}.{}", b64(signature))
}

/// The signature of `token`, decoded.
pub fn signature(token: &str) -> Signature {
    let bytes = URL_SAFE_NO_PAD
        .decode(segments(token)[2])
        .expect("a base64url signature");
    Signature::from_slice(&bytes).expect("a raw r||s signature")
}

/// The high-S twin of a valid signature: `(r, n - s)` verifies mathematically, so a verifier
/// that accepts it lets anyone mint a second valid encoding of every token.
pub fn high_s_twin(token: &str) -> String {
    let (r, s) = signature(token).split_scalars();
    let twin = Signature::from_scalars(r, -s).expect("a valid signature");
    assert!(twin.normalize_s().is_some(), "the twin is high-S");
    resigned(token, &twin.to_bytes())
}

/// The same signature DER-encoded instead of raw `r||s`.
pub fn der_encoded(token: &str) -> String {
    resigned(token, signature(token).to_der().as_bytes())
}

/// `token` with the claims segment replaced by `claims` (the signature kept).
pub fn with_claims(token: &str, claims: &Value) -> String {
    let [header, _, signature] = segments(token);
    format!("{header}.{}.{signature}", b64(claims.to_string()))
}

/// `token` with the header segment replaced by `header` (the signature kept).
pub fn with_header(token: &str, header: &Value) -> String {
    let [_, claims, signature] = segments(token);
    format!("{}.{claims}.{signature}", b64(header.to_string()))
}

/// The claims `token` carries, decoded (no verification).
pub fn claims_of(token: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD
        .decode(segments(token)[1])
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
