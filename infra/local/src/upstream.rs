//! `--upstream cargo-lambda=URL`: the functions run as their own processes under
//! `cargo lambda watch`, and the gateway posts them the same events it would hand them
//! in-process, on the Lambda Invoke API path (`/2015-03-31/functions/<name>/invocations`).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use http_body_util::{BodyExt, Full};
use hyper::{Request, body::Bytes};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use crate::reply::Reply;

/// How a function invocation went wrong.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("the upstream cannot be reached: {0}")]
    Unreachable(String),
    /// The function ran and failed (`errorType`/`errorMessage`), as Lambda reports it.
    #[error("the function failed: {message}")]
    Function { message: String },
    #[error("the upstream answered something that is not a function result: {0}")]
    Malformed(String),
}

/// A `cargo lambda watch` (or any Lambda Invoke API) endpoint.
#[derive(Clone)]
pub struct Upstream {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("base", &self.base)
            .finish()
    }
}

impl Upstream {
    /// `cargo-lambda=http://127.0.0.1:9000` (the only kind there is).
    ///
    /// # Errors
    /// A message naming what is wrong with `spec`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let url = spec.strip_prefix("cargo-lambda=").ok_or_else(|| {
            format!("--upstream takes cargo-lambda=URL (e.g. cargo-lambda=http://127.0.0.1:9000), not `{spec}`")
        })?;
        if !url.starts_with("http://") {
            return Err(format!(
                "the cargo-lambda URL must start with http:// (`{url}`)"
            ));
        }
        Ok(Self::new(url))
    }

    /// The Invoke API at `base` (`http://127.0.0.1:9000`).
    pub fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Self {
            base: base.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Invokes `function` with `event` and returns its result.
    ///
    /// # Errors
    /// [`InvokeError`]: unreachable, the function failed, or an answer that is not JSON.
    pub async fn invoke(&self, function: &str, event: &Value) -> Result<Value, InvokeError> {
        let request = Request::post(format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.base
        ))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(event.to_string())))
        .map_err(|e| InvokeError::Unreachable(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| InvokeError::Unreachable(e.to_string()))?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| InvokeError::Unreachable(e.to_string()))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&body).map_err(|_| {
            InvokeError::Malformed(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ))
        })?;
        let reported = value.get("errorMessage").and_then(Value::as_str);
        if function_error || !status.is_success() || reported.is_some() {
            return Err(InvokeError::Function {
                message: reported.unwrap_or("unknown error").to_owned(),
            });
        }
        Ok(value)
    }
}

/// A REST v1 proxy integration's result (`statusCode`, `headers`, `multiValueHeaders`, `body`,
/// `isBase64Encoded`) as the gateway's answer; `None` when it is not one (API Gateway answers
/// 502 then).
pub fn proxy_reply(result: &Value) -> Option<Reply> {
    let status = result.get("statusCode")?.as_u64()?;
    let status = StatusCode::from_u16(u16::try_from(status).ok()?).ok()?;
    let mut headers = HeaderMap::new();
    if let Some(map) = result.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in map {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            for value in values.as_array()? {
                headers.append(&name, HeaderValue::from_str(value.as_str()?).ok()?);
            }
        }
    }
    if let Some(map) = result.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            headers.insert(name, HeaderValue::from_str(value.as_str()?).ok()?);
        }
    }
    let text = match result.get("body") {
        None | Some(Value::Null) => "",
        Some(body) => body.as_str()?,
    };
    let base64 = result
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = if base64 {
        STANDARD.decode(text).ok()?
    } else {
        text.as_bytes().to_vec()
    };
    Some(Reply {
        status,
        headers,
        body,
        kind: "-",
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Upstream, proxy_reply};

    #[test]
    fn proxy_results_become_answers() {
        let reply = proxy_reply(&json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": "{\"id\":1}",
            "isBase64Encoded": false
        }))
        .expect("a proxy result");
        assert_eq!(reply.status, 201);
        assert_eq!(reply.headers["content-type"], "application/json");
        assert_eq!(reply.headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(reply.body, b"{\"id\":1}");

        let binary =
            proxy_reply(&json!({"statusCode": 200, "body": "AAEC", "isBase64Encoded": true}))
                .expect("base64");
        assert_eq!(binary.body, vec![0, 1, 2]);
        assert!(proxy_reply(&json!({"statusCode": 99})).is_none());
        assert!(proxy_reply(&json!({"body": "x"})).is_none());
        assert!(proxy_reply(&json!({"statusCode": 200, "body": 5})).is_none());
    }

    #[test]
    fn the_upstream_spec_names_cargo_lambda() {
        assert_eq!(
            Upstream::parse("cargo-lambda=http://127.0.0.1:9000/")
                .expect("valid")
                .base(),
            "http://127.0.0.1:9000"
        );
        assert!(Upstream::parse("http://127.0.0.1:9000").is_err());
        assert!(Upstream::parse("cargo-lambda=127.0.0.1:9000").is_err());
    }
}
