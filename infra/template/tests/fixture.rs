//! The parts of `tests/data/gateway.yaml` (a template with every modelled part) and exactly what
//! they parse to.

use paygate_template::{
    Api, ApiAuth, ApiStage, AttributeDefinition, AttributeType, Authorizer, BillingMode,
    GatewayResponse, Intrinsic, KeySchema, MethodThrottling, PayloadType, Projection, Quota,
    QuotaPeriod, Route, Schedule, SecondaryIndex, Table, Template, Throttle, UsagePlan, Value,
};
use paygate_template::{
    DeadLetter, EventSource, OtherEvent, Queue, Source, StreamSource, StreamViewType,
};

fn fixture() -> Template {
    Template::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gateway.yaml"
    ))
    .unwrap_or_else(|e| panic!("the fixture parses: {e}"))
}

fn route(
    function: &str,
    binary: Option<&str>,
    event: &str,
    (method, path): (&str, &str),
    api: Option<&str>,
    authorizer: Option<&str>,
    api_key_required: bool,
) -> Route {
    Route {
        function: function.into(),
        binary: binary.map(Into::into),
        event: event.into(),
        method: method.into(),
        path: path.into(),
        api: api.map(Into::into),
        authorizer: authorizer.map(Into::into),
        api_key_required,
    }
}

#[test]
fn the_api_has_its_stage_authorizers_and_throttling() {
    let template = fixture();
    let expected = Api {
        logical_id: "ShopApi".into(),
        // `!Ref StageName`: the parameter's default.
        stage_name: "v2".into(),
        auth: ApiAuth {
            default_authorizer: Some("RequestAuthorizer".into()),
            api_key_required: true,
            authorizers: vec![
                Authorizer {
                    name: "RequestAuthorizer".into(),
                    function: "AuthorizerFunction".into(),
                    payload_type: PayloadType::Request,
                    identity_headers: vec!["Authorization".into(), "X-Tenant".into()],
                    identity_query_strings: vec!["tenant".into()],
                    reauthorize_every: 60,
                },
                Authorizer {
                    name: "TokenAuthorizer".into(),
                    function: "AuthorizerFunction".into(),
                    payload_type: PayloadType::Token,
                    identity_headers: vec!["X-Token".into()],
                    identity_query_strings: vec![],
                    reauthorize_every: 300,
                },
            ],
        },
        // Globals.Api's list first, then the API's own entries that throttle.
        throttling: vec![
            MethodThrottling {
                resource_path: "/*".into(),
                http_method: "*".into(),
                rate_limit: Some(25.5),
                burst_limit: Some(50),
            },
            MethodThrottling {
                resource_path: "/orders".into(),
                http_method: "POST".into(),
                rate_limit: None,
                burst_limit: Some(5),
            },
        ],
        gateway_responses: vec![
            GatewayResponse {
                kind: "UNAUTHORIZED".into(),
                status: Some(401),
                headers: vec![("WWW-Authenticate".into(), "Bearer".into())],
                templates: vec![(
                    "application/json".into(),
                    r#"{"message":$context.error.messageString}"#.into(),
                )],
            },
            GatewayResponse {
                kind: "DEFAULT_5XX".into(),
                status: None,
                headers: vec![],
                templates: vec![(
                    "application/json".into(),
                    r#"{"error":"unavailable"}"#.into(),
                )],
            },
        ],
    };
    assert_eq!(template.api(), Some(&expected));
}

#[test]
fn routes_carry_method_path_function_binary_authorizer_and_api_key() {
    let template = fixture();
    let shop = Some("ShopApi");
    let orders = Some("orders");
    assert_eq!(
        template.routes(),
        [
            // The API's defaults: its default authorizer and its API-key requirement.
            route(
                "OrdersFunction",
                orders,
                "CreateOrder",
                ("POST", "/orders"),
                shop,
                Some("RequestAuthorizer"),
                true
            ),
            route(
                "OrdersFunction",
                orders,
                "GetOrder",
                ("GET", "/orders/{order_id}"),
                shop,
                Some("TokenAuthorizer"),
                true
            ),
            // `Authorizer: NONE` turns the authorizer off; the event's ApiKeyRequired wins.
            route(
                "OrdersFunction",
                orders,
                "Health",
                ("ANY", "/health"),
                shop,
                None,
                false
            ),
            // No RestApiId: SAM's implicit API, which has no defaults.
            route(
                "OrdersFunction",
                orders,
                "Legacy",
                ("GET", "/legacy"),
                None,
                None,
                false
            ),
        ]
    );
}

#[test]
fn schedules_of_both_kinds_with_their_state() {
    let schedule = |event: &str, expression: &str, enabled: bool| Schedule {
        function: "SweepFunction".into(),
        binary: None,
        event: event.into(),
        expression: expression.into(),
        enabled,
    };
    assert_eq!(
        fixture().schedules(),
        [
            schedule("Sweep", "rate(5 minutes)", true),
            schedule("Nightly", "cron(0 3 * * ? *)", false),
            schedule("Paused", "rate(1 hour)", false),
        ]
    );
}

#[test]
fn usage_plans_with_throttle_quota_and_stages() {
    let stage = ApiStage {
        api: "ShopApi".into(),
        stage: Some("v2".into()),
    };
    assert_eq!(
        fixture().usage_plans(),
        [
            UsagePlan {
                logical_id: "BasicPlan".into(),
                name: Some("${AWS::StackName}-basic".into()),
                throttle: Some(Throttle {
                    rate_limit: Some(10.0),
                    burst_limit: Some(20),
                }),
                quota: Some(Quota {
                    limit: 1000,
                    period: QuotaPeriod::Day,
                    offset: 0,
                }),
                api_stages: vec![stage.clone()],
            },
            UsagePlan {
                logical_id: "UnlimitedPlan".into(),
                name: Some("unlimited".into()),
                throttle: None,
                quota: Some(Quota {
                    limit: 50_000,
                    period: QuotaPeriod::Month,
                    offset: 10,
                }),
                api_stages: vec![stage],
            },
        ]
    );
}

#[test]
fn tables_with_number_keys_local_indexes_and_include_projections() {
    let key = |hash: &str, range: Option<&str>| KeySchema {
        hash: hash.into(),
        range: range.map(Into::into),
    };
    let attribute = |name: &str, kind| AttributeDefinition {
        name: name.into(),
        kind,
    };
    let expected = Table {
        logical_id: "LedgerTable".into(),
        // No BillingMode: CloudFormation's default.
        billing_mode: BillingMode::Provisioned,
        attributes: vec![
            attribute("id", AttributeType::String),
            attribute("seq", AttributeType::Number),
            attribute("owner", AttributeType::String),
            attribute("amount", AttributeType::Number),
        ],
        key: key("id", Some("seq")),
        global_indexes: vec![SecondaryIndex {
            name: "by-owner".into(),
            key: key("owner", None),
            projection: Projection::Include(vec!["amount".into(), "status".into()]),
        }],
        local_indexes: vec![SecondaryIndex {
            name: "by-amount".into(),
            key: key("id", Some("amount")),
            projection: Projection::KeysOnly,
        }],
        // Declared but not enabled.
        ttl_attribute: None,
        stream: Some(StreamViewType::NewAndOldImages),
    };
    assert_eq!(fixture().tables(), [expected]);
}

#[test]
fn functions_get_globals_merged_and_keep_intrinsics_unevaluated() {
    let template = fixture();
    let names: Vec<(&str, Option<&str>)> = template
        .functions()
        .iter()
        .map(|f| (f.logical_id.as_str(), f.binary.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("AuthorizerFunction", Some("gatekeeper")),
            ("OrdersFunction", Some("orders")),
            ("SweepFunction", None),
        ]
    );
    let table_ref = Value::Intrinsic(Box::new(Intrinsic::Ref("LedgerTable".into())));
    let orders = template.function("OrdersFunction").expect("OrdersFunction");
    assert_eq!(
        orders.environment,
        [
            ("TABLE".to_owned(), table_ref.clone()),
            ("STAGE".to_owned(), Value::String("orders".into())),
        ]
    );
    let sweep = template.function("SweepFunction").expect("SweepFunction");
    assert_eq!(
        sweep.environment,
        [
            ("TABLE".to_owned(), table_ref),
            ("STAGE".to_owned(), Value::String("shared".into())),
        ]
    );
    assert_eq!(
        template.parameter_default("SweepRate"),
        Some("rate(5 minutes)")
    );
    assert_eq!(template.parameter_default("AlarmEmail"), None);
}

#[test]
fn polled_event_sources_and_queues() {
    let template = fixture();
    let orders_queue = EventSource {
        function: "OrdersFunction".into(),
        binary: Some("orders".into()),
        event: "Queue".into(),
        source: Source::Sqs {
            queue: "OrdersQueue".into(),
        },
        batch_size: None,
        batching_window_s: None,
        report_batch_item_failures: false,
        filters: vec![],
        enabled: true,
    };
    let changes = EventSource {
        function: "SweepFunction".into(),
        binary: None,
        event: "Changes".into(),
        source: Source::DynamoDbStream(StreamSource {
            table: "LedgerTable".into(),
            starting_position: "LATEST".into(),
            bisect_on_error: true,
            maximum_retry_attempts: Some(3),
            parallelization_factor: None,
            on_failure: Some("OrdersDeadLetterQueue".into()),
        }),
        batch_size: Some(50),
        batching_window_s: Some(2),
        report_batch_item_failures: true,
        filters: vec![
            r#"{"eventName": ["INSERT"]}"#.into(),
            r#"{"eventName": ["REMOVE"]}"#.into(),
        ],
        enabled: true,
    };
    let retries = EventSource {
        function: "SweepFunction".into(),
        binary: None,
        event: "Retries".into(),
        source: Source::Sqs {
            queue: "OrdersDeadLetterQueue".into(),
        },
        batch_size: None,
        batching_window_s: None,
        report_batch_item_failures: false,
        filters: vec![],
        enabled: false,
    };
    assert_eq!(template.event_sources(), [orders_queue, changes, retries]);
    assert_eq!(
        template.other_events(),
        [OtherEvent {
            function: "OrdersFunction".into(),
            event: "Audit".into(),
            kind: "SNS".into(),
        }]
    );
    assert_eq!(
        template.queues(),
        [
            Queue {
                logical_id: "OrdersQueue".into(),
                visibility_timeout_s: Some(120),
                retention_s: None,
                delay_s: Some(5),
                dead_letter: Some(DeadLetter {
                    queue: "OrdersDeadLetterQueue".into(),
                    max_receive_count: 4,
                }),
            },
            Queue {
                logical_id: "OrdersDeadLetterQueue".into(),
                visibility_timeout_s: None,
                retention_s: Some(1_209_600),
                delay_s: None,
                dead_letter: None,
            },
        ]
    );
    assert_eq!(
        template
            .queue("OrdersDeadLetterQueue")
            .map(|q| q.retention_s),
        Some(Some(1_209_600))
    );
}

#[test]
fn a_template_with_only_resources_has_empty_parts() {
    let template = Template::parse("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n").unwrap();
    assert!(template.tables().is_empty());
    assert_eq!(template.api(), None);
    assert!(template.routes().is_empty());
    assert!(template.schedules().is_empty());
    assert!(template.usage_plans().is_empty());
    assert!(template.web_acls().is_empty());
    assert_eq!(template.api_web_acl(), None);
    assert!(template.functions().is_empty());
    assert!(template.event_sources().is_empty());
    assert_eq!(template.queues().len(), 1);
}
