//! Standard Webhooks v1 signatures: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//! keyed with the secret's bytes (the base64 after `whsec_`). While a rotated-out secret still
//! signs (24 h), each active secret contributes one signature, space-separated, so a receiver
//! holding either secret verifies.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::webhook::{WebhookError, WebhookSecret};

/// The prefix of a secret's text; the rest is the base64 of the key.
pub const SECRET_PREFIX: &str = "whsec_";

/// The `webhook-signature` header's value for `body` sent as message `id` at `timestamp` (Unix
/// seconds): one `v1,<base64>` per secret, in the order given, space-separated.
///
/// # Errors
/// [`WebhookError::Sealing`] for a secret that is not `whsec_` + base64 (never one this
/// service made); the message does not contain the secret.
pub fn sign(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, WebhookError> {
    let signatures = secrets
        .iter()
        .map(|secret| Ok(signature(&key(secret)?, id, timestamp, body)))
        .collect::<Result<Vec<_>, WebhookError>>()?;
    Ok(signatures.join(" "))
}

/// The HMAC key of `secret`: the bytes its base64 encodes.
fn key(secret: &WebhookSecret) -> Result<Vec<u8>, WebhookError> {
    secret
        .expose()
        .strip_prefix(SECRET_PREFIX)
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .filter(|key| !key.is_empty())
        .ok_or_else(|| WebhookError::Sealing("a signing secret is not whsec_ + base64".to_owned()))
}

/// One `v1,<base64>` signature with the raw `key`.
fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's published test vector.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret(text: &str) -> WebhookSecret {
        WebhookSecret::new(text.to_owned())
    }

    fn sign(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &str) -> String {
        super::sign(secrets, id, timestamp, body).expect("valid secrets")
    }

    #[test]
    fn signs_the_specification_test_vector() {
        let signed = sign(&[secret(SPEC_SECRET)], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
        assert_eq!(signed, SPEC_SIGNATURE);
    }

    #[test]
    fn two_secrets_give_two_space_separated_signatures_in_order() {
        let other = secret("whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY=");
        let both = sign(
            &[other.clone(), secret(SPEC_SECRET)],
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
        );
        let (first, second) = both.split_once(' ').expect("two signatures");
        assert_eq!(second, SPEC_SIGNATURE);
        assert_eq!(first, sign(&[other], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY));
        assert_ne!(first, second);
        assert!(first.starts_with("v1,") && !first.contains(' '));
        assert_eq!(sign(&[], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY), "");
    }

    #[test]
    fn a_malformed_secret_is_an_error_that_does_not_show_it() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_not*base64",
        ] {
            let error =
                super::sign(&[secret(bad)], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).expect_err(bad);
            let fixed = "a signing secret is not whsec_ + base64".to_owned();
            assert_eq!(error, WebhookError::Sealing(fixed), "{bad}");
        }
    }

    #[test]
    fn every_signed_part_matters() {
        let key = [secret(SPEC_SECRET)];
        for changed in [
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJeK",
                SPEC_TIMESTAMP,
                SPEC_BODY,
            ),
            sign(&key, SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY),
            sign(&key, SPEC_ID, SPEC_TIMESTAMP, r#"{"test": 2432232315}"#),
        ] {
            assert_ne!(changed, SPEC_SIGNATURE);
        }
    }
}
