//! The API Gateway Lambda REQUEST authorizer: verifies the bearer token of every API request
//! before any function runs, with the public keys only.
//!
//! - A valid token is allowed on the whole stage (see [`policy`]) with the client id as the
//!   principal and the context `{"client_id": …, "scopes": "<space-separated>"}`, which the
//!   functions read back as their caller; they, not the authorizer, enforce scopes (403), so a
//!   token without scopes is still allowed.
//! - No token, or one that is malformed, expired, for someone else or signed with an unknown
//!   key, fails with exactly `Unauthorized`: the message API Gateway turns into a 401.
//! - Any other failure (keys unreachable, a malformed `methodArn`) is an authorizer failure,
//!   never Allow: the template maps it to 503 with `Retry-After` (`AUTHORIZER_FAILURE`).
//!
//! Each invocation writes one log line: outcome, client and reason, never the token.

pub mod policy;

use std::time::Instant;

use aws_lambda_events::event::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
};
use lambda_runtime::Diagnostic;
use paygate_shared::{
    ClientId,
    auth::{AuthError, CONTEXT_CLIENT_ID, CONTEXT_SCOPES, KeyError, Scopes},
};
use serde_json::json;

/// What the authorizer is built from (and `authorizer_deps_from_env`, its production wiring).
pub use paygate_shared::wiring::AuthorizerDeps;

/// The event API Gateway sends a REQUEST authorizer.
pub type Request = ApiGatewayCustomAuthorizerRequestTypeRequest;
/// The policy answer.
pub type Response = ApiGatewayCustomAuthorizerResponse;

/// Why a request was not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizerError {
    /// No acceptable bearer token. API Gateway answers 401 only for this exact message.
    #[error("Unauthorized")]
    Unauthorized,
    /// The verification keys could not be loaded: an authorizer failure (503 via the template).
    #[error("the verification keys cannot be loaded: {0}")]
    Keys(KeyError),
    /// Not an execute-api method ARN: a misconfiguration, an authorizer failure (503).
    #[error("the methodArn is not an execute-api method ARN")]
    MalformedMethodArn,
}

impl From<AuthorizerError> for Diagnostic {
    fn from(err: AuthorizerError) -> Self {
        let error_type = match err {
            AuthorizerError::Unauthorized => "Unauthorized",
            AuthorizerError::Keys(_) => "KeysUnavailable",
            AuthorizerError::MalformedMethodArn => "MalformedMethodArn",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Decides one request: Allow on the stage for a valid bearer token, else an error.
///
/// # Errors
/// [`AuthorizerError::Unauthorized`] (401) without a valid token; the other variants (503) when
/// the request cannot be decided.
pub async fn authorize(deps: &AuthorizerDeps, event: Request) -> Result<Response, AuthorizerError> {
    let started = Instant::now();
    let request_id = event.request_context.request_id.as_deref().unwrap_or("-");
    let outcome = decide(deps, &event).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    match &outcome {
        Ok(Decision { client_id, .. }) => {
            tracing::info!(request_id, outcome = "allow", client_id = %client_id, latency_ms, "authorize");
        }
        Err(Refusal::Unauthorized(reason)) => {
            tracing::info!(request_id, outcome = "unauthorized", reason = %reason, latency_ms, "authorize");
        }
        Err(Refusal::Failed(err)) => {
            tracing::error!(request_id, outcome = "error", error = %err, latency_ms, "authorize");
        }
    }
    match outcome {
        Ok(decision) => Ok(decision.response),
        Err(Refusal::Unauthorized(_)) => Err(AuthorizerError::Unauthorized),
        Err(Refusal::Failed(err)) => Err(err),
    }
}

struct Decision {
    client_id: ClientId,
    response: Response,
}

/// Why not, with the reason for the log line (the client learns only `Unauthorized`).
enum Refusal {
    Unauthorized(String),
    Failed(AuthorizerError),
}

async fn decide(deps: &AuthorizerDeps, event: &Request) -> Result<Decision, Refusal> {
    let resource = event
        .method_arn
        .as_deref()
        .and_then(policy::stage_wildcard)
        .ok_or(Refusal::Failed(AuthorizerError::MalformedMethodArn))?;
    let token = bearer_token(event)
        .ok_or_else(|| Refusal::Unauthorized("no Authorization: Bearer header".to_owned()))?;
    let claims = deps
        .keys
        .verify(token, &deps.expected, deps.clock.now())
        .await
        .map_err(|err| match err {
            AuthError::Token(err) => Refusal::Unauthorized(err.to_string()),
            AuthError::Keys(err) => Refusal::Failed(AuthorizerError::Keys(err)),
        })?;
    let client_id: ClientId = claims
        .sub
        .parse()
        .map_err(|_| Refusal::Unauthorized("the subject is not a client id".to_owned()))?;
    let scopes: Scopes = claims
        .scopes()
        .map_err(|err| Refusal::Unauthorized(err.to_string()))?;
    let context = json!({
        CONTEXT_CLIENT_ID: client_id.as_str(),
        CONTEXT_SCOPES: scopes.to_string(),
    });
    let response = policy::allow(client_id.to_string(), resource, context);
    Ok(Decision {
        client_id,
        response,
    })
}

/// The token of the `Authorization: Bearer …` header (the header name in any case).
fn bearer_token(event: &Request) -> Option<&str> {
    let value = event
        .headers
        .get(aws_lambda_events::http::header::AUTHORIZATION)
        .or_else(|| {
            event
                .multi_value_headers
                .get(aws_lambda_events::http::header::AUTHORIZATION)
        })?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
