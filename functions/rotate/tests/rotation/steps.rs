//! Each step on its own: retried after it succeeded it changes nothing; `testSecret` refuses a
//! key verifiers would not know; steps for a rotation Secrets Manager did not start fail.

use paygate_rotate::{RotateError, RotationStep};
use paygate_shared::Clock;
use paygate_shared::auth::{
    Jwks, KeyError, KeySource, SecretsManagerSigningKeys, SigningKey, TokenError, VerifyingKey,
    put_public_jwks,
};

use crate::support::Fixture;

use RotationStep::{CreateSecret, FinishSecret, SetSecret, TestSecret};

#[tokio::test]
async fn every_step_changes_nothing_when_retried() {
    let f = Fixture::new().await;
    f.rotation().await;
    let key_a = f.kid("AWSCURRENT").await;
    let version_a = f.version_with("AWSCURRENT").await.unwrap();
    let token = f.begin().await;

    f.step(&token, CreateSecret).await.unwrap();
    let pending = f.value(&f.signing_id, "AWSPENDING").await;
    f.step(&token, CreateSecret).await.unwrap();
    assert_eq!(f.value(&f.signing_id, "AWSPENDING").await, pending);
    let new_kid = f.kid("AWSPENDING").await;
    assert_ne!(new_kid, key_a);

    f.step(&token, SetSecret).await.unwrap();
    let published = f.value(&f.public_id, "AWSCURRENT").await;
    f.step(&token, SetSecret).await.unwrap();
    assert_eq!(f.value(&f.public_id, "AWSCURRENT").await, published);
    assert_eq!(f.published_kids().await, [new_kid.clone(), key_a.clone()]);
    // The key that signs is unchanged until finishSecret.
    assert_eq!(f.kid("AWSCURRENT").await, key_a);

    f.step(&token, TestSecret).await.unwrap();
    f.step(&token, TestSecret).await.unwrap();

    f.step(&token, FinishSecret).await.unwrap();
    let finished = f.stages().await;
    assert!(
        finished[&token].contains(&"AWSCURRENT".to_owned()),
        "{finished:?}"
    );
    assert_eq!(finished[&version_a], ["AWSPREVIOUS"], "{finished:?}");
    f.step(&token, FinishSecret).await.unwrap();
    assert_eq!(f.stages().await, finished);

    // Any step retried once the version is current does nothing.
    for step in RotationStep::ALL {
        f.step(&token, step).await.unwrap();
    }
    assert_eq!(f.stages().await, finished);
    assert_eq!(f.value(&f.public_id, "AWSCURRENT").await, published);
    assert_eq!(f.value(&f.signing_id, "AWSCURRENT").await, pending);
}

#[tokio::test]
async fn a_finish_stopped_before_dropping_the_placeholder_completes_on_retry() {
    let f = Fixture::new().await;
    let placeholder = f.version_with("AWSCURRENT").await.unwrap();
    let token = f.begin().await;
    for step in [CreateSecret, SetSecret, TestSecret] {
        f.step(&token, step).await.unwrap();
    }
    // finishSecret's first write alone, as if the function stopped right after it.
    f.client
        .update_secret_version_stage()
        .secret_id(&f.signing_id)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&token)
        .remove_from_version_id(&placeholder)
        .send()
        .await
        .unwrap();
    let signing = SecretsManagerSigningKeys::new(f.client.clone(), &f.signing_id);
    let broken = signing.load().await.unwrap_err();
    assert!(matches!(broken, KeyError::Invalid(_)), "{broken:?}");

    f.step(&token, FinishSecret).await.unwrap();
    let keys = signing.load().await.unwrap();
    let kid = f.kid("AWSCURRENT").await;
    assert_eq!(keys.signing.map(|k| k.kid), Some(kid.clone()));
    assert_eq!(keys.verifying.len(), 1);
    assert_eq!(f.version_with("AWSPREVIOUS").await, None);
}

#[tokio::test]
async fn test_secret_fails_unless_the_jwks_publishes_the_pending_key() {
    let f = Fixture::new().await;
    f.rotation().await;
    let key_a = f.kid("AWSCURRENT").await;
    let token = f.begin().await;

    for step in [SetSecret, TestSecret] {
        let err = f.step(&token, step).await.unwrap_err();
        assert!(
            matches!(err, RotateError::PendingKeyMissing { .. }),
            "{err:?}"
        );
    }
    f.step(&token, CreateSecret).await.unwrap();
    let pending = f.kid("AWSPENDING").await;

    // setSecret skipped: the JWKS still publishes the current key only.
    let err = f.step(&token, TestSecret).await.unwrap_err();
    match &err {
        RotateError::NotPublished {
            kid,
            public_secret_id,
        } => {
            assert_eq!(kid, &pending);
            assert_eq!(public_secret_id, &f.public_id);
        }
        other => panic!("{other:?}"),
    }

    // The pending key id published with some other key's coordinates.
    let impostor = VerifyingKey {
        kid: pending.clone(),
        key: SigningKey::generate(f.clock.now())
            .unwrap()
            .verifying_key()
            .key,
    };
    put_public_jwks(&f.client, &f.public_id, &Jwks::from_keys([&impostor]))
        .await
        .unwrap();
    let err = f.step(&token, TestSecret).await.unwrap_err();
    assert!(
        matches!(&err, RotateError::TestFailed { kid, reason: TokenError::BadSignature } if kid == &pending),
        "{err:?}"
    );
    // The current key has not moved while the test failed.
    assert_eq!(f.kid("AWSCURRENT").await, key_a);

    f.step(&token, SetSecret).await.unwrap();
    assert_eq!(f.published_kids().await, [pending, key_a]);
    f.step(&token, TestSecret).await.unwrap();
}

#[tokio::test]
async fn steps_fail_for_a_rotation_secrets_manager_did_not_start() {
    let f = Fixture::new().await;
    let placeholder = f.version_with("AWSCURRENT").await.unwrap();

    let err = f.step(&placeholder, CreateSecret).await.unwrap_err();
    assert!(
        matches!(err, RotateError::RotationNotEnabled { .. }),
        "{err:?}"
    );

    f.rotation().await;
    let first_key = f.version_with("AWSCURRENT").await.unwrap();
    f.rotation().await;
    let unknown = format!("{:032x}", ulid::Ulid::new().0);
    let err = f.step(&unknown, CreateSecret).await.unwrap_err();
    assert!(matches!(err, RotateError::UnknownVersion { .. }), "{err:?}");
    // The previous version is neither being rotated to nor current.
    let err = f.step(&first_key, CreateSecret).await.unwrap_err();
    assert!(matches!(err, RotateError::NotPending { .. }), "{err:?}");

    let err = f
        .step_on(&f.public_id, &placeholder, CreateSecret)
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::WrongSecret { .. }), "{err:?}");
}
