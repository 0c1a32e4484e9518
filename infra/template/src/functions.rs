//! `AWS::Serverless::Function` resources and their events: `Type: Api` events are the routes,
//! `Type: Schedule` and `ScheduleV2` events the schedules, `Type: DynamoDB` and `SQS` the
//! polled event sources. Other event types are only named.

use crate::{
    TemplateError,
    api::Api,
    error::invalid,
    event_sources::{self, EventSource, OtherEvent},
    node::{Node, Parameters},
    value::Value,
};

/// `Auth.Authorizer` of an event that turns the API's default authorizer off.
pub const NO_AUTHORIZER: &str = "NONE";

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the cargo binary cargo-lambda builds for it.
    pub binary: Option<String>,
    /// `Environment.Variables` (with `Globals.Function` merged in), values unevaluated.
    pub environment: Vec<(String, Value)>,
}

/// An API event of a function: one method on one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The function's logical id.
    pub function: String,
    /// The function's binary (`Metadata.BuildProperties.Binary`).
    pub binary: Option<String>,
    /// The event's name under `Events`.
    pub event: String,
    /// Upper case; `ANY` for every method.
    pub method: String,
    /// As written, with `{parameters}` (`/payments/{payment_id}`).
    pub path: String,
    /// The API (`RestApiId: !Ref Api`); `None` for SAM's implicit API.
    pub api: Option<String>,
    /// The authorizer that guards the route: the event's `Auth.Authorizer`, else the API's
    /// default; `None` when there is none or the event says `NONE`.
    pub authorizer: Option<String>,
    /// The event's `Auth.ApiKeyRequired`, else the API's.
    pub api_key_required: bool,
}

/// A scheduled event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub function: String,
    pub binary: Option<String>,
    pub event: String,
    /// `rate(…)` or `cron(…)`.
    pub expression: String,
    /// `Enabled` (Schedule) or `State: ENABLED` (both kinds); enabled unless they say not.
    pub enabled: bool,
}

/// What one function contributes to the template.
pub(crate) struct Parsed {
    pub(crate) function: Function,
    pub(crate) routes: Vec<Route>,
    pub(crate) schedules: Vec<Schedule>,
    pub(crate) event_sources: Vec<EventSource>,
    pub(crate) other_events: Vec<OtherEvent>,
}

/// Parses one function; `properties` has `Globals.Function` merged in already. `apis` are the
/// template's APIs, for the routes' authorizer and API-key defaults.
pub(crate) fn parse(
    logical_id: &str,
    resource: &Node<'_>,
    properties: &Node<'_>,
    parameters: &Parameters,
    apis: &[Api],
) -> Result<Parsed, TemplateError> {
    let binary = match resource.field("Metadata")? {
        None => None,
        Some(metadata) => match metadata.field("BuildProperties")? {
            None => None,
            Some(build) => build
                .field("Binary")?
                .map(|b| parameters.text(&b))
                .transpose()?,
        },
    };
    let environment = match properties.field("Environment")? {
        None => Vec::new(),
        Some(environment) => match environment.field("Variables")? {
            None => Vec::new(),
            Some(variables) => variables
                .entries()?
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.value().clone()))
                .collect(),
        },
    };
    let mut parsed = Parsed {
        function: Function {
            logical_id: logical_id.to_owned(),
            binary,
            environment,
        },
        routes: Vec::new(),
        schedules: Vec::new(),
        event_sources: Vec::new(),
        other_events: Vec::new(),
    };
    let Some(events) = properties.field("Events")? else {
        return Ok(parsed);
    };
    for (event, node) in events.entries()? {
        let kind = node.required("Type")?;
        match kind.str()? {
            "Api" => {
                let route = route(&parsed.function, event, &node, parameters, apis)?;
                parsed.routes.push(route);
            }
            kind @ ("Schedule" | "ScheduleV2") => {
                let schedule = schedule(&parsed.function, event, kind, &node, parameters)?;
                parsed.schedules.push(schedule);
            }
            kind @ ("DynamoDB" | "SQS") => {
                let function = &parsed.function;
                let source = event_sources::parse(
                    (&function.logical_id, function.binary.as_ref()),
                    event,
                    kind,
                    &node,
                    parameters,
                )?;
                parsed.event_sources.push(source);
            }
            other => parsed.other_events.push(OtherEvent {
                function: logical_id.to_owned(),
                event: event.to_owned(),
                kind: other.to_owned(),
            }),
        }
    }
    Ok(parsed)
}

fn route(
    function: &Function,
    event: &str,
    node: &Node<'_>,
    parameters: &Parameters,
    apis: &[Api],
) -> Result<Route, TemplateError> {
    let properties = node.required("Properties")?;
    let path_node = properties.required("Path")?;
    let path = parameters.text(&path_node)?;
    if !path.starts_with('/') {
        return Err(invalid(path_node.at(), "a path starts with `/`"));
    }
    let method = parameters
        .text(&properties.required("Method")?)?
        .to_ascii_uppercase();
    let api = match properties.field("RestApiId")? {
        None => None,
        Some(id) => {
            let name = id.reference()?;
            let Some(api) = apis.iter().find(|api| api.logical_id == name) else {
                return Err(invalid(
                    id.at(),
                    format!("`{name}` is not an AWS::Serverless::Api of this template"),
                ));
            };
            Some(api)
        }
    };
    let auth = properties.field("Auth")?;
    let field = |key: &str| auth.as_ref().map(|a| a.field(key)).transpose();
    let authorizer = match field("Authorizer")?.flatten() {
        Some(name_node) => match name_node.str()? {
            NO_AUTHORIZER => None,
            name => {
                let known =
                    name == "AWS_IAM" || api.is_some_and(|api| api.auth.authorizer(name).is_some());
                if !known {
                    return Err(invalid(
                        name_node.at(),
                        format!("`{name}` is not an authorizer of the route's API"),
                    ));
                }
                Some(name.to_owned())
            }
        },
        None => api.and_then(|api| api.auth.default_authorizer.clone()),
    };
    let api_key_required = match field("ApiKeyRequired")?.flatten() {
        Some(required) => required.bool()?,
        None => api.is_some_and(|api| api.auth.api_key_required),
    };
    Ok(Route {
        function: function.logical_id.clone(),
        binary: function.binary.clone(),
        event: event.to_owned(),
        method,
        path,
        api: api.map(|api| api.logical_id.clone()),
        authorizer,
        api_key_required,
    })
}

fn schedule(
    function: &Function,
    event: &str,
    kind: &str,
    node: &Node<'_>,
    parameters: &Parameters,
) -> Result<Schedule, TemplateError> {
    let properties = node.required("Properties")?;
    let expression_key = if kind == "Schedule" {
        "Schedule"
    } else {
        "ScheduleExpression"
    };
    let expression_node = properties.required(expression_key)?;
    let expression = parameters.text(&expression_node)?;
    let known = ["rate(", "cron(", "at("];
    if !(known.iter().any(|p| expression.starts_with(p)) && expression.ends_with(')')) {
        return Err(invalid(
            expression_node.at(),
            format!("`{expression}` is not a rate(…), cron(…) or at(…) expression"),
        ));
    }
    let mut enabled = true;
    if let Some(flag) = properties.field("Enabled")? {
        enabled = flag.bool()?;
    }
    if let Some(state) = properties.field("State")? {
        enabled = match parameters.text(&state)?.as_str() {
            "ENABLED" => true,
            "DISABLED" => false,
            other => {
                return Err(invalid(
                    state.at(),
                    format!("unknown state `{other}` (ENABLED or DISABLED)"),
                ));
            }
        };
    }
    Ok(Schedule {
        function: function.logical_id.clone(),
        binary: function.binary.clone(),
        event: event.to_owned(),
        expression,
        enabled,
    })
}
