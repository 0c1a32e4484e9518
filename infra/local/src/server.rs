//! HTTP/1.1 on a TCP listener: each request read (bodies up to 10 MB), handed to the
//! [`Gateway`], answered with `x-amzn-RequestId`, and logged as one JSON access-log line.

use std::{
    convert::Infallible,
    future::Future,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{
    Request, Response,
    body::{Bytes, Incoming as HyperBody},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
};
use tokio_rustls::TlsAcceptor;

use crate::{
    event::Incoming,
    gateway::{Gateway, MAX_BODY, Outcome},
    reply::{GatewayError, Reply},
    routes::query_pairs,
};

/// Serves `gateway` on `listener` (plain HTTP) until `shutdown` completes, then lets open
/// requests finish.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(gateway, listener, None, shutdown).await
}

/// As [`serve`], over TLS (`--tls`).
pub async fn serve_tls(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(gateway, listener, Some(acceptor), shutdown).await
}

/// A gateway served in the background on a free port of 127.0.0.1, for tests and benchmarks.
/// Dropping it stops accepting connections; [`Background::shutdown`] also waits for open
/// requests to finish.
pub struct Background {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Background {
    /// Binds a free port and starts serving `gateway` on it.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(gateway: Arc<Gateway>) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(gateway, listener, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits up to `grace` for open requests to finish.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(grace, task).await;
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve_with(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // Shutdown: `stop` tells every connection to finish its request in flight and close;
    // each connection task holds a clone of `done`, so `finished` yields once all have.
    let (stop, stopping) = watch::channel(false);
    let (done, mut finished) = mpsc::channel::<()>(1);
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
                let _ = stream.set_nodelay(true);
                let gateway = gateway.clone();
                // Written once per connection, not once per request.
                let source_ip: Arc<str> = peer.ip().to_string().into();
                let service = service_fn(move |req| {
                    let (gateway, source_ip) = (gateway.clone(), source_ip.clone());
                    async move {
                        Ok::<_, Infallible>(respond(&gateway, req, peer, &source_ip).await)
                    }
                });
                let (tls, done, mut stopping) = (tls.clone(), done.clone(), stopping.clone());
                tokio::spawn(async move {
                    let _done = done;
                    match tls {
                        None => drive(TokioIo::new(stream), service, &mut stopping).await,
                        Some(acceptor) => {
                            let handshake = tokio::select! {
                                handshake = acceptor.accept(stream) => handshake,
                                _ = stopping.changed() => return,
                            };
                            match handshake {
                                Ok(stream) => drive(TokioIo::new(stream), service, &mut stopping).await,
                                Err(err) => tracing::debug!(error = %err, "TLS handshake failed"),
                            }
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop.send(true);
    drop(done);
    let _ = finished.recv().await;
    Ok(())
}

/// Serves one connection until it closes, or until `stopping` changes: then the request in
/// flight is answered and the connection closed.
async fn drive<I, S>(io: I, service: S, stopping: &mut watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<HyperBody, ResBody = Full<Bytes>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stopping.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "connection closed with an error");
    }
}

/// How much of a too-large chunked body is read (and dropped) before the 413, so that a client
/// still sending it reads the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 4 * MAX_BODY;

/// The body, or `None` past [`MAX_BODY`] (or when the client broke off).
async fn read_body(mut body: HyperBody) -> Option<Vec<u8>> {
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > DRAIN_LIMIT {
            return None;
        }
        if total <= MAX_BODY {
            kept.extend_from_slice(&data);
        }
    }
    (total <= MAX_BODY).then_some(kept)
}

/// A fresh request id in UUID form.
pub fn request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes: [u8; 16] = rand::random();
    let mut id = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        // 8-4-4-4-12 hex digits: a dash before bytes 4, 6, 8 and 10.
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

async fn respond(
    gateway: &Gateway,
    req: Request<HyperBody>,
    peer: SocketAddr,
    source_ip: &str,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let id = request_id();
    let (parts, body) = req.into_parts();
    let method = parts.method.to_string();
    let full_path = parts.uri.path().to_owned();
    // Refused on the declared length before the body is sent (a client that asked
    // `Expect: 100-continue` gets the 413 instead of the go-ahead); a chunked body is read up
    // to the limit.
    let declared_too_large = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|len| len > MAX_BODY as u64);
    let body = if declared_too_large {
        None
    } else {
        read_body(body).await
    };
    let (reply, outcome) = match body {
        None => (
            gateway.error_reply(GatewayError::RequestTooLarge, &id),
            Outcome::default(),
        ),
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
                source_ip: source_ip.to_owned(),
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

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_lowercase_uuids() {
        let id = request_id();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert_ne!(request_id(), id);
    }
}
