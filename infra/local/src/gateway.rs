//! The gateway: one request through stage, AWS WAF's rate-based rule, route, authorizer, API
//! key and usage plan to the function, exactly in AWS's order, with everything taken from the
//! template.

use std::{collections::HashMap, time::Instant};

use paygate_template::{Api, Route, Template, Throttle, UsagePlan};
use serde_json::{Map, Value};

use crate::{
    authz::{Authorizers, Verdict},
    backend::{Backend, Functions},
    event::{self, Context, Incoming},
    limits::{self, Limiter, Refusal},
    reply::{GatewayError, GatewayResponses, Reply},
    routes,
    upstream::proxy_reply,
    waf::Waf,
};

/// Integration timeout of API Gateway REST APIs.
pub const INTEGRATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(29);
/// The largest request payload API Gateway accepts.
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// The API id in method ARNs and request contexts.
pub const API_ID: &str = "paygatelocal";

/// Why a gateway cannot be built or a key not added.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the template has no AWS::Serverless::Api")]
    NoApi,
    #[error(
        "route {method} {path}: function `{function}` cannot be run in-process (use --upstream)"
    )]
    UnknownFunction {
        method: String,
        path: String,
        function: String,
    },
    #[error("the authorizer `{0}` is not a function the local gateway can run")]
    UnknownAuthorizer(String),
    #[error("no usage plan `{0}` in the template")]
    UnknownPlan(String),
}

struct ApiKey {
    id: String,
    plan: String,
}

/// API Gateway, emulated.
pub struct Gateway {
    api: Api,
    routes: Vec<Route>,
    /// The stage's method throttle of each route (by index), with its bucket; resolved once,
    /// except for `ANY` routes, whose method is the request's.
    method_throttles: Vec<Option<(Throttle, String)>>,
    plans: Vec<UsagePlan>,
    keys: HashMap<String, ApiKey>,
    limiter: Limiter,
    /// The stage's web ACL: its rate-based rules per source IP.
    waf: Waf,
    authorizers: Authorizers,
    functions: Functions,
    backend: Backend,
    schedules: Vec<paygate_template::Schedule>,
    responses: GatewayResponses,
    integration_timeout: std::time::Duration,
}

/// What the gateway learned about a request, for the access log.
#[derive(Default)]
pub struct Outcome {
    pub principal: Option<String>,
    pub api_key_id: Option<String>,
    pub integration_ms: Option<f64>,
}

impl Gateway {
    /// The gateway of `template`'s API, running its functions on `backend`.
    ///
    /// # Errors
    /// When the template has no API, or names functions this build cannot run.
    pub fn new(template: &Template, backend: Backend) -> Result<Self, SetupError> {
        let api = template.api().ok_or(SetupError::NoApi)?.clone();
        let routes = routes::of_api(template);
        for route in &routes {
            let runnable = if backend.upstream.is_some() {
                route.binary.is_some()
            } else {
                route.binary.as_deref().is_some_and(Functions::serves)
            };
            if !runnable {
                return Err(SetupError::UnknownFunction {
                    method: route.method.clone(),
                    path: route.path.clone(),
                    function: route.function.clone(),
                });
            }
        }
        for authorizer in &api.auth.authorizers {
            let binary = template
                .function(&authorizer.function)
                .and_then(|f| f.binary.as_deref());
            if binary != Some(crate::authz::AUTHORIZER_BINARY) {
                return Err(SetupError::UnknownAuthorizer(authorizer.name.clone()));
            }
        }
        let method_throttles = routes
            .iter()
            .map(|route| {
                (route.method != "ANY")
                    .then(|| limits::method_throttle(&api.throttling, &route.method, &route.path))
                    .flatten()
                    .map(|throttle| (throttle, method_bucket(&route.method, &route.path)))
            })
            .collect();
        Ok(Self {
            routes,
            method_throttles,
            plans: template.usage_plans().to_vec(),
            keys: HashMap::new(),
            limiter: Limiter::default(),
            waf: Waf::of_template(template),
            authorizers: Authorizers::new(backend.authorizer_deps(), backend.upstream.clone()),
            functions: backend.functions(),
            backend,
            schedules: template.schedules().to_vec(),
            responses: GatewayResponses::new(api.gateway_responses.clone()),
            integration_timeout: INTEGRATION_TIMEOUT,
            api,
        })
    }

    /// The logical ids of the template's usage plans.
    pub fn plan_ids(&self) -> Vec<String> {
        self.plans.iter().map(|p| p.logical_id.clone()).collect()
    }

    /// The gateway's own answer for `error`, as the template's `GatewayResponses` shape it.
    pub fn error_reply(&self, error: GatewayError, request_id: &str) -> Reply {
        self.responses.reply(error, request_id)
    }

    /// The template's scheduled events.
    pub fn schedules(&self) -> &[paygate_template::Schedule] {
        &self.schedules
    }

    /// Gives up on an integration after `timeout` (API Gateway: 29 s) with a 504.
    pub fn set_integration_timeout(&mut self, timeout: std::time::Duration) {
        self.integration_timeout = timeout;
    }

    /// Accepts `value` in `x-api-key`, as the key `id` of the usage plan with this logical id.
    ///
    /// # Errors
    /// When the template has no such usage plan.
    pub fn add_api_key(&mut self, id: &str, value: &str, plan: &str) -> Result<(), SetupError> {
        if !self.plans.iter().any(|p| p.logical_id == plan) {
            return Err(SetupError::UnknownPlan(plan.to_owned()));
        }
        let key = ApiKey {
            id: id.to_owned(),
            plan: plan.to_owned(),
        };
        self.keys.insert(value.to_owned(), key);
        Ok(())
    }

    pub fn stage(&self) -> &str {
        &self.api.stage_name
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// How many times the Lambda authorizer ran.
    pub fn authorizer_invocations(&self) -> u64 {
        self.authorizers.invocations()
    }

    /// Serves one request; `req.path` is the full path, with the stage (`/v1/payments`).
    pub async fn handle(&self, request_id: &str, req: Incoming) -> (Reply, Outcome) {
        let mut outcome = Outcome::default();
        let reply = match self.serve(request_id, req, &mut outcome).await {
            Ok(reply) => reply,
            Err(err) => self.error_reply(err, request_id),
        };
        (reply, outcome)
    }

    async fn serve(
        &self,
        request_id: &str,
        mut req: Incoming,
        outcome: &mut Outcome,
    ) -> Result<Reply, GatewayError> {
        let stage = self.api.stage_name.as_str();
        let path = req
            .path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(stage))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .ok_or(GatewayError::MissingAuthenticationToken)?;
        req.path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        let now = self.backend.clock.now();

        // 0. AWS WAF, which sees every request to the stage before API Gateway does.
        self.waf
            .admit(&req.source_ip, now)
            .map_err(|_| GatewayError::WafFiltered)?;

        let matched = routes::find(
            &self.routes,
            &req.method,
            &routes::percent_decode(&req.path),
        )
        .ok_or(GatewayError::MissingAuthenticationToken)?;
        let route = matched.route;
        let key_value = req.header("x-api-key");
        let key = key_value.and_then(|v| self.keys.get(v));
        let mut ctx = Context {
            request_id,
            api_id: API_ID,
            stage,
            resource: &route.path,
            path_parameters: &matched.params,
            api_key: None,
            api_key_id: None,
            received: now,
        };
        if route.api_key_required {
            ctx.api_key = key_value;
            ctx.api_key_id = key.map(|k| k.id.as_str());
        }

        // 1. The authorizer.
        let mut allowed: Option<(String, Map<String, Value>)> = None;
        if let Some(name) = &route.authorizer {
            let authorizer = self
                .api
                .auth
                .authorizer(name)
                .ok_or(GatewayError::AuthorizerFailure)?;
            let identity: Option<Vec<&str>> = authorizer
                .identity_headers
                .iter()
                .map(|h| req.header(h).filter(|v| !v.is_empty()))
                .chain(authorizer.identity_query_strings.iter().map(|q| {
                    req.query
                        .iter()
                        .find(|(n, v)| n == q && !v.is_empty())
                        .map(|(_, v)| v.as_str())
                }))
                .collect();
            let identity = identity.map(|values| values.join("\u{0}"));
            let arn = event::method_arn(&ctx, &req);
            let auth_event = || event::authorizer_event(&ctx, &req);
            match self
                .authorizers
                .decide(authorizer, identity, &arn, auth_event, now)
                .await
            {
                Verdict::Allow { principal, context } => {
                    outcome.principal = Some(principal.clone());
                    allowed = Some((principal, context));
                }
                Verdict::Unauthorized => return Err(GatewayError::Unauthorized),
                Verdict::Denied => return Err(GatewayError::AccessDenied),
                Verdict::Failed => return Err(GatewayError::AuthorizerFailure),
            }
        }

        // 2. The API key and its usage plan.
        if route.api_key_required {
            let key = key.ok_or(GatewayError::Forbidden)?;
            outcome.api_key_id = Some(key.id.clone());
            let plan = self
                .plans
                .iter()
                .find(|p| p.logical_id == key.plan)
                .filter(|p| {
                    p.api_stages.iter().any(|s| {
                        s.api == self.api.logical_id
                            && s.stage.as_deref().is_none_or(|st| st == stage)
                    })
                })
                .ok_or(GatewayError::Forbidden)?;
            let key_value = key_value.unwrap_or_default();
            self.limiter
                .admit(key_value, plan.throttle.as_ref(), plan.quota.as_ref(), now)
                .map_err(|refusal| match refusal {
                    Refusal::Throttled => GatewayError::Throttled,
                    Refusal::QuotaExceeded => GatewayError::QuotaExceeded,
                })?;
        }

        // 3. The stage's own per-method throttle (`MethodSettings`), shared by every caller.
        let throttled = match &self.method_throttles[matched.index] {
            Some((throttle, bucket)) => self.limiter.admit(bucket, Some(throttle), None, now),
            None if route.method == "ANY" => {
                match limits::method_throttle(&self.api.throttling, &req.method, &route.path) {
                    Some(throttle) => {
                        let bucket = method_bucket(&req.method, &route.path);
                        self.limiter.admit(&bucket, Some(&throttle), None, now)
                    }
                    None => Ok(()),
                }
            }
            None => Ok(()),
        };
        throttled.map_err(|_| GatewayError::Throttled)?;

        // 4. The integration.
        let authorizer = allowed.as_ref().map(|(p, c)| (p.as_str(), c));
        let proxy = event::proxy_event(&ctx, &req, authorizer);
        let binary = route.binary.as_deref().unwrap_or_default();
        let started = Instant::now();
        let integration = async {
            match &self.backend.upstream {
                None => {
                    let request = event::proxy_request(proxy)
                        .map_err(|_| GatewayError::IntegrationFailure)?;
                    let response = self
                        .functions
                        .invoke(binary, request)
                        .await
                        .ok_or(GatewayError::IntegrationFailure)?;
                    Ok(Reply::from_function(response))
                }
                Some(upstream) => {
                    let result = upstream.invoke(binary, &proxy).await.map_err(|err| {
                        tracing::warn!(function = binary, error = %err, "integration failed");
                        GatewayError::IntegrationFailure
                    })?;
                    proxy_reply(&result).ok_or_else(|| {
                        tracing::warn!(
                            function = binary,
                            "the function's answer is not a proxy result"
                        );
                        GatewayError::IntegrationFailure
                    })
                }
            }
        };
        let reply = tokio::time::timeout(self.integration_timeout, integration)
            .await
            .map_err(|_| GatewayError::IntegrationTimeout)??;
        outcome.integration_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        Ok(reply)
    }
}

/// The limiter bucket of the stage's throttle for one method of one resource.
fn method_bucket(method: &str, resource: &str) -> String {
    format!("method {method} {resource}")
}
