//! Rotation, refresh and rate limiting of the key cache, with a source that counts its loads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use time::macros::datetime;

use super::*;
use crate::auth::{Scopes, sign};

const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);
const HOUR: Duration = Duration::from_secs(3600);

/// A [`StaticKeySource`] that counts loads, can be told to fail, and can be slow.
#[derive(Default)]
struct CountingSource {
    keys: StaticKeySource,
    loads: AtomicUsize,
    failing: AtomicBool,
    delay: Duration,
}

impl CountingSource {
    fn new(key: &SigningKey) -> Arc<Self> {
        Arc::new(Self {
            keys: StaticKeySource::new(KeySet::with_signing_key(key.clone(), None)),
            ..Self::default()
        })
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl KeySource for CountingSource {
    async fn load(&self) -> Result<KeySet, KeyError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(KeyError::Unavailable("the test says so".to_owned()));
        }
        self.keys.load().await
    }
}

fn new_key() -> SigningKey {
    SigningKey::generate(NOW).unwrap()
}

fn token(key: &SigningKey) -> String {
    let claims = Claims::new(
        "iss",
        "acme-app",
        "aud",
        Scopes::empty(),
        NOW,
        time::Duration::HOUR,
    );
    sign(key, &claims)
}

async fn check(cache: &KeyCache, token: &str) -> Result<Claims, AuthError> {
    cache
        .verify(token, &Expectations::new("iss", "aud"), NOW)
        .await
}

#[tokio::test]
async fn tokens_of_the_previous_key_survive_one_rotation_but_not_two() {
    let (k1, k2, k3) = (new_key(), new_key(), new_key());
    let source = Arc::new(StaticKeySource::new(KeySet::with_signing_key(
        k1.clone(),
        None,
    )));
    let cache = KeyCache::new(source.clone(), HOUR).with_min_refresh(Duration::ZERO);
    let (t1, t2, t3) = (token(&k1), token(&k2), token(&k3));

    assert_eq!(check(&cache, &t1).await.unwrap().sub, "acme-app");
    assert_eq!(cache.signing_key().await.unwrap().kid, k1.kid);

    source.rotate(k2.clone());
    // The unknown kid of t2 makes the cache reload and see the rotation.
    assert!(check(&cache, &t2).await.is_ok());
    assert!(check(&cache, &t1).await.is_ok());
    assert_eq!(cache.signing_key().await.unwrap().kid, k2.kid);

    source.rotate(k3.clone());
    assert!(check(&cache, &t3).await.is_ok());
    assert!(check(&cache, &t2).await.is_ok());
    assert_eq!(
        check(&cache, &t1).await,
        Err(AuthError::Token(TokenError::UnknownKey(k1.kid.clone())))
    );
    let kids: Vec<String> = cache
        .jwks()
        .await
        .unwrap()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, vec![k3.kid.clone(), k2.kid.clone()]);
}

#[tokio::test]
async fn unknown_key_ids_reload_at_most_once_per_min_refresh() {
    let key = new_key();
    let source = CountingSource::new(&key);
    let cache = KeyCache::new(source.clone(), HOUR).with_min_refresh(HOUR);
    assert!(check(&cache, &token(&key)).await.is_ok());
    assert_eq!(source.loads(), 1);
    for _ in 0..10 {
        let stranger = new_key();
        assert_eq!(
            check(&cache, &token(&stranger)).await,
            Err(AuthError::Token(TokenError::UnknownKey(stranger.kid)))
        );
    }
    assert_eq!(
        source.loads(),
        1,
        "random key ids must not reach the source"
    );

    let eager = KeyCache::new(source.clone(), HOUR).with_min_refresh(Duration::ZERO);
    for _ in 0..3 {
        assert!(eager.verifying_key(&new_key().kid).await.unwrap().is_none());
    }
    // One initial load, then one per unknown kid.
    assert_eq!(source.loads(), 1 + 1 + 3);
}

#[tokio::test]
async fn keys_are_loaded_lazily_and_again_after_the_ttl() {
    let key = new_key();
    let source = CountingSource::new(&key);
    let cache = KeyCache::new(source.clone(), HOUR);
    assert_eq!(source.loads(), 0);
    for _ in 0..5 {
        assert_eq!(cache.signing_key().await.unwrap().kid, key.kid);
        assert!(cache.verifying_key(&key.kid).await.unwrap().is_some());
    }
    assert_eq!(source.loads(), 1);

    let short = KeyCache::new(source.clone(), Duration::from_millis(1));
    assert!(short.jwks().await.is_ok());
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(short.jwks().await.is_ok());
    assert_eq!(source.loads(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_load_once() {
    let key = new_key();
    let source = Arc::new(CountingSource {
        delay: Duration::from_millis(20),
        ..Arc::into_inner(CountingSource::new(&key)).unwrap()
    });
    let cache = Arc::new(KeyCache::new(source.clone(), HOUR));
    // Hold the lock until every task waits on it: released together, all of them find the
    // cache empty and queue for the write lock, which is the race the re-check is there for.
    let gate = cache.cached.write().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let cache = cache.clone();
        tasks.spawn(async move { cache.signing_key().await.map(|k| k.kid) });
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(gate);
    while let Some(kid) = tasks.join_next().await {
        assert_eq!(kid.unwrap(), Ok(key.kid.clone()));
    }
    assert_eq!(source.loads(), 1);
}

#[tokio::test]
async fn an_unreachable_source_fails_closed_and_recovers() {
    let key = new_key();
    let source = CountingSource::new(&key);
    source.failing.store(true, Ordering::SeqCst);
    let cache = KeyCache::new(source.clone(), Duration::from_millis(1));
    let unavailable = Err(AuthError::Keys(KeyError::Unavailable(
        "the test says so".to_owned(),
    )));
    assert_eq!(check(&cache, &token(&key)).await, unavailable);

    source.failing.store(false, Ordering::SeqCst);
    assert!(check(&cache, &token(&key)).await.is_ok());

    // Past the TTL, keys that cannot be reloaded are not served.
    source.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(check(&cache, &token(&key)).await, unavailable);
    assert_eq!(source.loads(), 3);
}

#[tokio::test]
async fn a_public_keys_only_source_verifies_but_cannot_sign() {
    let key = new_key();
    let source = Arc::new(StaticKeySource::new(KeySet::verify_only(vec![
        key.verifying_key(),
    ])));
    let cache = KeyCache::new(source, HOUR);
    assert_eq!(
        cache.signing_key().await.unwrap_err(),
        KeyError::NoSigningKey
    );
    assert_eq!(check(&cache, &token(&key)).await.unwrap().sub, "acme-app");
    assert_eq!(cache.jwks().await.unwrap().keys[0].kid, key.kid);
}
