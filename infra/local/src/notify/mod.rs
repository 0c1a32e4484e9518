//! Webhook deliveries on one machine, with the same delivery code as the `notify` function and
//! the event sources the template gives it: on the embedded store, its in-process outbox and an
//! in-memory retry queue ([`embedded`]); on DynamoDB (moto), the transactions table's stream
//! polled as the event source mapping would ([`stream`]) and an SQS retry queue ([`queue`]).
//! In-process the records go to the notifier; with `--upstream` to the `notify` function
//! ([`lambda`]).

pub mod checkpoint;
pub mod embedded;
pub mod filter;
pub mod lambda;
pub mod queue;
pub mod record;
pub mod sink;
pub mod start;
pub mod stream;
pub mod wiring;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use paygate_template::{EventSource, Queue, Source, TRANSACTIONS_TABLE, Template};

use self::{checkpoint::Checkpoints, filter::Pattern, stream::StreamPoller};

/// The binary of the template's notifier.
pub const NOTIFY_BINARY: &str = "notify";

/// The notifier's two event sources in the template: the transactions table's stream and the
/// retry queue (with the queue's declaration).
#[derive(Debug, Clone)]
pub struct NotifySources {
    pub stream: EventSource,
    pub retries: EventSource,
    pub queue: Queue,
}

impl NotifySources {
    /// Finds them in `template`.
    ///
    /// # Errors
    /// What the template lacks, named.
    pub fn of(template: &Template) -> Result<Self, String> {
        let of_notify = |wanted: fn(&Source) -> bool| {
            template
                .event_sources()
                .iter()
                .find(|s| s.binary.as_deref() == Some(NOTIFY_BINARY) && wanted(&s.source))
                .cloned()
        };
        let stream =
            of_notify(|s| matches!(s, Source::DynamoDbStream(t) if t.table == TRANSACTIONS_TABLE))
                .ok_or(
                    "the template has no `notify` function reading the TransactionsTable stream",
                )?;
        let retries = of_notify(|s| matches!(s, Source::Sqs { .. }))
            .ok_or("the template has no `notify` function reading an SQS queue")?;
        let Source::Sqs { queue } = &retries.source else {
            return Err("unreachable: an SQS source".into());
        };
        let queue = template
            .queue(queue)
            .cloned()
            .ok_or_else(|| format!("the queue {queue} is not declared"))?;
        Ok(Self {
            stream,
            retries,
            queue,
        })
    }

    /// The stream mapping's filters, parsed.
    ///
    /// # Errors
    /// A pattern the local filter does not understand.
    pub fn filters(&self) -> Result<Vec<Pattern>, String> {
        self.stream
            .filters
            .iter()
            .map(|p| Pattern::parse(p))
            .collect()
    }
}

/// Logs the template's events the local gateway does not run (everything but the routes, the
/// `rate(…)` schedules, the notifier's two sources and the poster's stream, which are logged
/// where they start).
pub fn log_not_emulated(template: &Template) {
    for event in template.other_events() {
        tracing::info!(function = %event.function, event = %event.event, kind = %event.kind, "event source not emulated");
    }
    for source in template.event_sources() {
        if ![Some(NOTIFY_BINARY), Some(crate::posting::POST_BINARY)]
            .contains(&source.binary.as_deref())
        {
            tracing::info!(function = %source.function, event = %source.event, "event source not emulated: only the notifier's and the poster's are");
        }
    }
}

/// The poller of the transactions table's stream, as `sources.stream` maps it: the stream is
/// found with DescribeTable (and enabled, as the template declares it, on a table created
/// before it had one).
///
/// # Errors
/// DynamoDB's refusals, or a filter that cannot be emulated.
pub async fn stream_poller(
    config: &aws_config::SdkConfig,
    sources: &NotifySources,
    table: &str,
    region: &str,
) -> Result<StreamPoller, String> {
    poller(config, &sources.stream, table, region, "NOTIFIER").await
}

/// The poller of the transactions table's stream as the mapping `source` reads it, keeping its
/// checkpoint as `consumer` (one of [`checkpoint::CONSUMERS`]).
///
/// # Errors
/// DynamoDB's refusals, or a filter that cannot be emulated.
pub async fn poller(
    config: &aws_config::SdkConfig,
    source: &EventSource,
    table: &str,
    region: &str,
    consumer: &'static str,
) -> Result<StreamPoller, String> {
    let Source::DynamoDbStream(mapping) = &source.source else {
        return Err(format!(
            "{}'s {} is not a stream",
            source.function, source.event
        ));
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let described = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeTable {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })?;
    let enabled = described
        .table()
        .and_then(|t| t.stream_specification())
        .is_some_and(|s| s.stream_enabled());
    let stream_arn = match described.table().and_then(|t| t.latest_stream_arn()) {
        Some(arn) if enabled => arn.to_owned(),
        _ => enable_stream(&dynamodb, table).await?,
    };
    let position = match mapping.starting_position.as_str() {
        "LATEST" => ShardIteratorType::Latest,
        _ => ShardIteratorType::TrimHorizon,
    };
    Ok(StreamPoller {
        client: aws_sdk_dynamodbstreams::Client::new(config),
        checkpoints: Checkpoints::new(dynamodb, table, &stream_arn, consumer),
        stream_arn,
        region: region.to_owned(),
        filters: source
            .filters
            .iter()
            .map(|p| Pattern::parse(p))
            .collect::<Result<_, _>>()?,
        batch_size: source
            .batch_size
            .map_or(100, |n| usize::try_from(n).unwrap_or(100)),
        max_retries: mapping
            .maximum_retry_attempts
            .map_or(10, |n| u32::try_from(n).unwrap_or(10)),
        starting_position: position,
    })
}

async fn enable_stream(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<String, String> {
    let spec = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()
        .map_err(|e| e.to_string())?;
    let updated = client
        .update_table()
        .table_name(table)
        .stream_specification(spec)
        .send()
        .await
        .map_err(|e| {
            format!(
                "UpdateTable {table} (enabling its stream): {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })?;
    tracing::info!(
        table,
        "enabled the table's stream, as the template declares it"
    );
    updated
        .table_description()
        .and_then(|t| t.latest_stream_arn())
        .map(str::to_owned)
        .ok_or_else(|| format!("{table} has no stream after UpdateTable"))
}
