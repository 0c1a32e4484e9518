//! A function's polled event sources, as SAM declares them: `Type: DynamoDB` (a table's stream)
//! and `Type: SQS` (a queue) events, each an event source mapping that hands the function
//! batches of records. Other event types the model does not serve are kept by name
//! ([`OtherEvent`]) so that a tool can say what it leaves out.

use crate::{
    Queue, Table, TemplateError,
    error::invalid,
    node::{Node, Parameters},
    value::Intrinsic,
};

/// One `Type: DynamoDB` or `Type: SQS` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSource {
    /// The function's logical id.
    pub function: String,
    /// The function's binary (`Metadata.BuildProperties.Binary`).
    pub binary: Option<String>,
    /// The event's name under `Events`.
    pub event: String,
    pub source: Source,
    /// `BatchSize`, when set (the service's default otherwise: 100 for streams, 10 for SQS).
    pub batch_size: Option<u64>,
    /// `MaximumBatchingWindowInSeconds`, when set.
    pub batching_window_s: Option<u64>,
    /// `FunctionResponseTypes` has `ReportBatchItemFailures`: the function answers which
    /// records failed, and only those are retried.
    pub report_batch_item_failures: bool,
    /// `FilterCriteria.Filters[].Pattern`, as written (JSON text); a record is handed to the
    /// function when it matches any of them (or when there are none).
    pub filters: Vec<String>,
    /// `Enabled` (true unless it says false).
    pub enabled: bool,
}

/// Where the records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `Stream: !GetAtt <Table>.StreamArn`.
    DynamoDbStream(StreamSource),
    /// `Queue: !GetAtt <Queue>.Arn`: the queue's logical id.
    Sqs { queue: String },
}

/// The stream-specific settings of a `Type: DynamoDB` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSource {
    /// The logical id of the table whose stream is read.
    pub table: String,
    /// `StartingPosition`: `TRIM_HORIZON` or `LATEST`.
    pub starting_position: String,
    /// `BisectBatchOnFunctionError`.
    pub bisect_on_error: bool,
    /// `MaximumRetryAttempts` (unlimited, up to the record's age, when absent).
    pub maximum_retry_attempts: Option<u64>,
    /// `ParallelizationFactor` (1 when absent).
    pub parallelization_factor: Option<u64>,
    /// `DestinationConfig.OnFailure.Destination`: the logical id it names (`!GetAtt X.Arn` or
    /// `!Ref X`).
    pub on_failure: Option<String>,
}

/// An event of a function that the model does not serve (`Type: SNS`, `S3`, `Kinesis`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherEvent {
    pub function: String,
    pub event: String,
    /// The event's `Type`.
    pub kind: String,
}

/// Parses a `Type: DynamoDB` (`kind`) or `Type: SQS` event named `event` of `function`.
pub(crate) fn parse(
    (function, binary): (&str, Option<&String>),
    event: &str,
    kind: &str,
    node: &Node<'_>,
    parameters: &Parameters,
) -> Result<EventSource, TemplateError> {
    let properties = node.required("Properties")?;
    let number = |key: &str| -> Result<Option<u64>, TemplateError> {
        properties.field(key)?.map(|n| n.u64()).transpose()
    };
    let flag = |key: &str| -> Result<Option<bool>, TemplateError> {
        properties.field(key)?.map(|n| n.bool()).transpose()
    };
    let source = if kind == "DynamoDB" {
        let stream = properties.required("Stream")?;
        let table = get_att(&stream, "StreamArn")?;
        let position = properties.required("StartingPosition")?;
        let starting_position = parameters.text(&position)?;
        if !matches!(starting_position.as_str(), "TRIM_HORIZON" | "LATEST") {
            return Err(invalid(
                position.at(),
                format!("unknown starting position `{starting_position}` (TRIM_HORIZON or LATEST)"),
            ));
        }
        let on_failure = match properties.field("DestinationConfig")? {
            None => None,
            Some(config) => match config.field("OnFailure")? {
                None => None,
                Some(on_failure) => Some(named(&on_failure.required("Destination")?)?),
            },
        };
        Source::DynamoDbStream(StreamSource {
            table,
            starting_position,
            bisect_on_error: flag("BisectBatchOnFunctionError")?.unwrap_or(false),
            maximum_retry_attempts: number("MaximumRetryAttempts")?,
            parallelization_factor: number("ParallelizationFactor")?,
            on_failure,
        })
    } else {
        Source::Sqs {
            queue: get_att(&properties.required("Queue")?, "Arn")?,
        }
    };
    let report_batch_item_failures = match properties.field("FunctionResponseTypes")? {
        None => false,
        Some(types) => types
            .strings()?
            .iter()
            .any(|t| t == "ReportBatchItemFailures"),
    };
    let filters = match properties.field("FilterCriteria")? {
        None => Vec::new(),
        Some(criteria) => criteria
            .required("Filters")?
            .items()?
            .iter()
            .map(|filter| Ok(filter.required("Pattern")?.str()?.to_owned()))
            .collect::<Result<_, TemplateError>>()?,
    };
    Ok(EventSource {
        function: function.to_owned(),
        binary: binary.cloned(),
        event: event.to_owned(),
        source,
        batch_size: number("BatchSize")?,
        batching_window_s: number("MaximumBatchingWindowInSeconds")?,
        report_batch_item_failures,
        filters,
        enabled: flag("Enabled")?.unwrap_or(true),
    })
}

/// The resource of `!GetAtt <resource>.<attribute>`.
fn get_att(node: &Node<'_>, attribute: &str) -> Result<String, TemplateError> {
    match node.value().as_intrinsic() {
        Some(Intrinsic::GetAtt {
            resource,
            attribute: found,
        }) if found == attribute => Ok(resource.clone()),
        _ => Err(invalid(
            node.at(),
            format!("expected !GetAtt <logical id>.{attribute}"),
        )),
    }
}

/// The resource `!GetAtt <resource>.Arn` or `!Ref <resource>` names.
fn named(node: &Node<'_>) -> Result<String, TemplateError> {
    match node.value().as_intrinsic() {
        Some(Intrinsic::GetAtt { resource, .. } | Intrinsic::Ref(resource)) => Ok(resource.clone()),
        _ => Err(invalid(
            node.at(),
            "expected !GetAtt <logical id>.Arn or !Ref <logical id>",
        )),
    }
}

/// Every event source reads a stream of a table that has one, or a queue of the template.
pub(crate) fn check(
    sources: &[EventSource],
    tables: &[Table],
    queues: &[Queue],
) -> Result<(), TemplateError> {
    for source in sources {
        let at = |key: &str| {
            format!(
                "Resources.{}.Properties.Events.{}.Properties.{key}",
                source.function, source.event
            )
        };
        match &source.source {
            Source::DynamoDbStream(stream) => {
                match tables.iter().find(|t| t.logical_id == stream.table) {
                    None => {
                        return Err(invalid(
                            &at("Stream"),
                            format!(
                                "`{}` is not an AWS::DynamoDB::Table of this template",
                                stream.table
                            ),
                        ));
                    }
                    Some(table) if table.stream.is_none() => {
                        return Err(invalid(
                            &at("Stream"),
                            format!("the table `{}` has no StreamSpecification", stream.table),
                        ));
                    }
                    Some(_) => {}
                }
            }
            Source::Sqs { queue } => {
                if !queues.iter().any(|q| &q.logical_id == queue) {
                    return Err(invalid(
                        &at("Queue"),
                        format!("`{queue}` is not an AWS::SQS::Queue of this template"),
                    ));
                }
            }
        }
    }
    Ok(())
}
