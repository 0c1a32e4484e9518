//! What the functions run on: a store (the embedded one by default, DynamoDB with
//! `--dynamodb-endpoint`), the signing and verification keys (generated, or Secrets Manager
//! with `--secrets-endpoint`) and the clock; and where they run: in-process by default, or as
//! their own processes under `cargo lambda watch` (`--upstream`).

use std::{sync::Arc, time::Duration};

use lambda_http::{Body, Request, Response};
use paygate_authorizer::AuthorizerDeps;
use paygate_expire::ExpireDeps;
use paygate_shared::{
    Clock, SystemClock,
    api::{ApiDeps, Authenticator},
    auth::{Expectations, KeyCache, KeyError, KeySet, KeySource, SigningKey, StaticKeySource},
    config::{PaymentSettings, TokenSettings},
    metrics::Metrics,
    notify::ssrf::UrlPolicy,
    poster::Poster,
    risk::RiskControl,
    store::{ClientStore, NotificationStore, PostingStore, Store, memory::MemoryStore},
    webhook::{AesGcmSealer, SecretSealer},
    wiring::{TokenDeps, WebhookDeps},
};

use crate::upstream::Upstream;

/// The token settings the functions default to (`PAYGATE_TOKEN_*` unset).
pub fn default_token_settings() -> TokenSettings {
    TokenSettings {
        issuer: "paygate".to_owned(),
        audience: "paygate-api".to_owned(),
        lifetime: Duration::from_secs(900),
        key_cache_ttl: Duration::from_secs(300),
    }
}

/// The functions' dependencies.
#[derive(Clone)]
pub struct Backend {
    /// Accounts, payments and the ledger.
    pub store: Arc<dyn Store>,
    /// The OAuth client registry (the same table as `store` in production).
    pub clients: Arc<dyn ClientStore>,
    pub clock: Arc<dyn Clock>,
    /// The private signing key, read by the token endpoint only.
    pub signing_keys: Arc<dyn KeySource>,
    /// The public verification keys, read by the authorizer and the functions. Any source can
    /// be injected, e.g. one that fails, to show the authorizer failing.
    pub public_keys: Arc<dyn KeySource>,
    pub tokens: TokenSettings,
    pub payments: PaymentSettings,
    /// Webhook endpoints and events (the same store as `store`).
    pub notifications: Arc<dyn NotificationStore>,
    /// Seals webhook secrets: a key generated per process by default, so what one run sealed
    /// opens only in that run (see [`Backend::with_sealing_key_material`] for a store that
    /// outlives the process).
    pub sealer: Arc<dyn SecretSealer>,
    /// What webhook URLs may be: locally also `http` to loopback, for a receiver on 127.0.0.1.
    pub webhook_policy: UrlPolicy,
    /// Where the functions run: `None` in-process, else `cargo lambda watch`.
    pub upstream: Option<Upstream>,
    /// Posts batched accounts' credits (on `store`, by `clock`); its stats count for every
    /// clone.
    pub poster: Poster,
    /// Risk control's defaults and caches, shared by every clone (one sandbox's worth).
    pub risk: RiskControl,
    /// The functions' metrics: off, since this process's stdout is its log.
    pub metrics: Metrics,
}

impl Backend {
    /// `store` (also the client registry), keys from `keys` for signing and verifying.
    pub fn new<S>(store: Arc<S>, keys: Arc<dyn KeySource>, clock: Arc<dyn Clock>) -> Self
    where
        S: Store + ClientStore + NotificationStore + 'static,
    {
        let posting: Arc<dyn PostingStore> = store.clone();
        Self {
            poster: Poster::new(posting, clock.clone()),
            store: store.clone(),
            notifications: store.clone(),
            clients: store,
            clock,
            signing_keys: keys.clone(),
            public_keys: keys,
            tokens: default_token_settings(),
            payments: PaymentSettings::default(),
            sealer: Arc::new(AesGcmSealer::generate()),
            webhook_policy: UrlPolicy {
                allow_loopback_http: true,
            },
            upstream: None,
            risk: RiskControl::default(),
            metrics: Metrics::off(),
        }
    }

    /// Seals webhook secrets under the SHA-256 of `material` (as the functions do with the
    /// Secrets Manager secret): secrets stored in a DynamoDB table still open after a restart.
    #[must_use]
    pub fn with_sealing_key_material(mut self, material: &[u8]) -> Self {
        self.sealer = Arc::new(AesGcmSealer::from_material(material));
        self
    }

    /// A freshly generated signing key, held in memory.
    ///
    /// # Errors
    /// When the key cannot be generated.
    pub fn generated_keys(clock: &dyn Clock) -> Result<Arc<dyn KeySource>, KeyError> {
        let signing_key = SigningKey::generate(clock.now())?;
        Ok(Arc::new(StaticKeySource::new(KeySet::with_signing_key(
            signing_key,
            None,
        ))))
    }

    /// `store` with a freshly generated signing key.
    ///
    /// # Errors
    /// When the key cannot be generated.
    pub fn with_store<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Result<Self, KeyError>
    where
        S: Store + ClientStore + NotificationStore + 'static,
    {
        let keys = Self::generated_keys(clock.as_ref())?;
        Ok(Self::new(store, keys, clock))
    }

    /// A fresh embedded store and a freshly generated signing key.
    ///
    /// # Errors
    /// When the key cannot be generated.
    pub fn in_memory(clock: Arc<dyn Clock>) -> Result<Self, KeyError> {
        Self::with_store(Arc::new(MemoryStore::new()), clock)
    }

    /// On the system clock.
    ///
    /// # Errors
    /// As [`Backend::in_memory`].
    pub fn system() -> Result<Self, KeyError> {
        Self::in_memory(Arc::new(SystemClock))
    }

    fn key_cache(&self, source: &Arc<dyn KeySource>) -> Arc<KeyCache> {
        Arc::new(KeyCache::new(source.clone(), self.tokens.key_cache_ttl))
    }

    fn expectations(&self) -> Expectations {
        Expectations::new(self.tokens.issuer.clone(), self.tokens.audience.clone())
    }

    pub fn authorizer_deps(&self) -> AuthorizerDeps {
        AuthorizerDeps {
            keys: self.key_cache(&self.public_keys),
            expected: self.expectations(),
            clock: self.clock.clone(),
        }
    }

    pub fn expire_deps(&self) -> ExpireDeps {
        ExpireDeps {
            store: self.store.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        }
    }

    pub fn functions(&self) -> Functions {
        let api = ApiDeps {
            store: self.store.clone(),
            auth: Authenticator::new(self.key_cache(&self.public_keys), self.expectations()),
            clock: self.clock.clone(),
            payments: self.payments,
            round_trips: None,
            risk: self.risk.clone(),
            metrics: self.metrics.clone(),
        };
        Functions {
            webhooks: WebhookDeps {
                api: api.clone(),
                sealer: self.sealer.clone(),
                policy: self.webhook_policy,
                notifications: self.notifications.clone(),
            },
            api,
            token: TokenDeps {
                clients: self.clients.clone(),
                keys: self.key_cache(&self.signing_keys),
                clock: self.clock.clone(),
                tokens: self.tokens.clone(),
                round_trips: None,
                metrics: self.metrics.clone(),
            },
        }
    }
}

/// The endpoint functions, by the binary the template names for them.
pub struct Functions {
    api: ApiDeps,
    token: TokenDeps,
    webhooks: WebhookDeps,
}

impl Functions {
    /// Whether a function of this binary can be run in-process.
    pub fn serves(binary: &str) -> bool {
        matches!(
            binary,
            "authorize"
                | "pay"
                | "confirm"
                | "refund"
                | "review"
                | "balance"
                | "transactions"
                | "webhooks"
        )
    }

    /// Runs the function `binary` on `request`; `None` for an unknown binary.
    pub async fn invoke(&self, binary: &str, request: Request) -> Option<Response<Body>> {
        Some(match binary {
            "authorize" => paygate_authorize::handle(&self.token, request).await,
            "pay" => paygate_pay::handle(&self.api, request).await,
            "confirm" => paygate_confirm::handle(&self.api, request).await,
            "refund" => paygate_refund::handle(&self.api, request).await,
            "review" => paygate_review::handle(&self.api, request).await,
            "balance" => paygate_balance::handle(&self.api, request).await,
            "transactions" => paygate_transactions::handle(&self.api, request).await,
            "webhooks" => paygate_webhooks::handle(&self.webhooks, request).await,
            _ => return None,
        })
    }
}
