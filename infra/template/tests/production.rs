//! The real `infra/template.yaml` keeps the production safeguards of `docs/deploy.md`
//! ("Production safeguards"): everything that stores data is encrypted with the stack's one
//! customer-managed key, every function has reserved concurrency, the API functions and the
//! authorizer deploy through a `live` alias with rollback alarms, asynchronous work has a
//! dead-letter queue or on-failure destination with an alarm, API Gateway's account setting is
//! left to the account, and the dashboard is well formed and shows what the issue asks for.
//! checkov and cfn-lint check some of this too (`infra/lint.sh`); these checks are the ones they
//! cannot make (references between resources, the dashboard's body, what is *not* there).

use paygate_template::{Intrinsic, Value};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
const KEY: &str = "PaygateKey";

fn template() -> Value {
    let text = std::fs::read_to_string(PATH).expect("infra/template.yaml");
    Value::from_yaml(&text).expect("the template parses")
}

fn entries(value: &Value) -> &[(String, Value)] {
    match value {
        Value::Mapping(entries) => entries,
        other => panic!("expected a mapping, found {}", other.kind()),
    }
}

fn resources(template: &Value) -> &[(String, Value)] {
    entries(template.get("Resources").expect("Resources"))
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    resources(template)
        .iter()
        .find(|(k, _)| k == id)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no resource {id}"))
}

fn property<'a>(resource: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(resource.get("Properties")?, |value, key| value.get(key))
}

/// `!Ref PaygateKey` or `!GetAtt PaygateKey.Arn`.
fn is_the_key(value: Option<&Value>) -> bool {
    match value.and_then(Value::as_intrinsic) {
        Some(Intrinsic::Ref(name)) => name == KEY,
        Some(Intrinsic::GetAtt {
            resource,
            attribute,
        }) => resource == KEY && attribute == "Arn",
        _ => false,
    }
}

fn sequence(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Sequence(items)) => items,
        _ => &[],
    }
}

#[test]
fn everything_that_stores_data_is_encrypted_with_the_stacks_key() {
    let t = template();
    let checks: [(&str, &[&str]); 5] = [
        (
            "AWS::DynamoDB::Table",
            &["SSESpecification", "KMSMasterKeyId"],
        ),
        ("AWS::SecretsManager::Secret", &["KmsKeyId"]),
        ("AWS::Logs::LogGroup", &["KmsKeyId"]),
        ("AWS::SQS::Queue", &["KmsMasterKeyId"]),
        ("AWS::SNS::Topic", &["KmsMasterKeyId"]),
    ];
    let mut seen = 0;
    for (kind, path) in checks {
        let found = of_type(&t, kind);
        assert!(!found.is_empty(), "no {kind}");
        for (id, r) in found {
            assert!(
                is_the_key(property(r, path)),
                "{id} ({kind}) is not encrypted with {KEY}"
            );
            seen += 1;
        }
    }
    for (id, table) in of_type(&t, "AWS::DynamoDB::Table") {
        assert_eq!(
            property(table, &["SSESpecification", "SSEType"]).and_then(Value::as_str),
            Some("KMS"),
            "{id}"
        );
    }
    // 2 tables, 3 secrets, 16 log groups (13 functions, access, execution, WAF), 5 queues, 1 topic.
    let expected = 2 + 3 + 16 + 5 + 1;
    assert!(seen >= expected, "{seen}");
    let globals = t.get("Globals").and_then(|g| g.get("Function")).unwrap();
    assert!(
        is_the_key(globals.get("KmsKeyArn")),
        "the functions' environment"
    );
}

#[test]
fn the_key_rotates_and_its_policy_allows_no_direct_decryption() {
    let t = template();
    let key = resource(&t, KEY);
    assert_eq!(
        property(key, &["EnableKeyRotation"]),
        Some(&Value::Bool(true))
    );
    let statements = sequence(property(key, &["KeyPolicy", "Statement"]));
    assert!(statements.len() >= 3);
    for statement in statements {
        let sid = statement.get("Sid").and_then(Value::as_str).unwrap_or("?");
        let principal = statement.get("Principal").expect("a principal");
        assert_ne!(principal.as_str(), Some("*"), "{sid}");
        assert_ne!(
            principal.get("AWS").and_then(Value::as_str),
            Some("*"),
            "{sid}"
        );
        let actions: Vec<&str> = sequence(statement.get("Action"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!actions.contains(&"kms:*"), "{sid}: kms:*");
        let crypto = actions
            .iter()
            .any(|a| a.starts_with("kms:Decrypt") || a.starts_with("kms:GenerateDataKey"));
        let account = principal.get("AWS").is_some();
        if crypto && account {
            // The account's principals only through named services.
            let via = statement
                .get("Condition")
                .and_then(|c| c.get("StringEquals"))
                .and_then(|c| c.get("kms:ViaService"));
            assert!(
                sequence(via).len() >= 2,
                "{sid}: account principals may decrypt without kms:ViaService"
            );
        }
    }
    // Kept with what it encrypts; gone with a failed first deploy.
    assert_eq!(
        key.get("DeletionPolicy").and_then(Value::as_str),
        Some("RetainExceptOnCreate")
    );
}

#[test]
fn every_function_has_reserved_concurrency_and_the_api_deploys_through_canaries() {
    let t = template();
    let alarms: Vec<&str> = of_type(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let functions = of_type(&t, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 13);
    let mut canaries = Vec::new();
    for (id, f) in &functions {
        match property(f, &["ReservedConcurrentExecutions"]).and_then(Value::as_intrinsic) {
            Some(Intrinsic::If {
                condition, then, ..
            }) => {
                assert_eq!(condition, "HasReservedConcurrency", "{id}");
                let Some(Intrinsic::Ref(parameter)) = then.as_intrinsic() else {
                    panic!("{id}: reserved concurrency is not a parameter");
                };
                let default = t
                    .get("Parameters")
                    .and_then(|p| p.get(parameter))
                    .and_then(|p| p.get("Default"));
                assert!(
                    matches!(default, Some(Value::Integer(n)) if *n >= 1),
                    "{id}: {parameter}"
                );
            }
            other => panic!("{id}: no reserved concurrency ({other:?})"),
        }
        let events = property(f, &["Events"]).map(entries).unwrap_or_default();
        let api = events
            .iter()
            .any(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("Api"));
        if api || *id == "AuthorizerFunction" {
            assert_eq!(
                property(f, &["AutoPublishAlias"]).and_then(Value::as_str),
                Some("live"),
                "{id}"
            );
            let rollback = sequence(property(f, &["DeploymentPreference", "Alarms"]));
            assert!(rollback.len() >= 2, "{id}: rollback alarms");
            for alarm in rollback {
                let Some(Intrinsic::Ref(name)) = alarm.as_intrinsic() else {
                    panic!("{id}: {alarm:?}");
                };
                assert!(alarms.contains(&name.as_str()), "{id}: no alarm {name}");
            }
            canaries.push(*id);
        }
    }
    assert_eq!(canaries.len(), 9, "{canaries:?}");
    // API Gateway calls the authorizer's alias (the integrations' are SAM's, from the events).
    let authorizer = property(
        resource(&t, "PaygateApi"),
        &["Auth", "Authorizers", "PaygateAuthorizer", "FunctionArn"],
    );
    assert_eq!(
        authorizer.and_then(Value::as_intrinsic),
        Some(&Intrinsic::Ref("AuthorizerFunction.Alias".into()))
    );
}

#[test]
fn asynchronous_work_fails_into_queues_that_alarm() {
    let t = template();
    let watched: Vec<&str> = of_type(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter_map(|(_, a)| {
            let dimensions = sequence(property(a, &["Dimensions"]));
            dimensions
                .iter()
                .find_map(|d| match d.get("Value")?.as_intrinsic()? {
                    Intrinsic::GetAtt {
                        resource,
                        attribute,
                    } if attribute == "QueueName" => Some(resource.as_str()),
                    _ => None,
                })
        })
        .collect();
    for (id, f) in of_type(&t, "AWS::Serverless::Function") {
        let events = property(f, &["Events"]).map(entries).unwrap_or_default();
        let scheduled = events
            .iter()
            .any(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("Schedule"));
        if scheduled || id == "RotateSigningKeyFunction" {
            let dlq = property(f, &["DeadLetterQueue", "TargetArn"]);
            let Some(Intrinsic::GetAtt {
                resource: queue, ..
            }) = dlq.and_then(Value::as_intrinsic)
            else {
                panic!("{id}: asynchronous invocations without a dead-letter queue");
            };
            assert!(
                watched.contains(&queue.as_str()),
                "{id}: {queue} has no alarm"
            );
        }
        for (name, event) in events {
            if event.get("Type").and_then(Value::as_str) == Some("DynamoDB") {
                let destination = event
                    .get("Properties")
                    .and_then(|p| p.get("DestinationConfig"))
                    .and_then(|d| d.get("OnFailure"))
                    .and_then(|o| o.get("Destination"));
                let Some(Intrinsic::GetAtt {
                    resource: queue, ..
                }) = destination.and_then(Value::as_intrinsic)
                else {
                    panic!("{id}.{name}: a stream mapping without an on-failure destination");
                };
                assert!(watched.contains(&queue.as_str()), "{id}.{name}: {queue}");
            }
        }
    }
}

#[test]
fn logs_are_declared_and_kept_and_the_account_setting_is_not_the_stacks() {
    let t = template();
    assert!(of_type(&t, "AWS::ApiGateway::Account").is_empty());
    let execution = resource(&t, "ApiExecutionLogGroup");
    match property(execution, &["LogGroupName"]).and_then(Value::as_intrinsic) {
        Some(Intrinsic::Sub { template, .. }) => assert_eq!(
            template,
            "API-Gateway-Execution-Logs_${PaygateApi}/${StageName}"
        ),
        other => panic!("{other:?}"),
    }
    for kind in ["AWS::Logs::LogGroup", "AWS::DynamoDB::Table"] {
        for (id, r) in of_type(&t, kind) {
            assert_eq!(
                r.get("DeletionPolicy").and_then(Value::as_str),
                Some("RetainExceptOnCreate"),
                "{id}"
            );
            assert!(property(r, &["RetentionInDays"]).is_some() || kind != "AWS::Logs::LogGroup");
        }
    }
}

/// The dashboard's body with every `${…}` resolved to a placeholder, and the names it used.
fn dashboard(t: &Value) -> (serde_json::Value, Vec<String>) {
    let body = property(resource(t, "Dashboard"), &["DashboardBody"]);
    let Some(Intrinsic::Sub { template, .. }) = body.and_then(Value::as_intrinsic) else {
        panic!("the dashboard body is not a !Sub");
    };
    let (mut text, mut names, mut rest) = (String::new(), Vec::new(), template.as_str());
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("a closed ${") + start;
        names.push(rest[start + 2..end].to_owned());
        text.push_str(&rest[..start]);
        text.push('X');
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    let json = serde_json::from_str(&text).expect("the dashboard body is JSON");
    (json, names)
}

#[test]
fn the_dashboard_is_well_formed_and_shows_what_matters() {
    let t = template();
    let (body, names) = dashboard(&t);
    let ids: Vec<&str> = resources(&t).iter().map(|(id, _)| id.as_str()).collect();
    let parameters = entries(t.get("Parameters").unwrap());
    for name in &names {
        let base = name.split('.').next().unwrap();
        assert!(
            base.starts_with("AWS::")
                || ids.contains(&base)
                || parameters.iter().any(|(p, _)| p == base),
            "the dashboard names ${{{name}}}, which is nothing of the template"
        );
    }
    let widgets = body["widgets"].as_array().expect("widgets");
    let mut shown = String::new();
    for widget in widgets {
        for key in ["x", "y", "width", "height"] {
            assert!(widget[key].is_u64(), "{widget}");
        }
        assert!(widget["x"].as_u64().unwrap() + widget["width"].as_u64().unwrap() <= 24);
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            // A metric line is an array: [namespace, name, dimensions..., {options}] or
            // [{"expression": …}].
            assert!(metric.is_array(), "{metric}");
        }
        shown.push_str(&widget.to_string());
    }
    for wanted in [
        "\"Count\"",
        "\"Latency\"",
        "\"4XXError\"",
        "\"5XXError\"",
        "ThrottledRequests",
        "BlockedRequests",
        "\"Duration\"",
        "\"Errors\"",
        "\"Throttles\"",
        "initDurationMs",
        "WriteThrottleEvents",
        "TransactionConflict",
        "DynamoDbRoundTrips",
        "PaymentEvents",
        "PaymentAmount",
        "RiskDecisions",
        "WebhookDeliveries",
        "PostingLagMs",
    ] {
        assert!(
            shown.contains(wanted),
            "the dashboard does not show {wanted}"
        );
    }
    // Every alarm of the stack is on it.
    for (id, _) in of_type(&t, "AWS::CloudWatch::Alarm") {
        assert!(
            names.contains(&format!("{id}.Arn")),
            "{id} is not on the dashboard"
        );
    }
}
