//! The Secrets Manager key sources against moto (`PAYGATE_TEST_DYNAMODB_ENDPOINT`, which serves
//! every service on one endpoint; set by `tests/run.sh`). Without it the test fails, saying so.

use time::{OffsetDateTime, macros::datetime};

use super::*;

const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

async fn moto_client() -> Client {
    let config = crate::aws::moto_test_config().await;
    Client::new(&config)
}

fn kids(keys: &KeySet) -> Vec<&str> {
    keys.verifying.iter().map(|k| k.kid.as_str()).collect()
}

#[tokio::test]
async fn signing_and_public_key_secrets_follow_rotations() {
    let client = moto_client().await;
    let run = ulid::Ulid::new();
    let signing_id = format!("paygate-test-{run}-signing-key");
    let public_id = format!("paygate-test-{run}-public-keys");
    let signing = SecretsManagerSigningKeys::new(client.clone(), &signing_id);
    let public = SecretsManagerPublicKeys::new(client.clone(), &public_id);

    let missing = signing.load().await.unwrap_err();
    assert!(matches!(missing, KeyError::Invalid(_)), "{missing:?}");

    let keys: Vec<SigningKey> = (0..3).map(|_| SigningKey::generate(NOW).unwrap()).collect();
    let doc = |i: usize| keys[i].to_document(NOW).unwrap();

    put_signing_key(&client, &signing_id, &doc(0))
        .await
        .unwrap();
    // A retried put of the same key is the same version, not a rotation.
    put_signing_key(&client, &signing_id, &doc(0))
        .await
        .unwrap();
    let loaded = signing.load().await.unwrap();
    assert_eq!(
        loaded.signing.as_ref().map(|k| k.kid.as_str()),
        Some(keys[0].kid.as_str())
    );
    assert_eq!(kids(&loaded), vec![keys[0].kid.as_str()]);
    assert_eq!(loaded.verifying[0], keys[0].verifying_key());

    put_signing_key(&client, &signing_id, &doc(1))
        .await
        .unwrap();
    let loaded = signing.load().await.unwrap();
    assert_eq!(
        loaded.signing.as_ref().map(|k| k.kid.as_str()),
        Some(keys[1].kid.as_str())
    );
    assert_eq!(
        kids(&loaded),
        vec![keys[1].kid.as_str(), keys[0].kid.as_str()]
    );

    put_signing_key(&client, &signing_id, &doc(2))
        .await
        .unwrap();
    let loaded = signing.load().await.unwrap();
    assert_eq!(
        kids(&loaded),
        vec![keys[2].kid.as_str(), keys[1].kid.as_str()]
    );

    let jwks = Jwks::from_keys(&loaded.verifying);
    put_public_jwks(&client, &public_id, &jwks).await.unwrap();
    let loaded_public = public.load().await.unwrap();
    assert!(loaded_public.signing.is_none());
    assert_eq!(loaded_public.verifying, loaded.verifying);

    client
        .put_secret_value()
        .secret_id(&public_id)
        .secret_string(r#"{"keys":[{"kty":"RSA"}]}"#)
        .send()
        .await
        .unwrap();
    let corrupt = public.load().await.unwrap_err();
    assert!(matches!(corrupt, KeyError::Invalid(_)), "{corrupt:?}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    // A closed local port: no server is started, the connection is refused at once.
    let config = crate::aws::loader(crate::aws::Trust::AmazonRoots)
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let source = SecretsManagerSigningKeys::new(Client::new(&config), "paygate-test-nowhere");
    let err = source.load().await.unwrap_err();
    assert!(matches!(err, KeyError::Unavailable(_)), "{err:?}");
}
