//! Creates the template's DynamoDB tables where they do not exist yet (moto in tests, the local
//! gateway, `paygate-admin create-tables`): the tables the code runs against are then exactly
//! those the template deploys, however the template changes.
//!
//! Tables are always created on demand (`PAY_PER_REQUEST`): provisioned capacity means nothing
//! to an emulator. A table's stream is created with it (the local notifier reads the
//! transactions table's stream as the event source mapping does on AWS). Existing tables are
//! left as they are.

use std::time::Duration;

use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, SdkError},
    types::{
        self as ddb, BillingMode, KeyType, ProjectionType, ScalarAttributeType,
        StreamSpecification, TableStatus, TimeToLiveSpecification,
    },
};

use crate::{
    AttributeType, KeySchema, Projection, SecondaryIndex, StreamViewType, Table, Template,
};

/// The logical id of the accounts table in the template.
pub const ACCOUNTS_TABLE: &str = "AccountsTable";
/// The logical id of the transactions table in the template.
pub const TRANSACTIONS_TABLE: &str = "TransactionsTable";

/// How long a new table may stay `CREATING` before [`create_tables`] gives up.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
const ACTIVE_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum CreateTablesError {
    /// The template declares a table the caller has no name for.
    #[error("the template declares the table {logical_id}, which has no name here")]
    Unnamed { logical_id: String },
    /// The caller needs a table the template does not declare.
    #[error("the template declares no table {logical_id}")]
    NotDeclared { logical_id: String },
    /// A table's description could not be turned into a request.
    #[error("table {table}: {message}")]
    Request { table: String, message: String },
    #[error("ListTables: {message}")]
    ListTables { message: String },
    #[error("{operation} {table}: {message}")]
    DynamoDb {
        operation: &'static str,
        table: String,
        message: String,
    },
    #[error("table {table} is still not ACTIVE after {}s", ACTIVE_TIMEOUT.as_secs())]
    NotActive { table: String },
}

/// The names of the store's two tables (see [`create_store_tables`]).
#[derive(Debug, Clone, Copy)]
pub struct StoreTables<'a> {
    pub accounts: &'a str,
    pub transactions: &'a str,
}

/// Creates [`ACCOUNTS_TABLE`] and [`TRANSACTIONS_TABLE`] of `template` under the given names.
///
/// # Errors
/// [`CreateTablesError::NotDeclared`] when the template lacks one of them,
/// [`CreateTablesError::Unnamed`] when it declares another table, and whatever
/// [`create_tables`] answers.
pub async fn create_store_tables(
    client: &Client,
    template: &Template,
    tables: StoreTables<'_>,
) -> Result<Vec<String>, CreateTablesError> {
    for logical_id in [ACCOUNTS_TABLE, TRANSACTIONS_TABLE] {
        if template.table(logical_id).is_none() {
            return Err(CreateTablesError::NotDeclared {
                logical_id: logical_id.to_owned(),
            });
        }
    }
    create_tables(client, template, |logical_id| match logical_id {
        ACCOUNTS_TABLE => Some(tables.accounts.to_owned()),
        TRANSACTIONS_TABLE => Some(tables.transactions.to_owned()),
        _ => None,
    })
    .await
}

/// Creates every table of `template` that does not exist yet, named `names(logical id)`, with
/// its key schema, attribute definitions and secondary indexes, waits for it to become
/// `ACTIVE`, and enables its TTL. Its stream, if it has one, is created with it. Returns the names of the tables it created.
///
/// # Errors
/// [`CreateTablesError::Unnamed`] (before anything is sent) when `names` has no name for one
/// of the template's tables; DynamoDB's refusals, naming the operation and the table.
pub async fn create_tables(
    client: &Client,
    template: &Template,
    names: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, CreateTablesError> {
    let mut planned = Vec::new();
    for table in template.tables() {
        let Some(name) = names(&table.logical_id) else {
            return Err(CreateTablesError::Unnamed {
                logical_id: table.logical_id.clone(),
            });
        };
        planned.push((table, name));
    }
    let existing: Vec<String> = client
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| CreateTablesError::ListTables {
            message: DisplayErrorContext(&e).to_string(),
        })?;
    let mut created = Vec::new();
    for (table, name) in planned {
        if existing.contains(&name) {
            continue;
        }
        if create_table(client, table, &name).await? {
            created.push(name);
        }
    }
    Ok(created)
}

/// Creates one table; `false` when another caller created it first.
async fn create_table(
    client: &Client,
    table: &Table,
    name: &str,
) -> Result<bool, CreateTablesError> {
    let request = |e: aws_sdk_dynamodb::error::BuildError| CreateTablesError::Request {
        table: name.to_owned(),
        message: e.to_string(),
    };
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&table.key).map_err(request)?));
    for attribute in &table.attributes {
        let kind = match attribute.kind {
            AttributeType::String => ScalarAttributeType::S,
            AttributeType::Number => ScalarAttributeType::N,
            AttributeType::Binary => ScalarAttributeType::B,
        };
        create = create.attribute_definitions(
            ddb::AttributeDefinition::builder()
                .attribute_name(&attribute.name)
                .attribute_type(kind)
                .build()
                .map_err(request)?,
        );
    }
    for index in &table.global_indexes {
        create = create.global_secondary_indexes(
            ddb::GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key).map_err(request)?))
                .projection(projection(index))
                .build()
                .map_err(request)?,
        );
    }
    for index in &table.local_indexes {
        create = create.local_secondary_indexes(
            ddb::LocalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key).map_err(request)?))
                .projection(projection(index))
                .build()
                .map_err(request)?,
        );
    }
    if let Some(view) = table.stream {
        create = create.stream_specification(stream_specification(view).map_err(request)?);
    }
    let status = match create.send().await {
        Ok(output) => output
            .table_description
            .and_then(|description| description.table_status),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(dynamodb_error("CreateTable", name, &e)),
    };
    if status != Some(TableStatus::Active) {
        wait_until_active(client, name).await?;
    }
    if let Some(attribute) = &table.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(attribute)
                    .build()
                    .map_err(request)?,
            )
            .send()
            .await
            .map_err(|e| dynamodb_error("UpdateTimeToLive", name, &e))?;
    }
    Ok(true)
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), CreateTablesError> {
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(ACTIVE_POLL).await;
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| dynamodb_error("DescribeTable", name, &e))?;
        let status = described.table.and_then(|table| table.table_status);
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
    }
    Err(CreateTablesError::NotActive {
        table: name.to_owned(),
    })
}

fn key_schema(
    key: &KeySchema,
) -> Result<Vec<ddb::KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
    let hash = std::iter::once((&key.hash, KeyType::Hash));
    let range = key.range.iter().map(|range| (range, KeyType::Range));
    hash.chain(range)
        .map(|(name, key_type)| {
            ddb::KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        })
        .collect()
}

fn stream_specification(
    view: StreamViewType,
) -> Result<StreamSpecification, aws_sdk_dynamodb::error::BuildError> {
    let view = match view {
        StreamViewType::KeysOnly => ddb::StreamViewType::KeysOnly,
        StreamViewType::NewImage => ddb::StreamViewType::NewImage,
        StreamViewType::OldImage => ddb::StreamViewType::OldImage,
        StreamViewType::NewAndOldImages => ddb::StreamViewType::NewAndOldImages,
    };
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
}

fn projection(index: &SecondaryIndex) -> ddb::Projection {
    let builder = ddb::Projection::builder();
    match &index.projection {
        Projection::All => builder.projection_type(ProjectionType::All),
        Projection::KeysOnly => builder.projection_type(ProjectionType::KeysOnly),
        Projection::Include(attributes) => builder
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.clone())),
    }
    .build()
}

fn dynamodb_error<E, R>(
    operation: &'static str,
    table: &str,
    error: &SdkError<E, R>,
) -> CreateTablesError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    CreateTablesError::DynamoDb {
        operation,
        table: table.to_owned(),
        message: DisplayErrorContext(error).to_string(),
    }
}
