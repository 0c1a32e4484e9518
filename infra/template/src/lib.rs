//! `infra/template.yaml`, the single source of truth for what paygate deploys, read as a typed
//! model: the DynamoDB tables, the API with its Lambda authorizer, the routes, the usage plans,
//! the AWS WAF web ACLs in front of the stage, the schedules, the polled event sources (table
//! streams and queues) and the queues. Tests, `paygate-admin create-tables` and the local
//! gateway create and serve what the template declares, so the template and the code cannot
//! drift apart.
//!
//! CloudFormation's intrinsic functions (`!Ref`, `!GetAtt`, `!Sub`, ... in short or long form)
//! are kept as [`Intrinsic`] values; where the model needs plain text (a stage name, a schedule),
//! `!Ref Parameter` stands for the parameter's `Default`. SAM's `Globals` are merged into each
//! function and API. Parts a template does not have are empty lists (or `None`), never errors;
//! parts it has in a shape the model does not understand are errors naming their place.

mod api;
mod dynamodb;
mod error;
mod event_sources;
mod functions;
mod globals;
mod node;
mod queues;
mod tables;
mod usage_plans;
mod value;
mod waf;

use std::path::Path;

pub use api::{
    Api, ApiAuth, Authorizer, DEFAULT_REAUTHORIZE_EVERY, GatewayResponse, MethodThrottling,
    PayloadType,
};
pub use dynamodb::{
    ACCOUNTS_TABLE, CreateTablesError, StoreTables, TRANSACTIONS_TABLE, create_store_tables,
    create_tables,
};
pub use error::TemplateError;
pub use event_sources::{EventSource, OtherEvent, Source, StreamSource};
pub use functions::{Function, NO_AUTHORIZER, Route, Schedule};
pub use queues::{DeadLetter, Queue};
pub use tables::{
    AttributeDefinition, AttributeType, BillingMode, KeySchema, Projection, SecondaryIndex,
    StreamViewType, Table,
};
pub use usage_plans::{ApiStage, Quota, QuotaPeriod, Throttle, UsagePlan};
pub use value::{Intrinsic, Value};
pub use waf::{
    AggregateKey, RATE_LIMIT_BOUNDS, RATE_WINDOWS, RateRule, WafAction, WafRule, WafScope,
    WafStatement, WebAcl,
};

use globals::Globals;
use node::{Node, Parameters};

/// The text of `infra/template.yaml`, built into the binary so it works from any directory.
pub const BUNDLED: &str = include_str!("../../template.yaml");

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parameters: Vec<(String, Option<String>)>,
    tables: Vec<Table>,
    api: Option<Api>,
    functions: Vec<Function>,
    routes: Vec<Route>,
    schedules: Vec<Schedule>,
    event_sources: Vec<EventSource>,
    other_events: Vec<OtherEvent>,
    queues: Vec<Queue>,
    usage_plans: Vec<UsagePlan>,
    web_acls: Vec<WebAcl>,
}

impl Template {
    /// The template this build was made with ([`BUNDLED`]).
    ///
    /// # Errors
    /// As [`Template::parse`]; the crate's tests parse it, so only a broken build fails.
    pub fn bundled() -> Result<Self, TemplateError> {
        Self::parse(BUNDLED)
    }

    /// Reads and parses the template at `path`.
    ///
    /// # Errors
    /// [`TemplateError::Read`] when the file cannot be read, else as [`Template::parse`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses a SAM template.
    ///
    /// # Errors
    /// [`TemplateError::Yaml`] for text that is not YAML, [`TemplateError::Missing`] and
    /// [`TemplateError::Invalid`] for what the model needs and cannot find or understand.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let document = Value::from_yaml(text)?;
        let root = Node::new(&document, "");
        let parameters = Parameters::parse(&root)?;
        let globals = Globals::parse(&root)?;
        let mut resources = Vec::new();
        for (logical_id, resource) in root.required("Resources")?.entries()? {
            let kind = resource.required("Type")?.str()?;
            resources.push((logical_id, kind, resource));
        }
        let of_type = |wanted: &'static str| {
            resources
                .iter()
                .filter(move |(_, kind, _)| *kind == wanted)
                .map(|(id, _, resource)| (*id, resource))
        };

        let mut tables = Vec::new();
        for (id, resource) in of_type("AWS::DynamoDB::Table") {
            tables.push(tables::parse(id, resource)?);
        }

        let mut apis = Vec::new();
        for (id, resource) in of_type("AWS::Serverless::Api") {
            let properties = globals.api(resource.field("Properties")?.map(|p| p.value()));
            let at = format!("{}.Properties", resource.at());
            apis.push(api::parse(id, &Node::new(&properties, at), &parameters)?);
        }
        if apis.len() > 1 {
            let ids: Vec<&str> = apis.iter().map(|api| api.logical_id.as_str()).collect();
            return Err(error::invalid(
                "Resources",
                format!(
                    "more than one AWS::Serverless::Api ({}): the model serves one",
                    ids.join(", ")
                ),
            ));
        }

        let mut queues = Vec::new();
        for (id, resource) in of_type("AWS::SQS::Queue") {
            queues.push(queues::parse(id, resource)?);
        }
        queues::check_dead_letters(&queues)?;

        let (mut functions, mut routes, mut schedules) = (Vec::new(), Vec::new(), Vec::new());
        let (mut event_sources, mut other_events) = (Vec::new(), Vec::new());
        for (id, resource) in of_type("AWS::Serverless::Function") {
            let properties = globals.function(resource.field("Properties")?.map(|p| p.value()));
            let at = format!("{}.Properties", resource.at());
            let parsed = functions::parse(
                id,
                resource,
                &Node::new(&properties, at),
                &parameters,
                &apis,
            )?;
            functions.push(parsed.function);
            routes.extend(parsed.routes);
            schedules.extend(parsed.schedules);
            event_sources.extend(parsed.event_sources);
            other_events.extend(parsed.other_events);
        }
        event_sources::check(&event_sources, &tables, &queues)?;
        for api in &apis {
            for authorizer in &api.auth.authorizers {
                if !functions
                    .iter()
                    .any(|f| f.logical_id == authorizer.function)
                {
                    return Err(error::invalid(
                        &format!(
                            "Resources.{}.Properties.Auth.Authorizers.{}.FunctionArn",
                            api.logical_id, authorizer.name
                        ),
                        format!(
                            "`{}` is not an AWS::Serverless::Function of this template",
                            authorizer.function
                        ),
                    ));
                }
            }
        }

        let mut usage_plans = Vec::new();
        for (id, resource) in of_type("AWS::ApiGateway::UsagePlan") {
            usage_plans.push(usage_plans::parse(id, resource, &parameters, &apis)?);
        }

        let mut web_acls = Vec::new();
        for (id, resource) in of_type("AWS::WAFv2::WebACL") {
            web_acls.push(waf::parse(id, resource, &parameters)?);
        }
        for (_, resource) in of_type("AWS::WAFv2::WebACLAssociation") {
            waf::associate(&mut web_acls, resource, &parameters, &apis)?;
        }

        Ok(Self {
            parameters: parameters.0,
            tables,
            api: apis.pop(),
            functions,
            routes,
            schedules,
            event_sources,
            other_events,
            queues,
            usage_plans,
            web_acls,
        })
    }

    /// Every `AWS::DynamoDB::Table`, in template order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The table with this logical id.
    pub fn table(&self, logical_id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }

    /// The `AWS::Serverless::Api`, if the template has one.
    pub fn api(&self) -> Option<&Api> {
        self.api.as_ref()
    }

    /// Every `AWS::Serverless::Function`, in template order.
    pub fn functions(&self) -> &[Function] {
        &self.functions
    }

    /// The function with this logical id.
    pub fn function(&self, logical_id: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    /// Every `Type: Api` event of every function, in template order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Every `Type: Schedule` and `Type: ScheduleV2` event.
    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules
    }

    /// Every `Type: DynamoDB` and `Type: SQS` event of every function, in template order.
    pub fn event_sources(&self) -> &[EventSource] {
        &self.event_sources
    }

    /// The events of functions that are neither routes, schedules nor polled sources.
    pub fn other_events(&self) -> &[OtherEvent] {
        &self.other_events
    }

    /// Every `AWS::SQS::Queue`, in template order.
    pub fn queues(&self) -> &[Queue] {
        &self.queues
    }

    /// The queue with this logical id.
    pub fn queue(&self, logical_id: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    /// Every `AWS::ApiGateway::UsagePlan`.
    pub fn usage_plans(&self) -> &[UsagePlan] {
        &self.usage_plans
    }

    /// Every `AWS::WAFv2::WebACL`, in template order, with the API stages it is associated with.
    pub fn web_acls(&self) -> &[WebAcl] {
        &self.web_acls
    }

    /// The web ACL associated with the API's stage: AWS WAF sees its requests first.
    pub fn api_web_acl(&self) -> Option<&WebAcl> {
        let api = self.api.as_ref()?;
        self.web_acls.iter().find(|acl| acl.protects(api))
    }

    /// The default of a parameter (`None` when it has none or does not exist).
    pub fn parameter_default(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, default)| default.as_deref())
    }
}
