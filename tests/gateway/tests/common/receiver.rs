//! A webhook receiver on 127.0.0.1 for the notifier's tests: records every request (path,
//! headers, body, when) and answers by path: `/ok` 200; `/flaky` 500 to the first two attempts
//! of each `webhook-id`, then 200; `/fail` always 500.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn webhook_id(&self) -> &str {
        self.headers
            .get("webhook-id")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// The receiver, serving until dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let shared = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let log = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move { Ok::<_, Infallible>(answer(&log, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, log, task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// Waits (up to `seconds`) until `enough` holds for what was received.
    pub async fn until(
        &self,
        seconds: u64,
        what: &str,
        enough: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let received = self.received();
            if enough(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; received: {received:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn answer(
    log: &Mutex<Vec<Received>>,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let at = Instant::now();
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect::<HashMap<_, _>>();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let id = headers.get("webhook-id").cloned().unwrap_or_default();
    let status = {
        let mut log = log.lock().expect("log");
        let earlier = log
            .iter()
            .filter(|r| r.path == path && r.webhook_id() == id)
            .count();
        log.push(Received {
            path: path.clone(),
            headers,
            body,
            at,
        });
        match path.as_str() {
            "/ok" => 200,
            "/flaky" if earlier >= 2 => 200,
            _ => 500,
        }
    };
    let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    response
}
