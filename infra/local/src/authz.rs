//! The Lambda REQUEST authorizer as API Gateway runs it: the identity sources must be present
//! (else 401 without a call), the answer's policy is evaluated against the method ARN, and
//! answers are cached per identity value for `ReauthorizeEvery` seconds.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
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

/// The authorizer of one API with its answer cache.
pub struct Authorizers {
    deps: AuthorizerDeps,
    cache: Mutex<HashMap<(String, String), (OffsetDateTime, ApiGatewayCustomAuthorizerResponse)>>,
    invocations: AtomicU64,
}

impl Authorizers {
    pub fn new(deps: AuthorizerDeps) -> Self {
        Self {
            deps,
            cache: Mutex::new(HashMap::new()),
            invocations: AtomicU64::new(0),
        }
    }

    /// How many times the authorizer function ran.
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    /// Decides a request: `identity` holds the values of the authorizer's identity sources
    /// (`None` when one is missing), `event` the REQUEST event.
    pub async fn decide(
        &self,
        authorizer: &Authorizer,
        identity: Option<String>,
        method_arn: &str,
        event: Value,
        now: OffsetDateTime,
    ) -> Verdict {
        let Some(identity) = identity else {
            return Verdict::Unauthorized;
        };
        let key = (authorizer.name.clone(), identity);
        let ttl = Duration::seconds(i64::from(authorizer.reauthorize_every));
        let cached = (ttl > Duration::ZERO)
            .then(|| {
                let cache = self.cache.lock().expect("authorizer cache");
                cache
                    .get(&key)
                    .filter(|(at, _)| now < *at + ttl)
                    .map(|(_, answer)| answer.clone())
            })
            .flatten();
        let answer = match cached {
            Some(answer) => answer,
            None => {
                self.invocations.fetch_add(1, Ordering::Relaxed);
                let Ok(request) = serde_json::from_value(event) else {
                    return Verdict::Failed;
                };
                match authorize(&self.deps, request).await {
                    Ok(answer) => {
                        if ttl > Duration::ZERO {
                            let mut cache = self.cache.lock().expect("authorizer cache");
                            cache.retain(|_, (at, _)| now < *at + ttl);
                            cache.insert(key, (now, answer.clone()));
                        }
                        answer
                    }
                    Err(AuthorizerError::Unauthorized) => return Verdict::Unauthorized,
                    Err(_) => return Verdict::Failed,
                }
            }
        };
        evaluate(&answer, method_arn)
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
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
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
    p[pi..].iter().all(|c| *c == '*')
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
