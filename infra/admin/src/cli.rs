//! The command line: where the deployment lives (global flags) and what to do (subcommands).
//! Values are parsed into domain types here, so a malformed id, currency or scope is refused
//! before anything is read or written.

use clap::{Args, Parser, Subcommand};
use paygate_shared::{
    AccountId, ClientId, PostingMode,
    auth::Scopes,
    money::{Currency, MoneyError, parse_currency},
};

/// Operate a paygate deployment: tables, OAuth clients, accounts, funding and signing keys.
///
/// Works against any DynamoDB and Secrets Manager endpoint: AWS itself (the default
/// credential chain and region), or an emulator such as moto (`--dynamodb-endpoint`,
/// `--secrets-endpoint`, `--local-credentials`). Results are printed to stdout; errors are one
/// line on stderr and a non-zero exit status.
#[derive(Debug, Parser)]
#[command(name = "paygate-admin", version)]
pub struct Cli {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the deployment's data and keys live.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// DynamoDB endpoint (moto, DynamoDB Local); the AWS default when absent
    #[arg(
        long,
        global = true,
        env = "PAYGATE_DYNAMODB_ENDPOINT",
        value_name = "URL"
    )]
    pub dynamodb_endpoint: Option<String>,

    /// Secrets Manager endpoint; the AWS default when absent
    #[arg(
        long,
        global = true,
        env = "PAYGATE_SECRETS_ENDPOINT",
        value_name = "URL"
    )]
    pub secrets_endpoint: Option<String>,

    /// AWS region [default: the environment's (AWS_REGION, profile), else us-east-1]
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// Use the tables `<P>-accounts` and `<P>-transactions` [default: paygate, unless the
    /// table names are given]
    #[arg(
        long,
        global = true,
        value_name = "P",
        conflicts_with_all = ["accounts_table", "transactions_table"]
    )]
    pub table_prefix: Option<String>,

    /// The accounts table, with --transactions-table [env: PAYGATE_ACCOUNTS_TABLE]
    #[arg(long, global = true, value_name = "NAME")]
    pub accounts_table: Option<String>,

    /// The transactions table, with --accounts-table [env: PAYGATE_TRANSACTIONS_TABLE]
    #[arg(long, global = true, value_name = "NAME")]
    pub transactions_table: Option<String>,

    /// Use static test credentials (as moto and other emulators expect) instead of the AWS
    /// credential chain
    #[arg(long, global = true)]
    pub local_credentials: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the two tables (with their indexes and TTL) as infra/template.yaml declares them,
    /// unless they exist. For local use and emulators only: real deployments get their tables
    /// from the SAM template itself.
    CreateTables,
    /// Register an OAuth client and print its id and secret (the only time the secret is shown)
    CreateClient(CreateClient),
    /// Open an empty customer account for an existing client and print it
    CreateAccount(CreateAccount),
    /// Move money from the currency's treasury into an account; print the funding payment id
    /// and the account's new balance
    Fund(Fund),
    /// Rotate the token signing key: publish the new public key, then make the new private key
    /// current. Prints the new key id
    CreateSigningKey(CreateSigningKey),
    /// Print an account with its balance, available balance, posting mode and incoming credits
    ShowAccount(ShowAccount),
    /// Set how credits reach an account: `batched` (a busy merchant's: credits wait as
    /// unposted credits and post in batches) or `immediate` (posts what waited, then each
    /// credit at once). Prints the account
    SetPosting(SetPosting),
    /// Set a client's own risk rules from a JSON file (replacing the defaults for its
    /// payments), or --clear them. A malformed file is refused naming the field; nothing is
    /// stored. Prints the client's rules
    SetRiskRules(SetRiskRules),
    /// Print a client's own risk rules (null: the function's defaults apply) and whether it is
    /// an operator
    ShowRiskRules(ShowRiskRules),
}

#[derive(Debug, Args)]
pub struct CreateClient {
    /// The client id [default: a fresh `cli_<ULID>`]
    #[arg(long)]
    pub client_id: Option<ClientId>,

    /// Space-separated scopes the client may request: payments:write, payments:read,
    /// accounts:read, webhooks:manage, and (operators only) risk:review
    #[arg(long)]
    pub scopes: Scopes,

    /// A payments operator, who may be granted risk:review (reviews payments of every client)
    #[arg(long)]
    pub operator: bool,
}

#[derive(Debug, Args)]
pub struct SetRiskRules {
    /// The client whose payments the rules govern (it must exist)
    #[arg(long, value_name = "CLIENT")]
    pub client_id: ClientId,

    /// A JSON object of rules (docs/risk.md): max_payments_per_hour, max_payments_per_day,
    /// max_amount_per_hour, new_payee_max_amount, review_amount, blocked_accounts,
    /// blocked_clients
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "clear",
        conflicts_with = "clear"
    )]
    pub file: Option<std::path::PathBuf>,

    /// Remove the client's own rules: the defaults apply again
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Args)]
pub struct ShowRiskRules {
    #[arg(long, value_name = "CLIENT")]
    pub client_id: ClientId,
}

#[derive(Debug, Args)]
pub struct CreateAccount {
    /// The owning client (it must exist)
    #[arg(long, value_name = "CLIENT")]
    pub owner: ClientId,

    /// ISO 4217 code of the account's currency (CNY, USD, ...)
    #[arg(long, value_parser = currency)]
    pub currency: Currency,

    /// Largest single payment, in minor units [default: the API's default for new accounts]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub per_payment_limit: Option<i64>,

    /// Most that may leave per UTC day, in minor units [default: the API's default]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub daily_limit: Option<i64>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("how_much").required(true).multiple(false))]
pub struct Fund {
    /// The account to credit
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: AccountId,

    /// Amount in minor units (1234 is 12.34 CNY)
    #[arg(long, value_name = "N", group = "how_much")]
    pub amount: Option<i64>,

    /// Amount in major units, at most the currency's decimal places (12.34)
    #[arg(long, value_name = "DECIMAL", group = "how_much")]
    pub amount_decimal: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateSigningKey {
    /// The private signing-key secret (name or ARN), read by the token function
    #[arg(long, value_name = "ID")]
    pub secret_id: String,

    /// The public JWKS secret (name or ARN), read by every verifier
    #[arg(long, value_name = "ID")]
    pub public_secret_id: String,
}

#[derive(Debug, Args)]
pub struct SetPosting {
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: AccountId,

    /// immediate or batched
    #[arg(long, value_parser = posting_mode)]
    pub mode: PostingMode,
}

fn posting_mode(text: &str) -> Result<PostingMode, String> {
    text.parse()
        .map_err(|e: paygate_shared::spelling::UnknownSpelling| e.to_string())
}

#[derive(Debug, Args)]
pub struct ShowAccount {
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: AccountId,
}

fn currency(code: &str) -> Result<Currency, MoneyError> {
    parse_currency(code)
}

/// What a command-line error says was wrong, on one line: its first paragraph (clap's usage
/// block and hints dropped), without the `error:` label.
pub fn error_summary(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty())
        .collect();
    let text = paragraph.join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn summary(args: &[&str]) -> String {
        let err = Cli::try_parse_from(std::iter::once("paygate-admin").chain(args.iter().copied()))
            .expect_err("the command line is refused");
        error_summary(&err)
    }

    #[test]
    fn command_line_errors_are_summarised_on_one_line() {
        assert_eq!(
            summary(&["fund", "--account", "x", "--amount", "1"]),
            "invalid value 'x' for '--account <ACCOUNT_ID>': expected an identifier starting \
             with `acc_`"
        );
        assert_eq!(
            summary(&["create-client"]),
            "the following required arguments were not provided: --scopes <SCOPES>"
        );
        assert_eq!(
            summary(&["create-client", "--scopes", "payments:admin"]),
            "invalid value 'payments:admin' for '--scopes <SCOPES>': unknown scope \
             `payments:admin`"
        );
        assert!(
            summary(&["fund", "--account", "acc_01JD0000000000000000000000"]).contains(
                "the following required arguments were not provided: <--amount <N>|--amount-decimal"
            )
        );
    }

    #[test]
    fn limits_and_currencies_are_checked_while_parsing() {
        assert!(
            summary(&["create-account", "--owner", "shop-1", "--currency", "XAU"])
                .contains("is not an ISO 4217 currency code that paygate settles")
        );
        assert!(
            summary(&[
                "create-account",
                "--owner",
                "shop-1",
                "--currency",
                "CNY",
                "--daily-limit",
                "0"
            ])
            .contains("0 is not in 1..")
        );
    }
}
