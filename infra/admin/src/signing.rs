//! `create-signing-key`: a rotation of the token signing key, in the order that keeps every
//! token verifiable:
//!
//! 1. the public JWKS secret gets the new public key, followed by the key that signs now (so
//!    tokens it issued keep verifying until they expire): at most two keys, newest first;
//! 2. only then does the new private key become current in the signing-key secret.
//!
//! A verifier that meets a token with the new key id before its cache has the new JWKS
//! refreshes early (`KeyCache`), and finds the key already published. A failure between the
//! two writes leaves the old key signing and the new one published but unused; running the
//! command again is safe, because the key kept next to the new one is the one that signs now
//! (read from the signing-key secret), not whatever the JWKS listed first.

use aws_sdk_secretsmanager::{Client, error::DisplayErrorContext};
use p256::elliptic_curve::zeroize::Zeroizing;
use paygate_shared::auth::{
    Jwks, KeyError, SigningKey, SigningKeyDocument, VerifyingKey, put_public_jwks, put_signing_key,
};
use time::OffsetDateTime;

use crate::{AdminError, cli::CreateSigningKey};

/// Generates and installs a new signing key; returns its key id.
///
/// # Errors
/// [`AdminError::Keys`] when a secret cannot be read or written, or holds invalid key material
/// (nothing is written then).
pub async fn create_signing_key(
    client: &Client,
    args: &CreateSigningKey,
    now: OffsetDateTime,
) -> Result<String, AdminError> {
    if args.secret_id == args.public_secret_id {
        return Err(AdminError::Invalid(
            "--secret-id and --public-secret-id must name two different secrets".into(),
        ));
    }
    let signing_now = match current(client, &args.secret_id).await? {
        Some(json) => {
            let doc: SigningKeyDocument = serde_json::from_str(&json)
                .map_err(|_| invalid(&args.secret_id, "a signing-key document"))?;
            Some(SigningKey::from_document(&doc)?.verifying_key())
        }
        None => None,
    };
    let previous = match signing_now {
        Some(key) => Some(key),
        // No key signs yet: keep the newest published one, if any (a first rotation retried).
        None => match current(client, &args.public_secret_id).await? {
            Some(json) => serde_json::from_str::<Jwks>(&json)
                .map_err(|_| invalid(&args.public_secret_id, "a JWKS"))?
                .verifying_keys()
                .map_err(KeyError::from)?
                .into_iter()
                .next(),
            None => None,
        },
    };

    let key = SigningKey::generate(now)?;
    let published: Vec<VerifyingKey> = std::iter::once(key.verifying_key())
        .chain(previous)
        .collect();
    put_public_jwks(client, &args.public_secret_id, &Jwks::from_keys(&published)).await?;
    put_signing_key(client, &args.secret_id, &key.to_document(now)?).await?;
    Ok(key.kid)
}

/// The current `SecretString` of a secret (wiped when dropped: it may hold a private key);
/// `None` when the secret does not exist.
async fn current(
    client: &Client,
    secret_id: &str,
) -> Result<Option<Zeroizing<String>>, AdminError> {
    match client.get_secret_value().secret_id(secret_id).send().await {
        Ok(out) => out
            .secret_string
            .map(|s| Some(Zeroizing::new(s)))
            .ok_or_else(|| invalid(secret_id, "a SecretString")),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(KeyError::Unavailable(format!(
            "secret {secret_id}: {}",
            DisplayErrorContext(err)
        ))
        .into()),
    }
}

/// Never quotes the secret's contents (a parse error could).
fn invalid(secret_id: &str, what: &str) -> AdminError {
    KeyError::Invalid(format!("secret {secret_id} does not hold {what}")).into()
}
