//! An HTTP client wrapper that records every DynamoDB call a store makes: the operation (from
//! `X-Amz-Target`), the JSON request and the JSON response. Installed through the `SdkConfig`
//! handed to `DynamoStore::new`, so the store itself is measured unchanged.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use aws_smithy_types::{body::SdkBody, byte_stream::ByteStream};
use serde_json::Value;

/// One DynamoDB HTTP attempt.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GetItem`, `BatchGetItem`, `Query`, `TransactWriteItems`, ...
    pub operation: String,
    pub request: Value,
    pub response: Value,
}

/// The calls recorded so far; clones share them.
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<Call>>>);

impl Calls {
    /// Everything recorded since the last `take`.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn push(&self, call: Call) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }
}

/// Wraps the HTTP client of an `SdkConfig`.
#[derive(Debug)]
pub struct Recording {
    pub inner: SharedHttpClient,
    pub calls: Calls,
}

impl HttpClient for Recording {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
            calls: self.calls.clone(),
        })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    calls: Calls,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("?")
            .to_owned();
        let body = json(request.body().bytes().unwrap_or_default());
        let inner = self.inner.clone();
        let calls = self.calls.clone();
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            // Buffered and put back: the SDK parses the same bytes it would have streamed.
            let bytes = ByteStream::new(response.take_body())
                .collect()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?
                .to_vec();
            calls.push(Call {
                operation,
                request: body,
                response: json(&bytes),
            });
            *response.body_mut() = SdkBody::from(bytes);
            Ok(response)
        })
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}
