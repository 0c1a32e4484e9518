//! Typed configuration, read once per sandbox from the environment. A missing or malformed
//! variable stops the function at start-up with a message naming it, rather than failing
//! requests later.

use std::{str::FromStr, time::Duration};

use crate::{AccountLimits, money::AmountPolicy};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value: {why}")]
    Invalid { name: &'static str, why: String },
}

/// Reads variables through `lookup` (the process environment in production, a map in tests).
pub struct Env<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn parsed<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    why: e.to_string(),
                }),
        }
    }
}

/// The process environment.
pub fn process_env() -> Env<impl Fn(&str) -> Option<String>> {
    Env(|name: &str| std::env::var(name).ok())
}

/// Where the data and keys live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub accounts_table: String,
    pub transactions_table: String,
    /// An explicit DynamoDB endpoint (moto, a local emulator); the SDK default otherwise.
    pub dynamodb_endpoint: Option<String>,
    /// An explicit Secrets Manager endpoint.
    pub secrets_endpoint: Option<String>,
}

impl Resources {
    /// # Errors
    /// When a table name is missing.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            accounts_table: env.required("PAYGATE_ACCOUNTS_TABLE")?,
            transactions_table: env.required("PAYGATE_TRANSACTIONS_TABLE")?,
            dynamodb_endpoint: env.optional("PAYGATE_DYNAMODB_ENDPOINT"),
            secrets_endpoint: env.optional("PAYGATE_SECRETS_ENDPOINT"),
        })
    }
}

/// Token issuance and verification settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub lifetime: Duration,
    /// How long keys are cached per sandbox before a reload.
    pub key_cache_ttl: Duration,
}

impl TokenSettings {
    /// # Errors
    /// When a value does not parse.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let lifetime: u64 = env.parsed("PAYGATE_TOKEN_TTL_SECONDS", 900)?;
        if lifetime == 0 {
            let why = "must be positive".to_owned();
            return Err(ConfigError::Invalid {
                name: "PAYGATE_TOKEN_TTL_SECONDS",
                why,
            });
        }
        Ok(Self {
            issuer: env
                .optional("PAYGATE_TOKEN_ISSUER")
                .unwrap_or_else(|| "paygate".into()),
            audience: env
                .optional("PAYGATE_TOKEN_AUDIENCE")
                .unwrap_or_else(|| "paygate-api".into()),
            lifetime: Duration::from_secs(lifetime),
            key_cache_ttl: Duration::from_secs(env.parsed("PAYGATE_KEY_CACHE_TTL_SECONDS", 300)?),
        })
    }
}

/// Payment rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentSettings {
    pub amounts: AmountPolicy,
    /// How long a pending payment can be confirmed.
    pub pending_ttl: Duration,
    /// Limits given to new accounts.
    pub default_limits: AccountLimits,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            amounts: AmountPolicy::default(),
            pending_ttl: Duration::from_secs(15 * 60),
            default_limits: AccountLimits {
                per_payment: 10_000_000,
                daily_outflow: 50_000_000,
            },
        }
    }
}

impl PaymentSettings {
    /// # Errors
    /// When a value does not parse or is not positive.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let max_major = env.parsed("PAYGATE_MAX_AMOUNT_MAJOR", defaults.amounts.max_major_units)?;
        let ttl = env.parsed(
            "PAYGATE_PAYMENT_TTL_SECONDS",
            defaults.pending_ttl.as_secs(),
        )?;
        if max_major <= 0 || ttl == 0 {
            return Err(ConfigError::Invalid {
                name: if max_major <= 0 {
                    "PAYGATE_MAX_AMOUNT_MAJOR"
                } else {
                    "PAYGATE_PAYMENT_TTL_SECONDS"
                },
                why: "must be positive".into(),
            });
        }
        Ok(Self {
            amounts: AmountPolicy {
                max_major_units: max_major,
            },
            pending_ttl: Duration::from_secs(ttl),
            default_limits: defaults.default_limits,
        })
    }
}
