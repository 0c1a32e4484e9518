//! Where keys come from ([`KeySource`]) and the per-sandbox [`KeyCache`] in front of it.
//!
//! The cache loads lazily, keeps the keys for a TTL, and refreshes early when a token names a
//! key id it does not know (a rotation it has not seen yet), but at most once per
//! `min_refresh`, so tokens with random key ids cannot turn every request into a Secrets Manager
//! call. A failed refresh fails closed ([`KeyError::Unavailable`], answered 503): keys past their
//! TTL are not served, so a key withdrawn in an emergency rotation stops working within the TTL.

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::RwLock;

use super::{
    AuthError, Claims, Expectations, Jwks, KeyError, SigningKey, TokenError, UnverifiedToken,
    VerifyingKey,
};

/// Unknown-key refreshes are at most this frequent unless configured otherwise.
pub const DEFAULT_MIN_REFRESH: Duration = Duration::from_secs(30);

/// Where the keys live: Secrets Manager in production, memory in tests and the local gateway.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The keys as they are now.
    ///
    /// # Errors
    /// [`KeyError::Unavailable`] when the source cannot be reached, [`KeyError::Invalid`] when
    /// what it holds is not valid key material.
    async fn load(&self) -> Result<KeySet, KeyError>;
}

/// The keys a source holds at one moment.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// The current private key, if this source has it.
    pub signing: Option<SigningKey>,
    /// The keys tokens may be signed with: the current one first, then the previous one.
    pub verifying: Vec<VerifyingKey>,
}

impl KeySet {
    /// A set that signs with `current` and also accepts tokens of `previous`.
    pub fn with_signing_key(current: SigningKey, previous: Option<VerifyingKey>) -> Self {
        let verifying = std::iter::once(current.verifying_key())
            .chain(previous.filter(|p| p.kid != current.kid))
            .collect();
        Self {
            signing: Some(current),
            verifying,
        }
    }

    /// A set that only verifies.
    pub fn verify_only(verifying: Vec<VerifyingKey>) -> Self {
        Self {
            signing: None,
            verifying,
        }
    }

    /// The verifying key with this id.
    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|k| k.kid == kid)
    }

    /// The public keys as a JWK Set, current first.
    pub fn jwks(&self) -> Jwks {
        Jwks::from_keys(&self.verifying)
    }
}

/// Keys held in memory, rotatable in place: for tests and the local gateway.
#[derive(Debug, Default)]
pub struct StaticKeySource(Mutex<KeySet>);

impl StaticKeySource {
    pub fn new(keys: KeySet) -> Self {
        Self(Mutex::new(keys))
    }

    /// Makes `next` the current key; the current one becomes the previous, and the previous
    /// one is no longer accepted.
    pub fn rotate(&self, next: SigningKey) {
        let mut keys = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = keys.verifying.first().cloned();
        *keys = KeySet::with_signing_key(next, current);
    }

    /// Replaces the keys outright.
    pub fn set(&self, next: KeySet) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
    }
}

#[async_trait]
impl KeySource for StaticKeySource {
    async fn load(&self) -> Result<KeySet, KeyError> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

#[derive(Default)]
struct Cached {
    keys: Option<Arc<KeySet>>,
    loaded_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl Cached {
    fn fresh(&self, ttl: Duration) -> Option<Arc<KeySet>> {
        let loaded_at = self.loaded_at?;
        (loaded_at.elapsed() < ttl)
            .then(|| self.keys.clone())
            .flatten()
    }
}

/// The keys of one sandbox (one Lambda execution environment): build once, share by `Arc`.
pub struct KeyCache {
    source: Arc<dyn KeySource>,
    ttl: Duration,
    min_refresh: Duration,
    cached: RwLock<Cached>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("ttl", &self.ttl)
            .field("min_refresh", &self.min_refresh)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// A cache over `source` that reloads after `ttl`; nothing is loaded until first use.
    pub fn new(source: Arc<dyn KeySource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            min_refresh: DEFAULT_MIN_REFRESH,
            cached: RwLock::new(Cached::default()),
        }
    }

    /// Sets how often, at most, an unknown key id may trigger a reload (default 30 s).
    pub fn with_min_refresh(mut self, min_refresh: Duration) -> Self {
        self.min_refresh = min_refresh;
        self
    }

    /// The current signing key.
    ///
    /// # Errors
    /// As [`KeySource::load`], or [`KeyError::NoSigningKey`] for a public-keys-only source.
    pub async fn signing_key(&self) -> Result<SigningKey, KeyError> {
        self.keys()
            .await?
            .signing
            .clone()
            .ok_or(KeyError::NoSigningKey)
    }

    /// The public keys as a JWK Set, current first.
    ///
    /// # Errors
    /// As [`KeySource::load`].
    pub async fn jwks(&self) -> Result<Jwks, KeyError> {
        Ok(self.keys().await?.jwks())
    }

    /// The verifying key with id `kid`, reloading if the keys are past their TTL or (at most
    /// once per `min_refresh`) if `kid` is unknown.
    ///
    /// # Errors
    /// As [`KeySource::load`].
    pub async fn verifying_key(&self, kid: &str) -> Result<Option<VerifyingKey>, KeyError> {
        if let Some(key) = self.keys().await?.find(kid) {
            return Ok(Some(key.clone()));
        }
        let mut cached = self.cached.write().await;
        // Another task may have reloaded while this one waited for the lock.
        if let Some(key) = cached.keys.as_ref().and_then(|keys| keys.find(kid)) {
            return Ok(Some(key.clone()));
        }
        if cached
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.min_refresh)
        {
            return Ok(None);
        }
        tracing::info!(kid, "unknown key id: reloading keys");
        let keys = self.load_into(&mut cached).await?;
        Ok(keys.find(kid).cloned())
    }

    /// Verifies a bearer token with the key its header names, reloading as
    /// [`KeyCache::verifying_key`] does.
    ///
    /// # Errors
    /// [`AuthError::Token`] for a token that is not accepted, [`AuthError::Keys`] when the keys
    /// could not be had.
    pub async fn verify(
        &self,
        token: &str,
        expected: &Expectations,
        now: OffsetDateTime,
    ) -> Result<Claims, AuthError> {
        let token = UnverifiedToken::parse(token)?;
        let key = self
            .verifying_key(token.kid())
            .await?
            .ok_or_else(|| TokenError::UnknownKey(token.kid().to_owned()))?;
        Ok(token.verify(&key, expected, now)?)
    }

    /// The keys, loaded if there are none yet or they are past their TTL.
    async fn keys(&self) -> Result<Arc<KeySet>, KeyError> {
        if let Some(keys) = self.cached.read().await.fresh(self.ttl) {
            return Ok(keys);
        }
        let mut cached = self.cached.write().await;
        // Concurrent first callers queue on the lock; only the first one loads.
        if let Some(keys) = cached.fresh(self.ttl) {
            return Ok(keys);
        }
        self.load_into(&mut cached).await
    }

    async fn load_into(&self, cached: &mut Cached) -> Result<Arc<KeySet>, KeyError> {
        let started = Instant::now();
        cached.last_attempt = Some(started);
        match self.source.load().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                cached.keys = Some(keys.clone());
                cached.loaded_at = Some(started);
                Ok(keys)
            }
            Err(err) => {
                tracing::warn!(error = %err, "loading the keys failed");
                Err(err)
            }
        }
    }
}
