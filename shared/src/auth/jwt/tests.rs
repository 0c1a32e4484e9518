//! Each rule of [`super::verify`] on the token's form and signature, broken by a crafted
//! token; the helpers are shared with `claim_tests`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use p256::ecdsa::{Signature, signature::Signer, signature::Verifier};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::json;
use sha2::Sha256;
use time::{OffsetDateTime, macros::datetime};

use super::*;
use crate::auth::{Jwk, Scope};

pub(super) const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);
pub(super) const ISS: &str = "https://auth.paygate.test";
pub(super) const AUD: &str = "paygate-api";

pub(super) fn key() -> SigningKey {
    SigningKey::generate(NOW).unwrap()
}

pub(super) fn claims() -> Claims {
    let scopes = [Scope::PaymentsRead, Scope::AccountsRead]
        .into_iter()
        .collect();
    Claims::new(
        ISS,
        "acme-app",
        AUD,
        scopes,
        NOW,
        time::Duration::minutes(15),
    )
}

fn expected() -> Expectations {
    Expectations::new(ISS, AUD)
}

/// Verifies with `key` as the only known key, at `now`.
pub(super) fn check(
    token: &str,
    key: &SigningKey,
    now: OffsetDateTime,
) -> Result<Claims, TokenError> {
    let public = key.verifying_key();
    verify(
        token,
        |kid| (kid == public.kid).then(|| public.clone()),
        &expected(),
        now,
    )
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with any header and payload JSON, correctly ES256-signed by `key`.
pub(super) fn signed_raw(
    key: &SigningKey,
    header: &serde_json::Value,
    payload: &serde_json::Value,
) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(payload.to_string()));
    let signature: Signature = key.key.sign(input.as_bytes());
    let signature = signature.normalize_s().unwrap_or(signature);
    format!("{input}.{}", b64(signature.to_bytes()))
}

pub(super) fn es256_header(key: &SigningKey) -> serde_json::Value {
    json!({"alg": "ES256", "typ": "JWT", "kid": key.kid})
}

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[test]
fn a_signed_token_verifies_to_the_same_claims() {
    let key = key();
    let claims = claims();
    let token = sign(&key, &claims);
    assert_eq!(check(&token, &key, NOW), Ok(claims.clone()));
    assert_eq!(
        claims.scopes().unwrap().to_string(),
        "payments:read accounts:read"
    );
    assert!(claims.jti.starts_with("tok_"));
    assert_eq!(claims.exp - claims.iat, 900);

    let parts = segments(&token);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
    assert_eq!(
        header,
        json!({"alg": "ES256", "typ": "JWT", "kid": key.kid})
    );
    let signature = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    assert_eq!(signature.len(), 64);
    assert_eq!(
        Signature::from_slice(&signature).unwrap().normalize_s(),
        None
    );
}

#[test]
fn oversized_and_malformed_tokens_are_refused_before_decoding() {
    let key = key();
    assert_eq!(
        check(&"a".repeat(5000), &key, NOW),
        Err(TokenError::TooLarge)
    );
    let padded = format!("{}{}", sign(&key, &claims()), "A".repeat(MAX_TOKEN_BYTES));
    assert_eq!(check(&padded, &key, NOW), Err(TokenError::TooLarge));

    let token = sign(&key, &claims());
    let parts = segments(&token);
    let malformed = |t: &str| match check(t, &key, NOW) {
        Err(TokenError::Malformed(_)) => true,
        other => panic!("expected Malformed, got {other:?}"),
    };
    assert!(malformed(""));
    assert!(malformed(&format!("{}.{}", parts[0], parts[1])));
    assert!(malformed(&format!("{token}.{}", parts[2])));
    assert!(malformed(&format!("!!.{}.{}", parts[1], parts[2])));
    for header in ["[]", "\"ES256\"", "{\"kid\":\"key_1\"}", "{\"alg\":256}"] {
        assert!(malformed(&format!(
            "{}.{}.{}",
            b64(header),
            parts[1],
            parts[2]
        )));
    }
    let duplicate = format!(r#"{{"alg":"none","alg":"ES256","kid":"{}"}}"#, key.kid);
    assert!(malformed(&format!(
        "{}.{}.{}",
        b64(duplicate),
        parts[1],
        parts[2]
    )));
    let crit = json!({"alg": "ES256", "kid": key.kid, "crit": ["exp"]});
    assert!(malformed(&signed_raw(&key, &crit, &json!({}))));
    let odd_kid = json!({"alg": "ES256", "kid": "key\n1"});
    assert!(malformed(&signed_raw(&key, &odd_kid, &json!({}))));

    // Truncated: one character off leaves no valid base64url, two leave a 63-byte signature.
    assert!(malformed(&token[..token.len() - 1]));
    assert_eq!(
        check(&token[..token.len() - 2], &key, NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn only_es256_is_accepted_whatever_the_signature() {
    let key = key();
    let public = key.verifying_key();
    let payload = b64(serde_json::to_vec(&claims()).unwrap());

    let none = format!(
        "{}.{payload}.",
        b64(json!({"alg": "none", "kid": key.kid}).to_string())
    );
    assert_eq!(
        check(&none, &key, NOW),
        Err(TokenError::UnsupportedAlgorithm)
    );

    // The classic confusion: HMAC keyed with the public key, which any attacker has.
    let public_pem = public.key.to_public_key_pem(LineEnding::LF).unwrap();
    let public_jwk = serde_json::to_string(&Jwk::from(&public)).unwrap();
    for secret in [public_pem.as_bytes(), public_jwk.as_bytes()] {
        let header = b64(json!({"alg": "HS256", "typ": "JWT", "kid": key.kid}).to_string());
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{header}.{payload}").as_bytes());
        let forged = format!("{header}.{payload}.{}", b64(mac.finalize().into_bytes()));
        assert_eq!(
            check(&forged, &key, NOW),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    for alg in ["ES256 ", "es256", "ES384", "EdDSA", ""] {
        let header = json!({"alg": alg, "kid": key.kid});
        let token = signed_raw(&key, &header, &serde_json::to_value(claims()).unwrap());
        assert_eq!(
            check(&token, &key, NOW),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg:?}"
        );
    }
}

#[test]
fn the_key_id_must_be_present_and_known() {
    let key = key();
    let payload = serde_json::to_value(claims()).unwrap();
    for header in [json!({"alg": "ES256"}), json!({"alg": "ES256", "kid": ""})] {
        let token = signed_raw(&key, &header, &payload);
        assert_eq!(check(&token, &key, NOW), Err(TokenError::MissingKeyId));
    }
    let other = SigningKey::generate(NOW).unwrap();
    let token = sign(&other, &claims());
    assert_eq!(
        check(&token, &key, NOW),
        Err(TokenError::UnknownKey(other.kid.clone()))
    );
}

#[test]
fn a_tampered_or_foreign_signature_is_refused() {
    let key = key();
    let token = sign(&key, &claims());
    let parts = segments(&token);

    let mut tampered = claims();
    tampered.scope = "payments:write payments:read accounts:read".to_owned();
    let tampered_payload = b64(serde_json::to_vec(&tampered).unwrap());
    let forged = format!("{}.{tampered_payload}.{}", parts[0], parts[2]);
    assert_eq!(check(&forged, &key, NOW), Err(TokenError::BadSignature));

    // Same kid, someone else's key.
    let impostor = SigningKey {
        kid: key.kid.clone(),
        key: SigningKey::generate(NOW).unwrap().key,
    };
    assert_eq!(
        check(&sign(&impostor, &claims()), &key, NOW),
        Err(TokenError::BadSignature)
    );

    // DER instead of raw r||s: a valid signature, in the wrong encoding.
    let input = format!("{}.{}", parts[0], parts[1]);
    let signature: Signature = key.key.sign(input.as_bytes());
    let der = format!("{input}.{}", b64(signature.to_der().as_bytes()));
    assert_eq!(check(&der, &key, NOW), Err(TokenError::BadSignature));

    // The high-S twin: p256 alone would accept it, the verifier must not (malleability).
    let low = Signature::from_slice(&URL_SAFE_NO_PAD.decode(&parts[2]).unwrap()).unwrap();
    let (r, s) = low.split_scalars();
    let high = Signature::from_scalars(r, -*s).unwrap();
    assert!(
        key.key
            .verifying_key()
            .verify(input.as_bytes(), &high)
            .is_ok()
    );
    let twin = format!("{input}.{}", b64(high.to_bytes()));
    assert_eq!(check(&twin, &key, NOW), Err(TokenError::BadSignature));

    let zero = format!("{input}.{}", b64([0u8; 64]));
    assert_eq!(check(&zero, &key, NOW), Err(TokenError::BadSignature));
}

#[test]
fn error_messages_never_contain_the_token() {
    let key = key();
    let token = sign(&key, &claims());
    let parts = segments(&token);
    let errors = [
        check(&token, &key, NOW + time::Duration::days(1)).unwrap_err(),
        check(&token[..token.len() - 1], &key, NOW).unwrap_err(),
        check(
            &format!("{}.{}.{}", parts[0], parts[0], parts[2]),
            &key,
            NOW,
        )
        .unwrap_err(),
        check(&token, &SigningKey::generate(NOW).unwrap(), NOW).unwrap_err(),
    ];
    for err in errors {
        let message = err.to_string();
        for part in &parts {
            assert!(!message.contains(part.as_str()), "{message}");
        }
    }
}
