//! What a rotation must achieve: a new current key with a new key id, tokens of the previous
//! key still accepted, tokens of the key before that refused, starting from the placeholder of
//! a fresh deployment. Verified through `KeyCache` over both Secrets Manager key sources, as the
//! token endpoint and the verifiers load them.

use paygate_shared::auth::{
    AuthError, KeyError, KeySource, SecretsManagerSigningKeys, TokenError, keys::KEY_ID_PREFIX,
};

use paygate_shared::Clock;

use crate::support::{Fixture, PLACEHOLDER, check, issue};

#[tokio::test]
async fn the_first_rotation_replaces_the_placeholder_with_a_signing_key() {
    let f = Fixture::new().await;
    let before = SecretsManagerSigningKeys::new(f.client.clone(), &f.signing_id)
        .load()
        .await
        .unwrap_err();
    assert!(matches!(before, KeyError::Invalid(_)), "{before:?}");
    let placeholder = f.version_with("AWSCURRENT").await.unwrap();

    let token = f.rotation().await;

    let current = f.document("AWSCURRENT").await;
    assert!(current.kid.starts_with(KEY_ID_PREFIX), "{}", current.kid);
    assert_eq!(current.created_at, f.clock.now());
    // The placeholder signed nothing: it is not kept as AWSPREVIOUS.
    let stages = f.stages().await;
    assert_eq!(stages[&token], ["AWSCURRENT"], "{stages:?}");
    assert!(!stages.contains_key(&placeholder), "{stages:?}");
    assert_eq!(f.published_kids().await, std::slice::from_ref(&current.kid));

    let signing = f.signing_cache();
    assert_eq!(signing.signing_key().await.unwrap().kid, current.kid);
    let kids: Vec<String> = signing
        .jwks()
        .await
        .unwrap()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, std::slice::from_ref(&current.kid));
    let access = issue(&signing, &f.clock).await;
    assert_eq!(
        check(&f.public_cache(), &access).await.unwrap().sub,
        "client-1"
    );
    assert_eq!(check(&signing, &access).await.unwrap().sub, "client-1");
    // The placeholder version itself is untouched.
    let out = f
        .client
        .get_secret_value()
        .secret_id(&f.signing_id)
        .version_id(&placeholder)
        .send()
        .await
        .unwrap();
    assert_eq!(out.secret_string.as_deref(), Some(PLACEHOLDER));
}

#[tokio::test]
async fn a_rotation_keeps_the_previous_key_and_the_next_one_retires_it() {
    let f = Fixture::new().await;
    let first = f.rotation().await;
    let key_a = f.kid("AWSCURRENT").await;
    // Sandboxes that loaded their keys before the rotation.
    let old_signing = f.signing_cache();
    let old_public = f.public_cache();
    let token_a = issue(&old_signing, &f.clock).await;
    check(&old_public, &token_a).await.unwrap();

    let second = f.rotation().await;
    let key_b = f.kid("AWSCURRENT").await;
    assert_ne!(key_b, key_a);
    assert!(
        key_b > key_a,
        "key ids are time-ordered: {key_b} after {key_a}"
    );
    assert_eq!(f.kid("AWSPREVIOUS").await, key_a);
    let stages = f.stages().await;
    assert_eq!(stages[&second], ["AWSCURRENT"], "{stages:?}");
    assert_eq!(stages[&first], ["AWSPREVIOUS"], "{stages:?}");
    assert_eq!(f.published_kids().await, [key_b.clone(), key_a.clone()]);

    // Fresh sandboxes sign with the new key and still accept the previous one.
    let signing = f.signing_cache();
    let public = f.public_cache();
    assert_eq!(signing.signing_key().await.unwrap().kid, key_b);
    check(&public, &token_a).await.unwrap();
    check(&signing, &token_a).await.unwrap();
    let token_b = issue(&signing, &f.clock).await;
    check(&public, &token_b).await.unwrap();
    // A sandbox still holding the old keys learns the new one on first sight of it.
    check(&old_public, &token_b).await.unwrap();
    check(&old_signing, &token_b).await.unwrap();

    f.rotation().await;
    let key_c = f.kid("AWSCURRENT").await;
    assert!(key_c > key_b);
    assert_eq!(f.published_kids().await, [key_c.clone(), key_b.clone()]);
    let signing = f.signing_cache();
    let public = f.public_cache();
    for cache in [&signing, &public] {
        assert_eq!(
            check(cache, &token_a).await.unwrap_err(),
            AuthError::Token(TokenError::UnknownKey(key_a.clone()))
        );
        check(cache, &token_b).await.unwrap();
    }
    check(&public, &issue(&signing, &f.clock).await)
        .await
        .unwrap();
}
