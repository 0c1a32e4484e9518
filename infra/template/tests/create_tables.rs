//! Tables created from a template on moto (`PAYGATE_TEST_DYNAMODB_ENDPOINT`, set by
//! `bash tests/run.sh`) are described back by DynamoDB exactly as the template declares them.

use aws_sdk_dynamodb::{
    Client,
    types::{
        BillingMode, KeyType, ProjectionType, ScalarAttributeType, StreamViewType,
        TableDescription, TimeToLiveStatus,
    },
};
use paygate_template::{
    CreateTablesError, StoreTables, Template, create_store_tables, create_tables,
};

fn endpoint() -> String {
    match std::env::var("PAYGATE_TEST_DYNAMODB_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint,
        _ => panic!(
            "PAYGATE_TEST_DYNAMODB_ENDPOINT is not set: these tests need moto; run them with \
             `bash tests/run.sh -- -p paygate-template`"
        ),
    }
}

async fn client() -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "paygate-template-tests",
        ))
        .load()
        .await;
    Client::new(&config)
}

fn unique(name: &str) -> String {
    format!(
        "tpl-{name}-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

async fn describe(client: &Client, name: &str) -> TableDescription {
    client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe {name}: {e:?}"))
        .table
        .expect("a table description")
}

/// `(attribute, HASH|RANGE)` pairs of a key schema.
fn keys(schema: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Vec<(&str, &KeyType)> {
    schema
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect()
}

async fn ttl(client: &Client, name: &str) -> Option<(TimeToLiveStatus, String)> {
    let description = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .expect("describe TTL")
        .time_to_live_description?;
    Some((
        description.time_to_live_status?,
        description.attribute_name.unwrap_or_default(),
    ))
}

#[tokio::test]
async fn the_store_tables_are_created_once_as_the_template_declares_them() {
    let client = client().await;
    let template = Template::bundled().expect("the bundled template parses");
    let prefix = unique("store");
    let (accounts, transactions) = (
        format!("{prefix}-accounts"),
        format!("{prefix}-transactions"),
    );
    let names = StoreTables {
        accounts: &accounts,
        transactions: &transactions,
    };

    let created = create_store_tables(&client, &template, names)
        .await
        .expect("created");
    assert_eq!(created, [accounts.clone(), transactions.clone()]);
    // Existing tables are left alone.
    let again = create_store_tables(&client, &template, names)
        .await
        .expect("idempotent");
    assert!(again.is_empty(), "{again:?}");

    let table = describe(&client, &transactions).await;
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(
        keys(table.key_schema()),
        [("pk", &KeyType::Hash), ("sk", &KeyType::Range)]
    );
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("pending-by-expiry"));
    assert_eq!(
        keys(gsi.key_schema()),
        [("gsi1pk", &KeyType::Hash), ("gsi1sk", &KeyType::Range)]
    );
    assert_eq!(
        gsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    assert_eq!(
        ttl(&client, &transactions).await,
        Some((TimeToLiveStatus::Enabled, "expire_at".to_owned()))
    );
    let events = table
        .global_secondary_indexes()
        .iter()
        .find(|gsi| gsi.index_name() == Some("events-by-recipient"))
        .expect("the events index");
    assert_eq!(
        keys(events.key_schema()),
        [
            ("recipient", &KeyType::Hash),
            ("recipient_sk", &KeyType::Range)
        ]
    );
    // The outbox's stream, carrying each new item whole.
    let stream = table.stream_specification().expect("a stream");
    assert_eq!(
        (stream.stream_enabled(), stream.stream_view_type()),
        (true, Some(&StreamViewType::NewImage))
    );
    assert!(table.latest_stream_arn().is_some(), "{table:?}");

    let table = describe(&client, &accounts).await;
    assert!(
        table
            .stream_specification()
            .is_none_or(|s| !s.stream_enabled()),
        "the accounts table has no stream"
    );
    assert_eq!(keys(table.key_schema()), [("pk", &KeyType::Hash)]);
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("accounts-by-owner"));
    assert_eq!(
        keys(gsi.key_schema()),
        [("owner", &KeyType::Hash), ("pk", &KeyType::Range)]
    );
}

#[tokio::test]
async fn number_keys_local_indexes_and_include_projections_are_created() {
    let client = client().await;
    let template = Template::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gateway.yaml"
    ))
    .expect("the fixture parses");
    let name = unique("ledger");
    let created = create_tables(&client, &template, |_| Some(name.clone()))
        .await
        .expect("created");
    assert_eq!(created, std::slice::from_ref(&name));

    let table = describe(&client, &name).await;
    let mut attributes: Vec<(&str, &ScalarAttributeType)> = table
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type()))
        .collect();
    attributes.sort_by_key(|(name, _)| *name);
    assert_eq!(
        attributes,
        [
            ("amount", &ScalarAttributeType::N),
            ("id", &ScalarAttributeType::S),
            ("owner", &ScalarAttributeType::S),
            ("seq", &ScalarAttributeType::N),
        ]
    );
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(keys(gsi.key_schema()), [("owner", &KeyType::Hash)]);
    let projection = gsi.projection().expect("a projection");
    assert_eq!(projection.projection_type(), Some(&ProjectionType::Include));
    assert_eq!(projection.non_key_attributes(), ["amount", "status"]);
    let lsi = &table.local_secondary_indexes()[0];
    assert_eq!(lsi.index_name(), Some("by-amount"));
    assert_eq!(
        keys(lsi.key_schema()),
        [("id", &KeyType::Hash), ("amount", &KeyType::Range)]
    );
    assert_eq!(
        table
            .stream_specification()
            .and_then(|s| s.stream_view_type()),
        Some(&StreamViewType::NewAndOldImages)
    );
    // The template declares TTL disabled: it stays off.
    assert!(
        !matches!(
            ttl(&client, &name).await,
            Some((TimeToLiveStatus::Enabled, _))
        ),
        "TTL stays disabled"
    );
}

#[tokio::test]
async fn a_table_without_a_name_is_refused_before_anything_is_created() {
    let client = client().await;
    let template = Template::bundled().expect("the bundled template parses");
    let name = unique("lonely");
    let only_accounts = |id: &str| (id == "AccountsTable").then(|| name.clone());
    let error = create_tables(&client, &template, only_accounts)
        .await
        .expect_err("TransactionsTable has no name");
    assert!(
        matches!(&error, CreateTablesError::Unnamed { logical_id } if logical_id == "TransactionsTable"),
        "{error}"
    );
    let described = client.describe_table().table_name(&name).send().await;
    assert!(
        described.as_ref().is_err_and(|e| e
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())),
        "nothing was created: {described:?}"
    );
}
