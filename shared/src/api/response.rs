//! Writing responses and the one structured log line per request.

use std::time::Instant;

use lambda_http::{
    Body, Response,
    http::{StatusCode, header},
};
use serde::Serialize;

use super::ApiError;

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response<Body>, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(raw_json(status, body))
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

    /// Turns the outcome into the response and writes the request's log line.
    pub fn finish(
        self,
        outcome: Result<Response<Body>, ApiError>,
        round_trips: Option<u64>,
    ) -> Response<Body> {
        let response = outcome.unwrap_or_else(|e| e.into_response(&self.request_id));
        tracing::info!(
            request_id = %self.request_id,
            route = self.route,
            client_id = self.client_id.as_deref().unwrap_or("-"),
            status = response.status().as_u16(),
            latency_ms = self.started.elapsed().as_secs_f64() * 1e3,
            dynamodb_round_trips = round_trips,
            "request"
        );
        response
    }
}
