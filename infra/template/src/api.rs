//! The `AWS::Serverless::Api`: its stage, its `Auth` (Lambda authorizers, the default one, the
//! API-key default) and its method throttling.

use crate::{
    TemplateError,
    error::invalid,
    node::{Node, Parameters},
    value::Intrinsic,
};

/// How long API Gateway caches an authorizer's answer when `ReauthorizeEvery` is not given.
pub const DEFAULT_REAUTHORIZE_EVERY: u32 = 300;

#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub logical_id: String,
    /// `StageName`, resolved from the parameter's default when it is `!Ref Parameter`.
    pub stage_name: String,
    pub auth: ApiAuth,
    /// The `MethodSettings` entries that throttle.
    pub throttling: Vec<MethodThrottling>,
    /// `GatewayResponses`: how API Gateway's own answers are customised, by response type
    /// (`UNAUTHORIZED`, `DEFAULT_4XX`, …).
    pub gateway_responses: Vec<GatewayResponse>,
}

/// One entry of `GatewayResponses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    /// The response type (`THROTTLED`, `DEFAULT_5XX`, …).
    pub kind: String,
    /// `StatusCode`, when it overrides the type's default.
    pub status: Option<u16>,
    /// `ResponseParameters.Headers`, the static values unquoted (`'Bearer'` → `Bearer`).
    pub headers: Vec<(String, String)>,
    /// `ResponseTemplates`: content type → mapping template.
    pub templates: Vec<(String, String)>,
}

/// `Auth` of the API: what applies to every route unless the route says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiAuth {
    /// `DefaultAuthorizer`: the name of one of `authorizers`.
    pub default_authorizer: Option<String>,
    /// `ApiKeyRequired` (default false).
    pub api_key_required: bool,
    pub authorizers: Vec<Authorizer>,
}

impl ApiAuth {
    pub fn authorizer(&self, name: &str) -> Option<&Authorizer> {
        self.authorizers.iter().find(|a| a.name == name)
    }
}

/// A Lambda authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    /// Its name under `Auth.Authorizers`.
    pub name: String,
    /// The logical id of the function behind `FunctionArn` (`!GetAtt Function.Arn`).
    pub function: String,
    pub payload_type: PayloadType,
    /// `Identity.Headers` (REQUEST) or `Identity.Header` (TOKEN, default `Authorization`): the
    /// request must carry them, and they key the cached answer.
    pub identity_headers: Vec<String>,
    /// `Identity.QueryStrings` (REQUEST).
    pub identity_query_strings: Vec<String>,
    /// `Identity.ReauthorizeEvery`: seconds an answer is cached; 0 turns caching off.
    pub reauthorize_every: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadType {
    /// SAM's default: the authorizer gets the identity header's value only.
    Token,
    /// The authorizer gets the request's headers, query string, path and context.
    Request,
}

/// A `MethodSettings` entry with throttling.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodThrottling {
    /// `ResourcePath`, `/*` for every resource.
    pub resource_path: String,
    /// `HttpMethod`, `*` for every method.
    pub http_method: String,
    /// `ThrottlingRateLimit`, requests per second.
    pub rate_limit: Option<f64>,
    /// `ThrottlingBurstLimit`.
    pub burst_limit: Option<u64>,
}

/// Parses one API; `properties` has `Globals.Api` merged in already.
pub(crate) fn parse(
    logical_id: &str,
    properties: &Node<'_>,
    parameters: &Parameters,
) -> Result<Api, TemplateError> {
    let stage_name = parameters.text(&properties.required("StageName")?)?;
    let auth = match properties.field("Auth")? {
        Some(auth) => parse_auth(&auth)?,
        None => ApiAuth::default(),
    };
    let mut throttling = Vec::new();
    if let Some(settings) = properties.field("MethodSettings")? {
        for setting in settings.items()? {
            let rate_limit = setting
                .field("ThrottlingRateLimit")?
                .map(|n| n.f64())
                .transpose()?;
            let burst_limit = setting
                .field("ThrottlingBurstLimit")?
                .map(|n| n.u64())
                .transpose()?;
            if rate_limit.is_none() && burst_limit.is_none() {
                continue;
            }
            let text = |key: &str, default: &str| -> Result<String, TemplateError> {
                setting
                    .field(key)?
                    .map_or(Ok(default.to_owned()), |n| parameters.text(&n))
            };
            throttling.push(MethodThrottling {
                resource_path: text("ResourcePath", "/*")?,
                http_method: text("HttpMethod", "*")?,
                rate_limit,
                burst_limit,
            });
        }
    }
    let mut gateway_responses = Vec::new();
    if let Some(responses) = properties.field("GatewayResponses")? {
        for (kind, response) in responses.entries()? {
            gateway_responses.push(parse_gateway_response(kind, &response)?);
        }
    }
    Ok(Api {
        logical_id: logical_id.to_owned(),
        stage_name,
        auth,
        throttling,
        gateway_responses,
    })
}

fn parse_gateway_response(kind: &str, node: &Node<'_>) -> Result<GatewayResponse, TemplateError> {
    let status = match node.field("StatusCode")? {
        None => None,
        Some(code) => {
            let value = code.u64()?;
            match u16::try_from(value) {
                Ok(status) if (100..600).contains(&status) => Some(status),
                _ => return Err(invalid(code.at(), "must be an HTTP status code")),
            }
        }
    };
    let mut headers = Vec::new();
    let parameters = node.field("ResponseParameters")?;
    if let Some(all) = parameters
        .map(|p| p.field("Headers"))
        .transpose()?
        .flatten()
    {
        for (name, value) in all.entries()? {
            let text = value.str()?;
            // Static values are quoted; anything else maps a request value, which the local
            // gateway cannot evaluate.
            let literal = text
                .strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .ok_or_else(|| {
                    invalid(
                        value.at(),
                        "only static ('quoted') header values are supported",
                    )
                })?;
            headers.push((name.to_owned(), literal.to_owned()));
        }
    }
    let mut templates = Vec::new();
    if let Some(all) = node.field("ResponseTemplates")? {
        for (content_type, template) in all.entries()? {
            templates.push((content_type.to_owned(), template.str()?.to_owned()));
        }
    }
    Ok(GatewayResponse {
        kind: kind.to_owned(),
        status,
        headers,
        templates,
    })
}

fn parse_auth(auth: &Node<'_>) -> Result<ApiAuth, TemplateError> {
    let mut authorizers = Vec::new();
    if let Some(all) = auth.field("Authorizers")? {
        for (name, authorizer) in all.entries()? {
            authorizers.push(parse_authorizer(name, &authorizer)?);
        }
    }
    let default_authorizer = match auth.field("DefaultAuthorizer")? {
        None => None,
        Some(node) => {
            let name = node.str()?;
            if name != "AWS_IAM" && !authorizers.iter().any(|a| a.name == name) {
                return Err(invalid(
                    node.at(),
                    format!("`{name}` is not one of Auth.Authorizers"),
                ));
            }
            Some(name.to_owned())
        }
    };
    Ok(ApiAuth {
        default_authorizer,
        api_key_required: auth
            .field("ApiKeyRequired")?
            .map(|b| b.bool())
            .transpose()?
            .unwrap_or(false),
        authorizers,
    })
}

fn parse_authorizer(name: &str, node: &Node<'_>) -> Result<Authorizer, TemplateError> {
    let function = lambda_function(&node.required("FunctionArn")?)?;
    let payload_type = match node.field("FunctionPayloadType")? {
        None => PayloadType::Token,
        Some(kind) => match kind.str()? {
            "TOKEN" => PayloadType::Token,
            "REQUEST" => PayloadType::Request,
            other => {
                return Err(invalid(
                    kind.at(),
                    format!("unknown payload type `{other}` (TOKEN or REQUEST)"),
                ));
            }
        },
    };
    let identity = node.field("Identity")?;
    let list = |key: &str| -> Result<Vec<String>, TemplateError> {
        match identity
            .as_ref()
            .map(|i| i.field(key))
            .transpose()?
            .flatten()
        {
            Some(list) => list.strings(),
            None => Ok(Vec::new()),
        }
    };
    let identity_headers = match payload_type {
        PayloadType::Request => list("Headers")?,
        PayloadType::Token => {
            let header = identity.as_ref().map(|i| i.field("Header")).transpose()?;
            match header.flatten() {
                Some(header) => vec![header.str()?.to_owned()],
                None => vec!["Authorization".to_owned()],
            }
        }
    };
    let reauthorize_every = match identity
        .as_ref()
        .map(|i| i.field("ReauthorizeEvery"))
        .transpose()?
        .flatten()
    {
        None => DEFAULT_REAUTHORIZE_EVERY,
        Some(seconds) => u32::try_from(seconds.u64()?)
            .ok()
            .filter(|s| *s <= 3600)
            .ok_or_else(|| invalid(seconds.at(), "seconds from 0 to 3600"))?,
    };
    Ok(Authorizer {
        name: name.to_owned(),
        function,
        payload_type,
        identity_headers,
        identity_query_strings: list("QueryStrings")?,
        reauthorize_every,
    })
}

/// The function behind an ARN written `!GetAtt Function.Arn`, `!Sub ${Function.Arn}` or
/// `!Ref Function.Alias` (SAM's reference to the alias `AutoPublishAlias` publishes: the gateway
/// calls that alias, which runs the function's code all the same).
fn lambda_function(arn: &Node<'_>) -> Result<String, TemplateError> {
    let function = match arn.value().as_intrinsic() {
        Some(Intrinsic::Ref(name)) => name
            .strip_suffix(".Alias")
            .filter(|name| !name.is_empty() && !name.contains('.')),
        Some(Intrinsic::GetAtt {
            resource,
            attribute,
        }) if attribute == "Arn" => Some(resource.as_str()),
        Some(Intrinsic::Sub {
            template,
            variables,
        }) if variables.is_empty() => template
            .strip_prefix("${")
            .and_then(|rest| rest.strip_suffix(".Arn}"))
            .filter(|name| !name.contains(['$', '{', '}'])),
        _ => None,
    };
    function.map(str::to_owned).ok_or_else(|| {
        invalid(
            arn.at(),
            "expected the ARN of a function of this template (!GetAtt <Function>.Arn or !Ref \
             <Function>.Alias)",
        )
    })
}
