//! What each function is built from, and how production builds it, in one place: one file per
//! function area holding the dependency struct its handler takes (injected, so Lambda, the local
//! gateway and the tests build the same thing) and, beside it, the `*_deps_from_env` that builds
//! it once per sandbox from typed configuration. The SDK clients, store and key caches those are
//! built from are in `clients`. Each item sits behind the feature that links what it needs, so a
//! function compiles only the SDKs it calls: the authorizer has no DynamoDB, `expire` neither the
//! HTTP layer nor token verification.
//!
//! | deps | handler | built by | needs |
//! |------|---------|----------|-------|
//! | `ApiDeps` | pay, confirm, balance, transactions | `api_deps_from_env` | `http` (+ `dynamodb`, `secrets`) |
//! | `TokenDeps` | authorize | `token_deps_from_env` | `http` (+ `dynamodb`, `secrets`) |
//! | `AuthorizerDeps` | authorizer | `authorizer_deps_from_env` | `auth` (+ `secrets`) |
//! | `RotateDeps` | rotate | `rotate_deps_from_env` | `secrets` |
//! | `ExpireDeps` | expire | `expire_deps_from_env` | none (+ `dynamodb`) |
//! | `PostDeps` | post | `post_deps_from_env` | none (+ `dynamodb`) |
//! | `NotifyDeps` | notify | `notify_deps_from_env` | `notify` (+ `sqs`, `secrets`) |
//! | `WebhookDeps` | webhooks | `webhook_deps_from_env` (async: reads the sealing key) | `http` + `notify` (+ `dynamodb`, `secrets`) |

#[cfg(feature = "http")]
mod api;
#[cfg(feature = "auth")]
mod authorizer;
#[cfg(any(feature = "dynamodb", feature = "secrets"))]
mod clients;
mod expire;
#[cfg(feature = "notify")]
mod notify;
mod post;
#[cfg(feature = "secrets")]
mod rotate;
#[cfg(feature = "http")]
mod token;
#[cfg(all(feature = "http", feature = "notify"))]
mod webhooks;

use std::fmt;

use crate::config::ConfigError;

#[cfg(feature = "http")]
pub use api::ApiDeps;
#[cfg(all(feature = "http", feature = "dynamodb", feature = "secrets"))]
pub use api::api_deps_from_env;
#[cfg(feature = "auth")]
pub use authorizer::AuthorizerDeps;
#[cfg(feature = "secrets")]
pub use authorizer::authorizer_deps_from_env;
#[cfg(feature = "dynamodb")]
pub use clients::dynamo_store;
#[cfg(any(feature = "dynamodb", feature = "secrets"))]
pub use clients::{aws_base_config, with_endpoint};
#[cfg(feature = "secrets")]
pub use clients::{public_key_cache, secrets_client, signing_key_cache};
pub use expire::ExpireDeps;
#[cfg(feature = "dynamodb")]
pub use expire::expire_deps_from_env;
#[cfg(feature = "notify")]
pub use notify::NotifyDeps;
#[cfg(all(feature = "sqs", feature = "secrets"))]
pub use notify::notify_deps_from_env;
pub use post::PostDeps;
#[cfg(feature = "dynamodb")]
pub use post::post_deps_from_env;
#[cfg(feature = "secrets")]
pub use rotate::{RotateDeps, rotate_deps_from_env};
#[cfg(feature = "http")]
pub use token::TokenDeps;
#[cfg(all(feature = "http", feature = "dynamodb", feature = "secrets"))]
pub use token::token_deps_from_env;
#[cfg(all(feature = "http", feature = "notify"))]
pub use webhooks::WebhookDeps;
#[cfg(all(
    feature = "http",
    feature = "notify",
    feature = "dynamodb",
    feature = "secrets"
))]
pub use webhooks::webhook_deps_from_env;

/// A function that cannot start: its configuration is missing or malformed, so the sandbox fails
/// its init rather than its first request.
///
/// Rust prints the error a failed `main` returns with `Debug`, so `Debug` here is the plain
/// message naming the variable (`cannot start: environment variable PAYGATE_ACCOUNTS_TABLE is
/// required`), not the enum's structure.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot start: {0}")]
pub struct StartupError(#[from] pub ConfigError);

impl fmt::Debug for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_start_prints_the_variable_it_lacks() {
        let missing: Box<dyn std::error::Error> =
            StartupError::from(ConfigError::Missing("PAYGATE_ACCOUNTS_TABLE")).into();
        assert_eq!(
            format!("{missing:?}"),
            "cannot start: environment variable PAYGATE_ACCOUNTS_TABLE is required"
        );
        let invalid = StartupError::from(ConfigError::Invalid {
            name: "PAYGATE_TOKEN_TTL_SECONDS",
            why: "must be positive".to_owned(),
        });
        assert_eq!(
            format!("{invalid:?}"),
            "cannot start: environment variable PAYGATE_TOKEN_TTL_SECONDS has an invalid value: \
             must be positive"
        );
    }
}
