//! What the functions run on in-process: the embedded store, the signing keys and the clock,
//! and the dependencies of each function built from them.

use std::{sync::Arc, time::Duration};

use lambda_http::{Body, Request, Response};
use paygate_authorizer::AuthorizerDeps;
use paygate_shared::{
    Clock, SystemClock,
    api::{ApiDeps, Authenticator},
    auth::{Expectations, KeyCache, KeyError, KeySet, KeySource, SigningKey, StaticKeySource},
    config::{PaymentSettings, TokenSettings},
    store::memory::MemoryStore,
    wiring::TokenDeps,
};

/// The token settings the functions default to (`PAYGATE_TOKEN_*` unset).
pub fn default_token_settings() -> TokenSettings {
    TokenSettings {
        issuer: "paygate".to_owned(),
        audience: "paygate-api".to_owned(),
        lifetime: Duration::from_secs(900),
        key_cache_ttl: Duration::from_secs(300),
    }
}

/// The in-process dependencies.
#[derive(Clone)]
pub struct Backend {
    pub store: Arc<MemoryStore>,
    pub clock: Arc<dyn Clock>,
    /// The signing and verification keys (a generated key by default; any source can be
    /// injected, e.g. one that fails, to show the authorizer failing).
    pub keys: Arc<dyn KeySource>,
    pub tokens: TokenSettings,
    pub payments: PaymentSettings,
}

impl Backend {
    /// A fresh embedded store and a freshly generated signing key.
    ///
    /// # Errors
    /// When the key cannot be generated.
    pub fn in_memory(clock: Arc<dyn Clock>) -> Result<Self, KeyError> {
        let signing_key = SigningKey::generate(clock.now())?;
        Ok(Self {
            store: Arc::new(MemoryStore::new()),
            clock,
            keys: Arc::new(StaticKeySource::new(KeySet::with_signing_key(
                signing_key,
                None,
            ))),
            tokens: default_token_settings(),
            payments: PaymentSettings::default(),
        })
    }

    /// On the system clock.
    ///
    /// # Errors
    /// As [`Backend::in_memory`].
    pub fn system() -> Result<Self, KeyError> {
        Self::in_memory(Arc::new(SystemClock))
    }

    fn key_cache(&self) -> Arc<KeyCache> {
        Arc::new(KeyCache::new(self.keys.clone(), self.tokens.key_cache_ttl))
    }

    fn expectations(&self) -> Expectations {
        Expectations::new(self.tokens.issuer.clone(), self.tokens.audience.clone())
    }

    pub fn authorizer_deps(&self) -> AuthorizerDeps {
        AuthorizerDeps {
            keys: self.key_cache(),
            expected: self.expectations(),
            clock: self.clock.clone(),
        }
    }

    pub fn functions(&self) -> Functions {
        Functions {
            api: ApiDeps {
                store: self.store.clone(),
                auth: Authenticator::new(self.key_cache(), self.expectations()),
                clock: self.clock.clone(),
                payments: self.payments,
                round_trips: None,
            },
            token: TokenDeps {
                clients: self.store.clone(),
                keys: self.key_cache(),
                clock: self.clock.clone(),
                tokens: self.tokens.clone(),
                round_trips: None,
            },
        }
    }
}

/// The endpoint functions, by the binary the template names for them.
pub struct Functions {
    api: ApiDeps,
    token: TokenDeps,
}

impl Functions {
    /// Whether a function of this binary can be run in-process.
    pub fn serves(binary: &str) -> bool {
        matches!(
            binary,
            "authorize" | "pay" | "confirm" | "balance" | "transactions"
        )
    }

    /// Runs the function `binary` on `request`; `None` for an unknown binary.
    pub async fn invoke(&self, binary: &str, request: Request) -> Option<Response<Body>> {
        Some(match binary {
            "authorize" => paygate_authorize::handle(&self.token, request).await,
            "pay" => paygate_pay::handle(&self.api, request).await,
            "confirm" => paygate_confirm::handle(&self.api, request).await,
            "balance" => paygate_balance::handle(&self.api, request).await,
            "transactions" => paygate_transactions::handle(&self.api, request).await,
            _ => return None,
        })
    }
}
