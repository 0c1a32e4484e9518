//! HTTP/1.1 on a TCP listener: each request read (bodies up to 10 MB), handed to the
//! [`Gateway`], answered with `x-amzn-RequestId`, and logged as one JSON access-log line.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{
    Request, Response,
    body::{Bytes, Incoming as HyperBody},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown};
use tokio::net::TcpListener;

use crate::{
    event::Incoming,
    gateway::{Gateway, MAX_BODY, Outcome},
    reply::{GatewayError, Reply},
    routes::query_pairs,
};

/// Serves `gateway` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        tracing::warn!(error = %err, "accept failed");
                        continue;
                    }
                };
                let gateway = gateway.clone();
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(respond(&gateway, req, peer).await) }
                });
                let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        tracing::debug!(error = %err, "connection closed with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A fresh request id in UUID form.
fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

async fn respond(
    gateway: &Gateway,
    req: Request<HyperBody>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let id = request_id();
    let (parts, body) = req.into_parts();
    let method = parts.method.to_string();
    let full_path = parts.uri.path().to_owned();
    let declared_too_large = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|len| len > MAX_BODY as u64);
    let body = if declared_too_large {
        None
    } else {
        Limited::new(body, MAX_BODY)
            .collect()
            .await
            .ok()
            .map(|b| b.to_bytes().to_vec())
    };
    let (reply, outcome) = match body {
        None => (GatewayError::RequestTooLarge.reply(), Outcome::default()),
        Some(body) => {
            let incoming = Incoming {
                method: method.clone(),
                path: full_path.clone(),
                headers: parts
                    .headers
                    .iter()
                    .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                    .collect(),
                query: parts.uri.query().map(query_pairs).unwrap_or_default(),
                body,
                source_ip: peer.ip().to_string(),
            };
            gateway.handle(&id, incoming).await
        }
    };
    let reply = reply.header("x-amzn-requestid", &id);
    access_log(&id, peer, &method, &full_path, &reply, &outcome, started);
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    *response.headers_mut() = reply.headers;
    response
}

fn access_log(
    id: &str,
    peer: SocketAddr,
    method: &str,
    path: &str,
    reply: &Reply,
    outcome: &Outcome,
    started: Instant,
) {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    tracing::info!(
        target: "paygate_local::access",
        request_id = id,
        ip = %peer.ip(),
        method,
        path,
        status = reply.status.as_u16(),
        response_type = reply.kind,
        latency_ms = started.elapsed().as_secs_f64() * 1e3,
        integration_latency_ms = outcome.integration_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3}")),
        principal = dash(&outcome.principal),
        api_key_id = dash(&outcome.api_key_id),
        "access"
    );
}
