//! Writing responses and the one structured log line per request.

use std::time::Instant;

use lambda_http::{
    Body, Response,
    http::{StatusCode, header},
};
use serde::Serialize;

use super::ApiError;
use crate::error::Chain;

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response<Body>, ApiError> {
    Ok(raw_json(status, json_text(value)?))
}

/// `value` as JSON text; failing to serialise one of our views is our bug.
///
/// # Errors
/// Internal.
pub fn json_text<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

/// A JSON response from an already serialized body (idempotent replays).
pub fn raw_json(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// What one request was, for its log line. Never holds bodies, tokens or secrets.
#[derive(Debug)]
pub struct RequestLog {
    pub request_id: String,
    pub route: &'static str,
    pub client_id: Option<String>,
    started: Instant,
}

impl RequestLog {
    pub fn start(request_id: String) -> Self {
        Self {
            request_id,
            route: "unmatched",
            client_id: None,
            started: Instant::now(),
        }
    }

    /// Turns the outcome into the response and writes the request's one log line. An error
    /// answered with a 5xx is logged there, at ERROR, with its whole chain of causes: the only
    /// place it is logged, while the client gets a generic detail. Client errors are answered
    /// in full and need no more in the log than their status.
    pub fn finish(
        self,
        outcome: Result<Response<Body>, ApiError>,
        round_trips: Option<u64>,
    ) -> Response<Body> {
        let (response, failure) = match outcome {
            Ok(response) => (response, None),
            Err(error) => {
                let problem = error.to_problem(&self.request_id);
                let ours = (problem.status >= 500).then_some(error);
                (problem.into_response(), ours)
            }
        };
        let status = response.status().as_u16();
        let latency_ms = self.started.elapsed().as_secs_f64() * 1e3;
        let client_id = self.client_id.as_deref().unwrap_or("-");
        match failure {
            Some(error) => tracing::error!(
                request_id = %self.request_id,
                route = self.route,
                client_id,
                status,
                latency_ms,
                dynamodb_round_trips = round_trips,
                error = %Chain(&error),
                "request"
            ),
            None => tracing::info!(
                request_id = %self.request_id,
                route = self.route,
                client_id,
                status,
                latency_ms,
                dynamodb_round_trips = round_trips,
                "request"
            ),
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::{AccountError, AccountId, StoreError};

    /// The JSON lines logged while a test runs.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl MakeWriter<'_> for Lines {
        type Writer = Self;

        fn make_writer(&self) -> Self {
            self.clone()
        }
    }

    /// Finishes a request with `outcome`: the response, its body, and every line logged.
    fn finish(outcome: Result<Response<Body>, ApiError>) -> (u16, String, Vec<Value>) {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(lines.clone())
            .finish();
        let response = tracing::subscriber::with_default(subscriber, || {
            RequestLog::start("req-1".to_owned()).finish(outcome, Some(2))
        });
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            other => panic!("a problem is text: {other:?}"),
        };
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let logged = text.lines().map(|l| serde_json::from_str(l).unwrap());
        (response.status().as_u16(), body, logged.collect())
    }

    #[derive(Debug, thiserror::Error)]
    #[error("dispatch failure")]
    struct Dispatch(#[source] io::Error);

    fn refused() -> Dispatch {
        Dispatch(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "connection refused by 10.0.0.7:443",
        ))
    }

    #[test]
    fn a_server_error_is_logged_once_with_its_causes_and_answered_generically() {
        let cases = [
            (
                ApiError::from(StoreError::internal(refused())),
                500,
                "internal store error: dispatch failure: connection refused by 10.0.0.7:443",
            ),
            (
                ApiError::from(StoreError::unavailable(refused())),
                503,
                "the store is unavailable: dispatch failure: connection refused by 10.0.0.7:443",
            ),
            (
                ApiError::unavailable(refused()),
                503,
                "a dependency is unavailable: dispatch failure: connection refused by 10.0.0.7:443",
            ),
        ];
        for (error, status, chain) in cases {
            let (answered, body, lines) = finish(Err(error));
            assert_eq!(answered, status);
            assert!(
                !body.contains("10.0.0.7") && !body.contains("dispatch"),
                "{body}"
            );
            assert_eq!(lines.len(), 1, "one line per request: {lines:?}");
            let line = &lines[0];
            assert_eq!(line["level"], "ERROR");
            assert_eq!(line["fields"]["message"], "request");
            assert_eq!(line["fields"]["request_id"], "req-1");
            assert_eq!(line["fields"]["status"], status);
            assert_eq!(line["fields"]["dynamodb_round_trips"], 2);
            assert_eq!(line["fields"]["error"], chain);
        }
    }

    #[test]
    fn a_client_error_is_logged_by_its_status_alone() {
        let refused = AccountError::InsufficientFunds {
            account: AccountId::from_ulid(ulid::Ulid(7)),
            available: 100,
            requested: 101,
        };
        let (status, body, lines) = finish(Err(refused.into()));
        assert_eq!(status, 422);
        assert!(body.contains("\"code\":\"insufficient_funds\""), "{body}");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["fields"]["status"], 422);
        assert_eq!(lines[0]["fields"].get("error"), None);
    }
}
