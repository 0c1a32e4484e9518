//! Web ACLs: rate-based rules read as numbers (a `!Ref` standing for its parameter's default),
//! the other rules by name and kind, the API stages they are associated with, and every
//! malformed part named by its place.

use paygate_template::{
    AggregateKey, ApiStage, RateRule, Template, WafAction, WafRule, WafScope, WafStatement, WebAcl,
};

const TEMPLATE: &str = r#"Parameters:
  Stage: {Type: String, Default: v1}
  Limit: {Type: Number, Default: 500}
  Window: {Type: Number, Default: 120}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
  Acl:
    Type: AWS::WAFv2::WebACL
    Properties:
      Scope: REGIONAL
      DefaultAction: {Allow: {}}
      Rules:
        - Name: PerIp
          Priority: 0
          Action: {Block: {}}
          Statement:
            RateBasedStatement: {AggregateKeyType: IP, Limit: !Ref Limit, EvaluationWindowSec: !Ref Window}
        - Name: PerForwardedIp
          Priority: 1
          Action: {Count: {}}
          Statement:
            RateBasedStatement:
              AggregateKeyType: FORWARDED_IP
              Limit: 100
              ForwardedIPConfig: {HeaderName: X-Forwarded-For, FallbackBehavior: MATCH}
              ScopeDownStatement: {GeoMatchStatement: {CountryCodes: [NL]}}
        - Name: Common
          Priority: 2
          OverrideAction: {None: {}}
          Statement:
            ManagedRuleGroupStatement: {VendorName: AWS, Name: AWSManagedRulesCommonRuleSet}
        - Name: Blocklist
          Priority: 3
          Action: {Block: {}}
          Statement:
            IPSetReferenceStatement: {Arn: !GetAtt Blocked.Arn}
  Association:
    Type: AWS::WAFv2::WebACLAssociation
    Properties:
      ResourceArn: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Api.Stage}"
      WebACLArn: !GetAtt Acl.Arn
"#;

const ASSOCIATION: &str =
    "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Api.Stage}";

fn parse(text: &str) -> Template {
    Template::parse(text).unwrap_or_else(|e| panic!("parses: {e}"))
}

fn error(text: &str) -> String {
    match Template::parse(text) {
        Ok(template) => panic!("parsed, but should not have: {template:?}"),
        Err(e) => e.to_string(),
    }
}

/// `TEMPLATE` with `from` replaced by `to` (asserted to be there).
fn with(from: &str, to: &str) -> String {
    assert!(TEMPLATE.contains(from), "the template has no `{from}`");
    TEMPLATE.replacen(from, to, 1)
}

/// `TEMPLATE` associating with the stage written as `stage` instead of `${Api.Stage}`.
fn stage_written(stage: &str) -> String {
    with("/stages/${Api.Stage}", &format!("/stages/{stage}"))
}

#[test]
fn rate_rules_other_rules_and_the_stage() {
    let template = parse(TEMPLATE);
    let expected = WebAcl {
        logical_id: "Acl".into(),
        scope: WafScope::Regional,
        default_action: WafAction::Allow,
        rate_rules: vec![
            // Limit and window are `!Ref`s: their parameters' defaults.
            RateRule {
                name: "PerIp".into(),
                priority: 0,
                limit: 500,
                window_seconds: 120,
                aggregate_key: AggregateKey::Ip,
                action: WafAction::Block,
                scoped_down: false,
            },
            // No EvaluationWindowSec: WAF's default.
            RateRule {
                name: "PerForwardedIp".into(),
                priority: 1,
                limit: 100,
                window_seconds: 300,
                aggregate_key: AggregateKey::ForwardedIp,
                action: WafAction::Count,
                scoped_down: true,
            },
        ],
        other_rules: vec![
            WafRule {
                name: "Common".into(),
                priority: 2,
                statement: WafStatement::ManagedRuleGroup {
                    vendor: "AWS".into(),
                    name: "AWSManagedRulesCommonRuleSet".into(),
                },
            },
            WafRule {
                name: "Blocklist".into(),
                priority: 3,
                statement: WafStatement::Other("IPSetReferenceStatement".into()),
            },
        ],
        api_stages: vec![ApiStage {
            api: "Api".into(),
            stage: Some("v1".into()),
        }],
    };
    assert_eq!(template.web_acls(), std::slice::from_ref(&expected));
    assert_eq!(template.api_web_acl(), Some(&expected));
}

#[test]
fn the_stage_may_be_a_parameter_or_its_name() {
    for stage in ["${Stage}", "v1"] {
        let template = parse(&stage_written(stage));
        assert!(template.api_web_acl().is_some(), "{stage}");
    }
    // Another stage of the API is not the one the template serves.
    let other = parse(&stage_written("v2"));
    assert_eq!(other.api_web_acl(), None);
    assert_eq!(
        other.web_acls()[0].api_stages[0].stage.as_deref(),
        Some("v2")
    );
}

#[test]
fn a_web_acl_on_something_else_or_nothing_protects_no_stage() {
    let load_balancer = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1";
    for target in [
        format!("\"{load_balancer}\""),
        "!Ref LoadBalancer".to_owned(),
        format!("!Join ['', ['{load_balancer}']]"),
    ] {
        let template = parse(&with(&format!("!Sub \"{ASSOCIATION}\""), &target));
        assert_eq!(template.api_web_acl(), None, "{target}");
        assert!(template.web_acls()[0].api_stages.is_empty());
    }
    let unassociated = parse(TEMPLATE.split("  Association:").next().unwrap_or_default());
    assert_eq!(unassociated.web_acls().len(), 1);
    assert_eq!(unassociated.api_web_acl(), None);
}

#[test]
fn rate_rules_with_bad_numbers_keys_or_actions() {
    let rule = "Resources.Acl.Properties.Rules[0]";
    let statement = format!("{rule}.Statement.RateBasedStatement");
    assert_eq!(
        error(&with("Default: 500", "Default: 5")),
        format!("{statement}.Limit: 5 is outside AWS WAF's bounds (10 to 2000000000)")
    );
    assert_eq!(
        error(&with("Default: 500", "Default: lots")),
        format!(
            "{statement}.Limit: !Ref Limit: the parameter's Default `lots` is not a whole number ≥ 0"
        )
    );
    assert_eq!(
        error(&with("Limit: !Ref Limit", "Limit: !Ref Nope")),
        format!("{statement}.Limit: !Ref Nope: expected a parameter with a Default")
    );
    assert_eq!(
        error(&with("Limit: !Ref Limit, ", "")),
        format!("{statement}.Limit is missing")
    );
    assert_eq!(
        error(&with("Default: 120", "Default: 90")),
        format!(
            "{statement}.EvaluationWindowSec: 90 is not a window AWS WAF offers (60, 120, 300 or \
             600)"
        )
    );
    assert_eq!(
        error(&with("AggregateKeyType: IP", "AggregateKeyType: HEADER")),
        format!(
            "{statement}.AggregateKeyType: unknown aggregate key type `HEADER` (IP, \
             FORWARDED_IP, CONSTANT or CUSTOM_KEYS)"
        )
    );
    assert_eq!(
        error(&with("Action: {Block: {}}", "Action: {Allow: {}}")),
        format!("{rule}.Action: `Allow`: expected one of Block, Count, Captcha or Challenge")
    );
    assert_eq!(
        error(&with("Action: {Block: {}}", "OverrideAction: {None: {}}")),
        format!("{rule}.Action is missing")
    );
    assert_eq!(
        error(&with(
            "RateBasedStatement: {",
            "GeoMatchStatement: {CountryCodes: [NL]}\n            RateBasedStatement: {"
        )),
        format!("{rule}.Statement: expected exactly one statement")
    );
    assert_eq!(
        error(&with("Priority: 0", "Priority: first")),
        format!("{rule}.Priority: expected a whole number ≥ 0, found a string")
    );
}

#[test]
fn web_acls_with_a_bad_scope_or_default_action() {
    assert_eq!(
        error(&with("Scope: REGIONAL", "Scope: GLOBAL")),
        "Resources.Acl.Properties.Scope: unknown scope `GLOBAL` (REGIONAL or CLOUDFRONT)"
    );
    assert_eq!(
        error(&with(
            "DefaultAction: {Allow: {}}",
            "DefaultAction: {Count: {}}"
        )),
        "Resources.Acl.Properties.DefaultAction: `Count`: expected one of Allow or Block"
    );
    assert_eq!(
        error(&with("VendorName: AWS, ", "")),
        "Resources.Acl.Properties.Rules[2].Statement.ManagedRuleGroupStatement.VendorName is \
         missing"
    );
}

#[test]
fn associations_that_do_not_resolve() {
    let at = "Resources.Association.Properties";
    assert_eq!(
        error(&with(
            "!GetAtt Acl.Arn",
            "arn:aws:wafv2:eu-west-1:1:regional/webacl/x/1"
        )),
        format!(
            "{at}.WebACLArn: expected the ARN of a web ACL of this template (!GetAtt \
             <WebACL>.Arn)"
        )
    );
    assert_eq!(
        error(&with("!GetAtt Acl.Arn", "!GetAtt Other.Arn")),
        format!("{at}.WebACLArn: `Other` is not an AWS::WAFv2::WebACL of this template")
    );
    assert_eq!(
        error(&with("/restapis/${Api}/", "/restapis/${Shop}/")),
        format!("{at}.ResourceArn: `Shop` is not an AWS::Serverless::Api of this template")
    );
    let shape = format!(
        "{at}.ResourceArn: expected …/restapis/${{<Api>}}/stages/<stage> (the stage as \
         ${{<Api>.Stage}}, ${{<Parameter>}} or its name) for an AWS::Serverless::Api of this \
         template"
    );
    assert_eq!(
        error(&with("/restapis/${Api}/", "/restapis/a1b2c3/")),
        shape
    );
    assert_eq!(error(&stage_written("${Other.Stage}")), shape);
    assert_eq!(error(&stage_written("v1/extra")), shape);
    assert_eq!(
        error(&with("/stages/${Api.Stage}", "")),
        shape,
        "no stage at all"
    );
}

#[test]
fn a_stage_takes_one_web_acl() {
    let second = format!(
        "  Second:\n    Type: AWS::WAFv2::WebACL\n    Properties:\n      Scope: REGIONAL\n      \
         DefaultAction: {{Block: {{}}}}\n  SecondAssociation:\n    Type: \
         AWS::WAFv2::WebACLAssociation\n    Properties:\n      ResourceArn: !Sub \
         \"{ASSOCIATION}\"\n      WebACLArn: !GetAtt Second.Arn\n"
    );
    assert_eq!(
        error(&format!("{TEMPLATE}{second}")),
        "Resources.SecondAssociation.Properties.ResourceArn: the stage already has the web ACL \
         `Acl`: a stage takes one"
    );
    // On its own, the second one (no rules, blocking by default) is read as written.
    let alone = parse(&format!(
        "{}{second}",
        TEMPLATE.split("  Acl:").next().unwrap_or_default()
    ));
    let acl = alone.api_web_acl().expect("associated");
    assert_eq!(
        (
            acl.default_action,
            acl.rate_rules.len(),
            acl.other_rules.len()
        ),
        (WafAction::Block, 0, 0)
    );
}
