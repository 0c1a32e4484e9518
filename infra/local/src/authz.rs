//! The Lambda REQUEST authorizer as API Gateway runs it: the identity sources must be present
//! (else 401 without a call), the answer's policy is evaluated against the method ARN, and
//! answers are cached per identity value for `ReauthorizeEvery` seconds.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use aws_lambda_events::{
    apigw::ApiGatewayCustomAuthorizerResponse,
    iam::{IamPolicyEffect, IamPolicyStatement},
};
use paygate_authorizer::{AuthorizerDeps, AuthorizerError, authorize};
use paygate_template::Authorizer;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::upstream::{InvokeError, Upstream};

/// The binary of the Lambda authorizer (the gateway refuses templates naming another).
pub const AUTHORIZER_BINARY: &str = "authorizer";

/// What the authorizer decided, as the gateway acts on it.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Allowed: the principal and the context handed to the function.
    Allow {
        principal: String,
        context: Map<String, Value>,
    },
    /// 401 `Unauthorized`.
    Unauthorized,
    /// 403 `User is not authorized to access this resource`.
    Denied,
    /// 503: the authorizer failed.
    Failed,
}

/// A cached answer: when it was given, and the answer (shared, not copied, on each hit).
type CachedAnswer = (OffsetDateTime, Arc<ApiGatewayCustomAuthorizerResponse>);

/// The authorizer of one API with its answer cache.
pub struct Authorizers {
    deps: AuthorizerDeps,
    upstream: Option<Upstream>,
    /// Answers by authorizer name, then by identity value.
    cache: Mutex<HashMap<String, HashMap<String, CachedAnswer>>>,
    invocations: AtomicU64,
}

impl Authorizers {
    /// Runs the authorizer in-process on `deps`, or posts its events to `upstream`.
    pub fn new(deps: AuthorizerDeps, upstream: Option<Upstream>) -> Self {
        Self {
            deps,
            upstream,
            cache: Mutex::new(HashMap::new()),
            invocations: AtomicU64::new(0),
        }
    }

    /// How many times the authorizer function ran.
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    /// Decides a request: `identity` holds the values of the authorizer's identity sources
    /// (`None` when one is missing), `event` builds the REQUEST event, only when the
    /// authorizer has to run (a cached answer needs none).
    pub async fn decide(
        &self,
        authorizer: &Authorizer,
        identity: Option<String>,
        method_arn: &str,
        event: impl FnOnce() -> Value,
        now: OffsetDateTime,
    ) -> Verdict {
        let Some(identity) = identity else {
            return Verdict::Unauthorized;
        };
        let ttl = Duration::seconds(i64::from(authorizer.reauthorize_every));
        let cached = (ttl > Duration::ZERO)
            .then(|| {
                let cache = self.cache.lock().expect("authorizer cache");
                cache
                    .get(&authorizer.name)
                    .and_then(|answers| answers.get(&identity))
                    .filter(|(at, _)| now < *at + ttl)
                    .map(|(_, answer)| answer.clone())
            })
            .flatten();
        let answer = match cached {
            Some(answer) => answer,
            None => {
                self.invocations.fetch_add(1, Ordering::Relaxed);
                match self.run(event()).await {
                    Ok(answer) => {
                        let answer = Arc::new(answer);
                        if ttl > Duration::ZERO {
                            let mut cache = self.cache.lock().expect("authorizer cache");
                            let answers = cache.entry(authorizer.name.clone()).or_default();
                            answers.retain(|_, (at, _)| now < *at + ttl);
                            answers.insert(identity, (now, answer.clone()));
                        }
                        answer
                    }
                    Err(verdict) => return verdict,
                }
            }
        };
        evaluate(&answer, method_arn)
    }
}

impl Authorizers {
    /// One run of the authorizer function: its answer, or the verdict its failure means
    /// (API Gateway answers 401 only for the exact error message `Unauthorized`).
    async fn run(&self, event: Value) -> Result<ApiGatewayCustomAuthorizerResponse, Verdict> {
        // An authorizer that does not answer within the integration timeout has failed.
        tokio::time::timeout(crate::gateway::INTEGRATION_TIMEOUT, self.run_once(event))
            .await
            .unwrap_or_else(|_| {
                tracing::warn!("the authorizer timed out");
                Err(Verdict::Failed)
            })
    }

    async fn run_once(&self, event: Value) -> Result<ApiGatewayCustomAuthorizerResponse, Verdict> {
        match &self.upstream {
            None => {
                let request = serde_json::from_value(event).map_err(|_| Verdict::Failed)?;
                authorize(&self.deps, request).await.map_err(|e| match e {
                    AuthorizerError::Unauthorized => Verdict::Unauthorized,
                    _ => Verdict::Failed,
                })
            }
            Some(upstream) => match upstream.invoke(AUTHORIZER_BINARY, &event).await {
                Ok(answer) => serde_json::from_value(answer).map_err(|_| Verdict::Failed),
                Err(InvokeError::Function { message }) if message == "Unauthorized" => {
                    Err(Verdict::Unauthorized)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the authorizer failed");
                    Err(Verdict::Failed)
                }
            },
        }
    }
}

/// Applies an answer's policy to `method_arn`: an explicit Deny wins, then an Allow, else deny.
pub fn evaluate(answer: &ApiGatewayCustomAuthorizerResponse, method_arn: &str) -> Verdict {
    let applies = |s: &IamPolicyStatement| {
        s.action.iter().any(|a| {
            ["execute-api:Invoke", "execute-api:*", "*"]
                .iter()
                .any(|want| a.eq_ignore_ascii_case(want))
        }) && s.resource.iter().any(|r| glob(r, method_arn))
    };
    let statements = &answer.policy_document.statement;
    let denied = statements
        .iter()
        .any(|s| s.effect == IamPolicyEffect::Deny && applies(s));
    let allowed = statements
        .iter()
        .any(|s| s.effect == IamPolicyEffect::Allow && applies(s));
    if denied || !allowed {
        return Verdict::Denied;
    }
    let context = match &answer.context {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    Verdict::Allow {
        principal: answer.principal_id.clone().unwrap_or_default(),
        context,
    }
}

/// IAM resource matching: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    // Method ARNs are ASCII: bytes are characters, and nothing needs collecting.
    if pattern.is_ascii() && text.is_ascii() {
        glob_over(pattern.as_bytes(), text.as_bytes())
    } else {
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        glob_over(&p, &t)
    }
}

fn glob_over<T: Copy + PartialEq + From<u8>>(p: &[T], t: &[T]) -> bool {
    let (any_run, any_one) = (T::from(b'*'), T::from(b'?'));
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any_one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any_run {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == any_run)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_like_iam() {
        let arn = "arn:aws:execute-api:local:123456789012:abc/v1/GET/accounts/a/balance";
        assert!(glob(
            "arn:aws:execute-api:local:123456789012:abc/v1/*/*",
            arn
        ));
        assert!(glob("*", arn));
        assert!(!glob(
            "arn:aws:execute-api:local:123456789012:abc/v2/*/*",
            arn
        ));
        assert!(glob(
            "arn:aws:execute-api:local:123456789012:abc/v1/GE?/*",
            arn
        ));
        assert!(!glob(
            "arn:aws:execute-api:local:123456789012:abc/v1/POST/*",
            arn
        ));
        // `?` is one character, not one byte.
        assert!(glob("a/?/b*", "a/é/b"));
        assert!(!glob("a/?/b", "a/éé/b"));
    }
}

#[cfg(test)]
mod policy_tests {
    use aws_lambda_events::{
        apigw::{ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse},
        iam::{IamPolicyEffect, IamPolicyStatement},
    };

    use super::{Verdict, evaluate};

    fn answer(statements: &[(IamPolicyEffect, &str)]) -> ApiGatewayCustomAuthorizerResponse {
        let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
        for (effect, resource) in statements {
            let mut statement = IamPolicyStatement::default();
            statement.action = vec!["execute-api:Invoke".to_owned()];
            statement.effect = effect.clone();
            statement.resource = vec![(*resource).to_owned()];
            policy.statement.push(statement);
        }
        let mut answer = ApiGatewayCustomAuthorizerResponse::default();
        answer.principal_id = Some("cli_1".to_owned());
        answer.policy_document = policy;
        answer.context = serde_json::json!({"client_id": "cli_1"});
        answer
    }

    #[test]
    fn deny_wins_and_no_match_denies() {
        let arn = "arn:aws:execute-api:local:123456789012:api/v1/GET/payments/p";
        let stage = "arn:aws:execute-api:local:123456789012:api/v1/*/*";
        let allow = evaluate(&answer(&[(IamPolicyEffect::Allow, stage)]), arn);
        assert!(
            matches!(allow, Verdict::Allow { ref principal, ref context }
            if principal == "cli_1" && context["client_id"] == "cli_1")
        );
        let deny = answer(&[
            (IamPolicyEffect::Allow, stage),
            (IamPolicyEffect::Deny, arn),
        ]);
        assert!(matches!(evaluate(&deny, arn), Verdict::Denied));
        let elsewhere = "arn:aws:execute-api:local:123456789012:api/v1/POST/*";
        let other = answer(&[(IamPolicyEffect::Allow, elsewhere)]);
        assert!(matches!(evaluate(&other, arn), Verdict::Denied));
    }
}
