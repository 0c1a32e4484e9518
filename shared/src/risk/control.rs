//! What the pay handler needs for risk control, per sandbox: the default rules (function
//! configuration) and each client's rules cached for at most [`RiskSettings::cache_ttl`].
//! Decisions are recorded as metrics by [`crate::metrics::Metrics::risk_decision`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::RiskRules;
use crate::{
    ClientId, StoreError,
    config::{ConfigError, Env},
    store::ClientStore,
};

/// Clients whose rules are cached per sandbox before the cache starts over.
const MAX_CACHED_CLIENTS: usize = 4_096;

/// Risk control's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskSettings {
    /// The rules of clients that have none of their own.
    pub defaults: RiskRules,
    /// How long a client's rules are cached per sandbox.
    pub cache_ttl: Duration,
}

impl Default for RiskSettings {
    fn default() -> Self {
        Self {
            defaults: RiskRules::default(),
            cache_ttl: Duration::from_secs(60),
        }
    }
}

impl RiskSettings {
    /// `PAYGATE_RISK_MAX_PAYMENTS_PER_HOUR`, `..._PER_DAY`, `PAYGATE_RISK_MAX_AMOUNT_PER_HOUR`,
    /// `PAYGATE_RISK_NEW_PAYEE_MAX_AMOUNT`, `PAYGATE_RISK_REVIEW_AMOUNT` (empty or 0: no such
    /// rule) and `PAYGATE_RISK_RULES_CACHE_SECONDS` (at most 60).
    ///
    /// # Errors
    /// A value that is not a non-negative integer, or a cache longer than 60 s.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let limit = |name: &'static str| -> Result<Option<i64>, ConfigError> {
            let value: i64 = env.parsed(name, 0)?;
            if value < 0 {
                return Err(ConfigError::Invalid {
                    name,
                    why: "must be 0 (no limit) or positive".into(),
                });
            }
            Ok((value > 0).then_some(value))
        };
        let ttl: u64 = env.parsed("PAYGATE_RISK_RULES_CACHE_SECONDS", 60)?;
        if ttl > 60 {
            return Err(ConfigError::Invalid {
                name: "PAYGATE_RISK_RULES_CACHE_SECONDS",
                why: "rules are cached for at most 60 seconds".into(),
            });
        }
        Ok(Self {
            defaults: RiskRules {
                max_payments_per_hour: limit("PAYGATE_RISK_MAX_PAYMENTS_PER_HOUR")?,
                max_payments_per_day: limit("PAYGATE_RISK_MAX_PAYMENTS_PER_DAY")?,
                max_amount_per_hour: limit("PAYGATE_RISK_MAX_AMOUNT_PER_HOUR")?,
                new_payee_max_amount: limit("PAYGATE_RISK_NEW_PAYEE_MAX_AMOUNT")?,
                review_amount: limit("PAYGATE_RISK_REVIEW_AMOUNT")?,
                ..RiskRules::default()
            },
            cache_ttl: Duration::from_secs(ttl),
        })
    }
}

/// A client's own rules (none: the defaults) and when they were read.
type CachedRules = (Instant, Option<RiskRules>);

/// Risk control's per-sandbox state. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct RiskControl {
    settings: Arc<RiskSettings>,
    rules: Arc<Mutex<HashMap<ClientId, CachedRules>>>,
}

impl std::fmt::Debug for RiskControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskControl")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for RiskControl {
    fn default() -> Self {
        Self::new(RiskSettings::default())
    }
}

impl RiskControl {
    pub fn new(settings: RiskSettings) -> Self {
        Self {
            settings: Arc::new(settings),
            rules: Arc::default(),
        }
    }

    /// The rules `client` pays under: its own if it has any, else the defaults. Read from the
    /// client's record at most once per cache period (one `GetItem` on DynamoDB).
    ///
    /// # Errors
    /// The store's, when the rules are not cached and cannot be read.
    pub async fn rules(
        &self,
        store: &dyn ClientStore,
        client: &ClientId,
    ) -> Result<RiskRules, StoreError> {
        let now = Instant::now();
        let cached = self
            .rules
            .lock()
            .ok()
            .and_then(|rules| rules.get(client).cloned())
            .filter(|(at, _)| now.duration_since(*at) < self.settings.cache_ttl);
        let own = match cached {
            Some((_, own)) => own,
            None => {
                let own = store.client(client).await?.and_then(|record| record.risk);
                if let Ok(mut rules) = self.rules.lock() {
                    if rules.len() >= MAX_CACHED_CLIENTS {
                        rules.clear();
                    }
                    rules.insert(client.clone(), (now, own.clone()));
                }
                own
            }
        };
        Ok(own.unwrap_or_else(|| self.settings.defaults.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{client::ClientRecord, store::memory::MemoryStore};

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn defaults_come_from_the_environment() {
        let settings = RiskSettings::from_env(&env(&[
            ("PAYGATE_RISK_REVIEW_AMOUNT", "50000"),
            ("PAYGATE_RISK_MAX_PAYMENTS_PER_HOUR", "0"),
        ]))
        .unwrap();
        assert_eq!(settings.defaults.review_amount, Some(50_000));
        assert_eq!(settings.defaults.max_payments_per_hour, None, "0 is off");
        assert!(RiskSettings::from_env(&env(&[("PAYGATE_RISK_REVIEW_AMOUNT", "-1")])).is_err());
        assert!(
            RiskSettings::from_env(&env(&[("PAYGATE_RISK_RULES_CACHE_SECONDS", "61")])).is_err()
        );
    }

    #[tokio::test]
    async fn a_clients_rules_replace_the_defaults_and_are_cached() {
        let store = MemoryStore::new();
        let alice: ClientId = "alice".parse().unwrap();
        let settings = RiskSettings {
            defaults: RiskRules {
                review_amount: Some(100),
                ..RiskRules::default()
            },
            ..RiskSettings::default()
        };
        let control = RiskControl::new(settings);
        assert_eq!(
            control.rules(&store, &alice).await.unwrap().review_amount,
            Some(100),
            "no record: the defaults"
        );
        let record = ClientRecord {
            client_id: alice.clone(),
            secret_hash: crate::client::SecretHash::new("s", 1),
            scopes: Vec::new(),
            status: crate::client::ClientStatus::Active,
            operator: false,
            risk: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        store.create_client(&record).await.unwrap();
        let own = RiskRules {
            max_payments_per_day: Some(3),
            ..RiskRules::default()
        };
        store.set_risk_rules(&alice, Some(&own)).await.unwrap();
        assert_eq!(
            control.rules(&store, &alice).await.unwrap().review_amount,
            Some(100),
            "cached"
        );
        let fresh = RiskControl::new(RiskSettings::default());
        assert_eq!(fresh.rules(&store, &alice).await.unwrap(), own);
    }
}
