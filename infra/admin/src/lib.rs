//! `paygate-admin`: the operator's command-line tool for one paygate deployment. It creates
//! OAuth clients and accounts, funds accounts from the treasury, rotates the token signing key,
//! and (for local use and emulators) creates the tables as `infra/template.yaml` declares them.
//! It talks to any DynamoDB and Secrets Manager endpoint through the same store and key code the
//! Lambdas use.
//!
//! [`run`] does one command and returns what to print; `main` only parses, runs and maps the
//! error to one line on stderr and an exit status.

pub mod accounts;
pub mod cli;
pub mod clients;
mod error;
pub mod signing;
pub mod target;

use paygate_shared::{Clock, config::process_env};
use paygate_template::{StoreTables, Template, create_store_tables};
use serde::Serialize;
use time::OffsetDateTime;

pub use cli::{Cli, Command};
pub use error::AdminError;
pub use target::Target;

/// Runs one command; returns its output, ready for stdout.
///
/// # Errors
/// Whatever stopped the command, with a message fit for the operator.
pub async fn run(cli: Cli, clock: &dyn Clock) -> Result<String, AdminError> {
    let target = Target::resolve(&cli.connection, &process_env())?;
    execute(&target, cli.command, clock.now())
        .await
        .map_err(|e| e.with_tables(&target.tables))
}

async fn execute(
    target: &Target,
    command: Command,
    now: OffsetDateTime,
) -> Result<String, AdminError> {
    match command {
        Command::CreateTables => {
            let store = target.store().await;
            let tables = store.tables();
            let names = StoreTables {
                accounts: &tables.accounts,
                transactions: &tables.transactions,
            };
            create_store_tables(store.client(), &Template::bundled()?, names).await?;
            json(&serde_json::json!({
                "accounts_table": tables.accounts,
                "transactions_table": tables.transactions,
            }))
        }
        Command::CreateClient(args) => {
            json(&clients::create_client(&target.store().await, args, now).await?)
        }
        Command::CreateAccount(args) => {
            json(&accounts::create_account(&target.store().await, args, now).await?)
        }
        Command::Fund(args) => json(&accounts::fund(&target.store().await, args, now).await?),
        Command::ShowAccount(args) => {
            json(&accounts::show_account(&target.store().await, args.account).await?)
        }
        Command::SetPosting(args) => {
            json(&accounts::set_posting(&target.store().await, args, now).await?)
        }
        Command::SetRiskRules(args) => {
            json(&clients::set_risk_rules(&target.store().await, args).await?)
        }
        Command::ShowRiskRules(args) => {
            json(&clients::show_risk_rules(&target.store().await, &args.client_id).await?)
        }
        Command::CreateSigningKey(args) => {
            signing::create_signing_key(&target.secrets().await, &args, now).await
        }
    }
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, AdminError> {
    Ok(serde_json::to_string(value)?)
}
