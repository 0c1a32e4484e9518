//! `AWS::ApiGateway::UsagePlan` resources: the throttle and quota an API key gets, and the API
//! stages they apply to.

use crate::{
    TemplateError,
    api::Api,
    error::invalid,
    node::{Node, Parameters},
    value::{Intrinsic, Value},
};

#[derive(Debug, Clone, PartialEq)]
pub struct UsagePlan {
    pub logical_id: String,
    /// `UsagePlanName`: literal text, a parameter's default, or a `!Sub` template as written
    /// (`${AWS::StackName}-standard`: pseudo parameters have no value outside a stack).
    pub name: Option<String>,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    pub api_stages: Vec<ApiStage>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// `RateLimit`, requests per second.
    pub rate_limit: Option<f64>,
    /// `BurstLimit`.
    pub burst_limit: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// `Limit`: requests per period.
    pub limit: u64,
    pub period: QuotaPeriod,
    /// `Offset`: requests already counted at the start of the first period (default 0).
    pub offset: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

/// One `ApiStages` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStage {
    /// The API's logical id (`ApiId: !Ref Api`).
    pub api: String,
    /// The stage name: literal, a parameter's default, or the API's own stage for
    /// `!Ref Api.Stage`.
    pub stage: Option<String>,
}

pub(crate) fn parse(
    logical_id: &str,
    resource: &Node<'_>,
    parameters: &Parameters,
    apis: &[Api],
) -> Result<UsagePlan, TemplateError> {
    let Some(properties) = resource.field("Properties")? else {
        return Ok(UsagePlan {
            logical_id: logical_id.to_owned(),
            name: None,
            throttle: None,
            quota: None,
            api_stages: Vec::new(),
        });
    };
    let name = match properties.field("UsagePlanName")? {
        None => None,
        Some(name) => match name.value().as_intrinsic() {
            Some(Intrinsic::Sub { template, .. }) => Some(template.clone()),
            _ => Some(parameters.text(&name)?),
        },
    };
    let throttle = match properties.field("Throttle")? {
        None => None,
        Some(throttle) => Some(Throttle {
            rate_limit: throttle.field("RateLimit")?.map(|n| n.f64()).transpose()?,
            burst_limit: throttle.field("BurstLimit")?.map(|n| n.u64()).transpose()?,
        }),
    };
    let quota = match properties.field("Quota")? {
        None => None,
        Some(quota) => {
            let period = quota.required("Period")?;
            Some(Quota {
                limit: quota.required("Limit")?.u64()?,
                period: match period.str()? {
                    "DAY" => QuotaPeriod::Day,
                    "WEEK" => QuotaPeriod::Week,
                    "MONTH" => QuotaPeriod::Month,
                    other => {
                        return Err(invalid(
                            period.at(),
                            format!("unknown period `{other}` (DAY, WEEK or MONTH)"),
                        ));
                    }
                },
                offset: quota
                    .field("Offset")?
                    .map(|n| n.u64())
                    .transpose()?
                    .unwrap_or(0),
            })
        }
    };
    let mut api_stages = Vec::new();
    if let Some(stages) = properties.field("ApiStages")? {
        for stage in stages.items()? {
            api_stages.push(api_stage(&stage, parameters, apis)?);
        }
    }
    Ok(UsagePlan {
        logical_id: logical_id.to_owned(),
        name,
        throttle,
        quota,
        api_stages,
    })
}

fn api_stage(
    node: &Node<'_>,
    parameters: &Parameters,
    apis: &[Api],
) -> Result<ApiStage, TemplateError> {
    let id = node.required("ApiId")?;
    let api_name = id.reference()?;
    let Some(api) = apis.iter().find(|api| api.logical_id == api_name) else {
        return Err(invalid(
            id.at(),
            format!("`{api_name}` is not an AWS::Serverless::Api of this template"),
        ));
    };
    let stage = match node.field("Stage")? {
        None => None,
        Some(stage) => match stage.value() {
            Value::Intrinsic(function) => match function.as_ref() {
                Intrinsic::Ref(name) if name.strip_suffix(".Stage") == Some(&api.logical_id) => {
                    Some(api.stage_name.clone())
                }
                _ => Some(parameters.text(&stage)?),
            },
            _ => Some(parameters.text(&stage)?),
        },
    };
    Ok(ApiStage {
        api: api.logical_id.clone(),
        stage,
    })
}
