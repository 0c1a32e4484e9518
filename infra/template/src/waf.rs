//! AWS WAF in front of the API: `AWS::WAFv2::WebACL` resources, their rate-based rules read as
//! numbers and their other rules by name and kind, and the `AWS::WAFv2::WebACLAssociation`s that
//! put them in front of a stage of this template's API.

use crate::{
    TemplateError,
    api::Api,
    error::invalid,
    node::{Node, Parameters},
    usage_plans::ApiStage,
    value::Intrinsic,
};

/// AWS WAF's bounds for a rate-based rule's `Limit`.
pub const RATE_LIMIT_BOUNDS: (u64, u64) = (10, 2_000_000_000);
/// The evaluation windows AWS WAF offers, in seconds; 300 is its default.
pub const RATE_WINDOWS: [u64; 4] = [60, 120, 300, 600];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAcl {
    pub logical_id: String,
    pub scope: WafScope,
    /// `DefaultAction`: what happens to a request no rule stops.
    pub default_action: WafAction,
    /// The rules with a `RateBasedStatement`, in template order.
    pub rate_rules: Vec<RateRule>,
    /// Every other rule, in template order.
    pub other_rules: Vec<WafRule>,
    /// The stages of this template's API it is associated with. Associations with anything
    /// else (a load balancer, an ARN built with `!Join`) are not listed.
    pub api_stages: Vec<ApiStage>,
}

impl WebAcl {
    /// Whether it is associated with `api`'s stage.
    pub fn protects(&self, api: &Api) -> bool {
        self.api_stages
            .iter()
            .any(|s| s.api == api.logical_id && s.stage.as_deref() == Some(&api.stage_name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WafScope {
    /// API Gateway stages, load balancers and the like.
    Regional,
    CloudFront,
}

/// What a rule or the default action does with a request (custom responses and request
/// headers are not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WafAction {
    Allow,
    /// 403 unless a custom response says otherwise (API Gateway: its `WAF_FILTERED` response).
    Block,
    Count,
    Captcha,
    Challenge,
}

/// A rule with a `RateBasedStatement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRule {
    pub name: String,
    pub priority: u64,
    /// `Limit`: requests of one aggregation key within the window before `action` applies.
    pub limit: u64,
    /// `EvaluationWindowSec` (default 300).
    pub window_seconds: u64,
    pub aggregate_key: AggregateKey,
    pub action: WafAction,
    /// Whether a `ScopeDownStatement` narrows the requests it counts.
    pub scoped_down: bool,
}

/// `AggregateKeyType`: what requests are counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKey {
    /// The source IP of the connection.
    Ip,
    /// The address in a header (`ForwardedIPConfig`).
    ForwardedIp,
    /// All requests together.
    Constant,
    /// `CustomKeys`.
    CustomKeys,
}

/// A rule of a web ACL that is not rate-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WafRule {
    pub name: String,
    pub priority: u64,
    pub statement: WafStatement,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WafStatement {
    /// `ManagedRuleGroupStatement` (`AWS`, `AWSManagedRulesCommonRuleSet`).
    ManagedRuleGroup { vendor: String, name: String },
    /// Any other statement, by its type (`IPSetReferenceStatement`, `ByteMatchStatement`, …).
    Other(String),
}

const ACTIONS: [(&str, WafAction); 5] = [
    ("Allow", WafAction::Allow),
    ("Block", WafAction::Block),
    ("Count", WafAction::Count),
    ("Captcha", WafAction::Captcha),
    ("Challenge", WafAction::Challenge),
];

pub(crate) fn parse(
    logical_id: &str,
    resource: &Node<'_>,
    parameters: &Parameters,
) -> Result<WebAcl, TemplateError> {
    let properties = resource.required("Properties")?;
    let scope = properties.required("Scope")?;
    let scope = match scope.str()? {
        "REGIONAL" => WafScope::Regional,
        "CLOUDFRONT" => WafScope::CloudFront,
        other => {
            return Err(invalid(
                scope.at(),
                format!("unknown scope `{other}` (REGIONAL or CLOUDFRONT)"),
            ));
        }
    };
    let default_action = action(&properties.required("DefaultAction")?, &ACTIONS[..2])?;
    let (mut rate_rules, mut other_rules) = (Vec::new(), Vec::new());
    for rule in properties
        .field("Rules")?
        .map_or(Ok(Vec::new()), |r| r.items())?
    {
        let name = rule.required("Name")?.str()?.to_owned();
        let priority = parameters.u64(&rule.required("Priority")?)?;
        let statement = rule.required("Statement")?;
        let (kind, body) = match statement.entries()?.as_slice() {
            [(kind, body)] => (*kind, body.clone()),
            _ => return Err(invalid(statement.at(), "expected exactly one statement")),
        };
        match kind {
            "RateBasedStatement" => {
                let action = action(&rule.required("Action")?, &ACTIONS[1..])?;
                rate_rules.push(rate_rule(name, priority, action, &body, parameters)?);
            }
            "ManagedRuleGroupStatement" => other_rules.push(WafRule {
                name,
                priority,
                statement: WafStatement::ManagedRuleGroup {
                    vendor: parameters.text(&body.required("VendorName")?)?,
                    name: parameters.text(&body.required("Name")?)?,
                },
            }),
            other => other_rules.push(WafRule {
                name,
                priority,
                statement: WafStatement::Other(other.to_owned()),
            }),
        }
    }
    Ok(WebAcl {
        logical_id: logical_id.to_owned(),
        scope,
        default_action,
        rate_rules,
        other_rules,
        api_stages: Vec::new(),
    })
}

/// A mapping with exactly one key, one of `allowed`'s names (`Block: {}`).
fn action(node: &Node<'_>, allowed: &[(&str, WafAction)]) -> Result<WafAction, TemplateError> {
    let names: Vec<&str> = allowed.iter().map(|(name, _)| *name).collect();
    let expected = || match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("expected one of {} or {last}", rest.join(", "))
        }
        _ => format!("expected {}", names.join("")),
    };
    match node.entries()?.as_slice() {
        [(key, _)] => allowed
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, action)| *action)
            .ok_or_else(|| invalid(node.at(), format!("`{key}`: {}", expected()))),
        _ => Err(invalid(node.at(), expected())),
    }
}

fn rate_rule(
    name: String,
    priority: u64,
    action: WafAction,
    statement: &Node<'_>,
    parameters: &Parameters,
) -> Result<RateRule, TemplateError> {
    let limit_node = statement.required("Limit")?;
    let limit = parameters.u64(&limit_node)?;
    let (lowest, highest) = RATE_LIMIT_BOUNDS;
    if !(lowest..=highest).contains(&limit) {
        return Err(invalid(
            limit_node.at(),
            format!("{limit} is outside AWS WAF's bounds ({lowest} to {highest})"),
        ));
    }
    let window_seconds = match statement.field("EvaluationWindowSec")? {
        None => 300,
        Some(window) => {
            let seconds = parameters.u64(&window)?;
            if !RATE_WINDOWS.contains(&seconds) {
                return Err(invalid(
                    window.at(),
                    format!("{seconds} is not a window AWS WAF offers (60, 120, 300 or 600)"),
                ));
            }
            seconds
        }
    };
    let key = statement.required("AggregateKeyType")?;
    let aggregate_key = match parameters.text(&key)?.as_str() {
        "IP" => AggregateKey::Ip,
        "FORWARDED_IP" => AggregateKey::ForwardedIp,
        "CONSTANT" => AggregateKey::Constant,
        "CUSTOM_KEYS" => AggregateKey::CustomKeys,
        other => {
            return Err(invalid(
                key.at(),
                format!(
                    "unknown aggregate key type `{other}` (IP, FORWARDED_IP, CONSTANT or \
                     CUSTOM_KEYS)"
                ),
            ));
        }
    };
    Ok(RateRule {
        name,
        priority,
        limit,
        window_seconds,
        aggregate_key,
        action,
        scoped_down: statement.field("ScopeDownStatement")?.is_some(),
    })
}

/// Records an `AWS::WAFv2::WebACLAssociation` on its web ACL, when its `ResourceArn` is a
/// stage of this template's API (`!Sub …/restapis/${Api}/stages/${Api.Stage}`).
pub(crate) fn associate(
    web_acls: &mut [WebAcl],
    resource: &Node<'_>,
    parameters: &Parameters,
    apis: &[Api],
) -> Result<(), TemplateError> {
    let properties = resource.required("Properties")?;
    let acl_arn = properties.required("WebACLArn")?;
    let acl_id = match acl_arn.value().as_intrinsic() {
        Some(Intrinsic::GetAtt {
            resource,
            attribute,
        }) if attribute == "Arn" => resource,
        _ => {
            return Err(invalid(
                acl_arn.at(),
                "expected the ARN of a web ACL of this template (!GetAtt <WebACL>.Arn)",
            ));
        }
    };
    if !web_acls.iter().any(|acl| &acl.logical_id == acl_id) {
        return Err(invalid(
            acl_arn.at(),
            format!("`{acl_id}` is not an AWS::WAFv2::WebACL of this template"),
        ));
    }
    let target = properties.required("ResourceArn")?;
    let Some(stage) = api_stage(&target, parameters, apis)? else {
        return Ok(());
    };
    if let Some(other) = web_acls
        .iter()
        .find(|acl| &acl.logical_id != acl_id && acl.api_stages.contains(&stage))
    {
        return Err(invalid(
            target.at(),
            format!(
                "the stage already has the web ACL `{}`: a stage takes one",
                other.logical_id
            ),
        ));
    }
    if let Some(acl) = web_acls.iter_mut().find(|acl| &acl.logical_id == acl_id)
        && !acl.api_stages.contains(&stage)
    {
        acl.api_stages.push(stage);
    }
    Ok(())
}

/// The API stage an ARN written as text or `!Sub` names; `None` for ARNs of anything else.
fn api_stage(
    node: &Node<'_>,
    parameters: &Parameters,
    apis: &[Api],
) -> Result<Option<ApiStage>, TemplateError> {
    let text = match node.value().as_intrinsic() {
        Some(Intrinsic::Sub {
            template,
            variables,
        }) if variables.is_empty() => template.as_str(),
        Some(_) => return Ok(None),
        None => node.str()?,
    };
    let Some((service, path)) = text.split_once("::/restapis/") else {
        return Ok(None);
    };
    if !service.contains(":apigateway:") {
        return Ok(None);
    }
    let expected = || {
        invalid(
            node.at(),
            "expected …/restapis/${<Api>}/stages/<stage> (the stage as ${<Api>.Stage}, \
             ${<Parameter>} or its name) for an AWS::Serverless::Api of this template",
        )
    };
    let (api, stage) = path.split_once("/stages/").ok_or_else(expected)?;
    let api_name = variable(api).ok_or_else(expected)?;
    let Some(api) = apis.iter().find(|a| a.logical_id == api_name) else {
        return Err(invalid(
            node.at(),
            format!("`{api_name}` is not an AWS::Serverless::Api of this template"),
        ));
    };
    let stage = match variable(stage) {
        Some(name) if name.strip_suffix(".Stage") == Some(&api.logical_id) => {
            api.stage_name.clone()
        }
        Some(name) if parameters.has(name) => parameters.default_of(name, node.at())?,
        Some(_) => return Err(expected()),
        None if !stage.is_empty() && !stage.contains(['$', '/']) => stage.to_owned(),
        None => return Err(expected()),
    };
    Ok(Some(ApiStage {
        api: api.logical_id.clone(),
        stage: Some(stage),
    }))
}

/// `Name` of a whole `${Name}`.
fn variable(text: &str) -> Option<&str> {
    text.strip_prefix("${")?
        .strip_suffix('}')
        .filter(|name| !name.is_empty() && !name.contains(['$', '{', '}']))
}
