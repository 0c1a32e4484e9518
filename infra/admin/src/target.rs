//! The deployment a command works on, resolved from the global flags and the environment: the
//! table names, the endpoints, the region and the credentials, and the SDK clients built from
//! them.
//!
//! Precedence: a flag beats an environment variable, which beats the default. The tables are
//! `--table-prefix P` (`P-accounts`, `P-transactions`), else `--accounts-table` and
//! `--transactions-table`, else `PAYGATE_ACCOUNTS_TABLE` and `PAYGATE_TRANSACTIONS_TABLE`, else
//! the prefix `paygate`. Named tables come in pairs: one without the other is refused rather
//! than completed with a default that may belong to another deployment.

use aws_config::{BehaviorVersion, Region, SdkConfig, meta::region::RegionProviderChain};
use paygate_shared::{
    config::Env,
    store::dynamodb::{DynamoStore, TableNames},
};

use crate::{AdminError, cli::Connection};

/// The table prefix when nothing else names the tables.
pub const DEFAULT_TABLE_PREFIX: &str = "paygate";
/// The region when neither `--region` nor the environment gives one.
pub const FALLBACK_REGION: &str = "us-east-1";

/// A resolved connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tables: TableNames,
    pub dynamodb_endpoint: Option<String>,
    pub secrets_endpoint: Option<String>,
    pub region: Option<String>,
    pub local_credentials: bool,
}

impl Target {
    /// Resolves `flags`, reading table names from `env` when no flag names them.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for a lone table name, a blank value, or an endpoint that is not
    /// an `http(s)://` URL.
    pub fn resolve<F: Fn(&str) -> Option<String>>(
        flags: &Connection,
        env: &Env<F>,
    ) -> Result<Self, AdminError> {
        let tables = match (
            given("--table-prefix", &flags.table_prefix)?,
            given("--accounts-table", &flags.accounts_table)?,
            given("--transactions-table", &flags.transactions_table)?,
        ) {
            (Some(prefix), _, _) => TableNames::with_prefix(prefix),
            (None, Some(accounts), Some(transactions)) => named(accounts, transactions),
            (None, Some(_), None) | (None, None, Some(_)) => {
                return Err(AdminError::Invalid(
                    "give both --accounts-table and --transactions-table, or --table-prefix".into(),
                ));
            }
            (None, None, None) => match (
                env.optional("PAYGATE_ACCOUNTS_TABLE"),
                env.optional("PAYGATE_TRANSACTIONS_TABLE"),
            ) {
                (Some(accounts), Some(transactions)) => named(&accounts, &transactions),
                (None, None) => TableNames::with_prefix(DEFAULT_TABLE_PREFIX),
                _ => {
                    return Err(AdminError::Invalid(
                        "PAYGATE_ACCOUNTS_TABLE and PAYGATE_TRANSACTIONS_TABLE must be set \
                         together (or pass --table-prefix)"
                            .into(),
                    ));
                }
            },
        };
        Ok(Self {
            tables,
            dynamodb_endpoint: endpoint("--dynamodb-endpoint", &flags.dynamodb_endpoint)?,
            secrets_endpoint: endpoint("--secrets-endpoint", &flags.secrets_endpoint)?,
            region: given("--region", &flags.region)?.map(str::to_owned),
            local_credentials: flags.local_credentials,
        })
    }

    /// The DynamoDB store over the resolved tables. Nothing is sent until a command uses it.
    pub async fn store(&self) -> DynamoStore {
        let config = self.sdk_config(self.dynamodb_endpoint.as_deref()).await;
        DynamoStore::new(&config, self.tables.clone())
    }

    /// A Secrets Manager client.
    pub async fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(
            &self.sdk_config(self.secrets_endpoint.as_deref()).await,
        )
    }

    async fn sdk_config(&self, endpoint: Option<&str>) -> SdkConfig {
        let region = RegionProviderChain::first_try(self.region.clone().map(Region::new))
            .or_default_provider()
            .or_else(Region::new(FALLBACK_REGION));
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if self.local_credentials {
            loader = loader.credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "paygate-admin-local",
            ));
        }
        loader.load().await
    }
}

fn named(accounts: &str, transactions: &str) -> TableNames {
    TableNames {
        accounts: accounts.to_owned(),
        transactions: transactions.to_owned(),
    }
}

/// A flag's value, refusing a blank one (an unset shell variable, most likely).
fn given<'a>(flag: &str, value: &'a Option<String>) -> Result<Option<&'a str>, AdminError> {
    match value.as_deref().map(str::trim) {
        Some("") => Err(AdminError::Invalid(format!("{flag} must not be empty"))),
        other => Ok(other),
    }
}

/// An endpoint URL; a blank one (an empty environment variable) means the AWS default.
fn endpoint(flag: &str, value: &Option<String>) -> Result<Option<String>, AdminError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(Some(url.to_owned()))
        }
        Some(_) => Err(AdminError::Invalid(format!(
            "{flag} must be an http:// or https:// URL"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(flags: Connection, vars: &[(&str, &str)]) -> Result<Target, AdminError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let env =
            Env(move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()));
        Target::resolve(&flags, &env)
    }

    fn tables(accounts: &str, transactions: &str) -> TableNames {
        named(accounts, transactions)
    }

    const ENV_TABLES: [(&str, &str); 2] = [
        ("PAYGATE_ACCOUNTS_TABLE", "env-acc"),
        ("PAYGATE_TRANSACTIONS_TABLE", "env-txn"),
    ];

    #[test]
    fn tables_default_to_the_paygate_prefix() {
        let target = resolve(Connection::default(), &[]).unwrap();
        assert_eq!(
            target.tables,
            tables("paygate-accounts", "paygate-transactions")
        );
        assert_eq!(
            (
                target.dynamodb_endpoint,
                target.secrets_endpoint,
                target.region
            ),
            (None, None, None)
        );
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_default() {
        let env_only = resolve(Connection::default(), &ENV_TABLES).unwrap();
        assert_eq!(env_only.tables, tables("env-acc", "env-txn"));

        let prefix = Connection {
            table_prefix: Some("t1".into()),
            ..Connection::default()
        };
        assert_eq!(
            resolve(prefix, &ENV_TABLES).unwrap().tables,
            tables("t1-accounts", "t1-transactions")
        );

        let named_flags = Connection {
            accounts_table: Some("a".into()),
            transactions_table: Some("b".into()),
            ..Connection::default()
        };
        assert_eq!(
            resolve(named_flags, &ENV_TABLES).unwrap().tables,
            tables("a", "b")
        );
    }

    #[test]
    fn a_lone_table_name_is_refused() {
        let lone_flag = Connection {
            accounts_table: Some("a".into()),
            ..Connection::default()
        };
        assert!(matches!(
            resolve(lone_flag, &ENV_TABLES),
            Err(AdminError::Invalid(_))
        ));
        assert!(matches!(
            resolve(Connection::default(), &ENV_TABLES[..1]),
            Err(AdminError::Invalid(_))
        ));
    }

    #[test]
    fn endpoints_must_be_urls_and_blank_means_default() {
        let flags = |url: &str| Connection {
            dynamodb_endpoint: Some(url.into()),
            secrets_endpoint: Some(" ".into()),
            ..Connection::default()
        };
        let target = resolve(flags("http://127.0.0.1:5000"), &[]).unwrap();
        assert_eq!(
            target.dynamodb_endpoint.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(target.secrets_endpoint, None);
        assert!(matches!(
            resolve(flags("127.0.0.1:5000"), &[]),
            Err(AdminError::Invalid(_))
        ));
        let blank_prefix = Connection {
            table_prefix: Some("".into()),
            ..Connection::default()
        };
        assert!(matches!(
            resolve(blank_prefix, &[]),
            Err(AdminError::Invalid(_))
        ));
    }
}
