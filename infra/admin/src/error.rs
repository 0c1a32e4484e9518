//! What can go wrong, as one error type whose message is the one line the operator sees.

use paygate_shared::{StoreError, auth::KeyError, error::Chain, store::dynamodb::TableNames};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request itself is wrong (refused before anything was written).
    #[error("{0}")]
    Invalid(String),
    /// Something the command needs does not exist.
    #[error("{0}")]
    NotFound(String),
    /// With its whole chain of causes: the operator needs to see what the store said.
    #[error("{}", Chain(.0))]
    Store(#[from] StoreError),
    /// A table is missing: the wrong prefix, or tables never created.
    #[error(
        "{} (are the tables {accounts} and {transactions} there? check --table-prefix, or \
         run create-tables against a local endpoint)",
        Chain(.source)
    )]
    MissingTable {
        source: StoreError,
        accounts: String,
        transactions: String,
    },
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The template built into the binary does not parse (a broken build).
    #[error("infra/template.yaml: {0}")]
    Template(#[from] paygate_template::TemplateError),
    #[error("cannot create the tables: {0}")]
    CreateTables(#[from] paygate_template::CreateTablesError),
    #[error("cannot encode the result: {0}")]
    Output(#[from] serde_json::Error),
}

impl AdminError {
    /// The process exit status: 2 for a request that can never succeed as given (as for a
    /// command-line error), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) => 2,
            _ => 1,
        }
    }

    /// Adds the table names to a store error that says a table does not exist.
    pub(crate) fn with_tables(self, tables: &TableNames) -> Self {
        match self {
            Self::Store(source @ StoreError::Failure(_))
                if Chain(&source).to_string().contains("ResourceNotFound") =>
            {
                Self::MissingTable {
                    source,
                    accounts: tables.accounts.clone(),
                    transactions: tables.transactions.clone(),
                }
            }
            other => other,
        }
    }
}
