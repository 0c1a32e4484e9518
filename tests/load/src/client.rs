//! A minimal HTTP/1.1 client over ONE keep-alive connection to the gateway on 127.0.0.1: each
//! load worker owns its connections, so "concurrency N" means exactly N open connections.
//!
//! It writes each request with one `write` and reads the answer on the same task, with buffers
//! reused across requests: the generator shares the machine's cores with the gateway it
//! measures, so every cycle it spends is one the gateway does not get. It speaks only what the
//! gateway answers: `Content-Length` bodies, one request in flight (no pipelining).

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hyper::{Method, body::Bytes};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Why a request got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("http: {0}")]
    Protocol(&'static str),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// One answer, with the headers the load driver looks at.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    /// `Idempotent-Replayed: true`: the answer of an earlier request with the same key.
    pub replayed: bool,
    pub body: Bytes,
    pub latency: Duration,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The problem `code`, or the payment `status`, or `id`: a string field of the body.
    pub fn field(&self, name: &str) -> Option<String> {
        self.json()[name].as_str().map(str::to_owned)
    }

    /// A 503 as the contract promises it: problem+json with `Retry-After`.
    pub fn is_clean_unavailable(&self) -> bool {
        self.status == 503
            && self.retry_after.is_some()
            && self
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/problem+json"))
    }
}

/// The most an answer's head may take.
const MAX_HEAD: usize = 64 * 1024;

/// One keep-alive connection, reopened when the server closed it.
pub struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    timeout: Duration,
    host: String,
    /// The request being written and the answer being read, kept between requests.
    out: Vec<u8>,
    input: Vec<u8>,
}

impl Connection {
    /// A connection to `addr` (opened on first use); every request gives up after `timeout`.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        Self {
            addr,
            stream: None,
            timeout,
            host: addr.to_string(),
            out: Vec::with_capacity(1024),
            input: Vec::with_capacity(4096),
        }
    }

    /// Another connection to the same address, with the same timeout (opened on first use).
    pub fn fresh(&self) -> Self {
        Self::new(self.addr, self.timeout)
    }

    /// The open connection, or a new one when there is none or the server has closed it.
    async fn ready(&mut self) -> Result<&mut TcpStream, TransportError> {
        let reusable = self.stream.as_ref().is_some_and(|stream| {
            // Between answers nothing may arrive: readable means closed (or broken).
            matches!(stream.try_read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        });
        if !reusable {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(TransportError::Connect)?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(stream);
        }
        self.stream
            .as_mut()
            .ok_or(TransportError::Protocol("no connection"))
    }

    /// Sends one request and reads the whole answer.
    ///
    /// # Errors
    /// No answer: the connection failed or the answer took longer than the timeout (the
    /// connection is then dropped, never reused).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, TransportError> {
        let started = Instant::now();
        let timeout = self.timeout;
        let result =
            tokio::time::timeout(timeout, self.exchange(&method, path, headers, &body)).await;
        match result {
            Ok(Ok(mut answer)) => {
                answer.latency = started.elapsed();
                Ok(answer)
            }
            Ok(Err(err)) => {
                self.stream = None;
                Err(err)
            }
            Err(_) => {
                self.stream = None;
                Err(TransportError::Timeout(timeout))
            }
        }
    }

    async fn exchange(
        &mut self,
        method: &Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, TransportError> {
        self.write_request(method, path, headers, body);
        let mut out = std::mem::take(&mut self.out);
        let mut input = std::mem::take(&mut self.input);
        let result = async {
            let stream = self.ready().await?;
            stream.write_all(&out).await?;
            read_answer(stream, &mut input, *method == Method::HEAD).await
        }
        .await;
        out.clear();
        input.clear();
        (self.out, self.input) = (out, input);
        let (answer, keep_alive) = result?;
        if !keep_alive {
            self.stream = None;
        }
        Ok(answer)
    }

    /// The request as hyper's client writes it: `host` first, `content-length` when there is a
    /// body or the method carries one.
    fn write_request(
        &mut self,
        method: &Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let out = &mut self.out;
        out.clear();
        for part in [
            method.as_str(),
            " ",
            path,
            " HTTP/1.1\r\nhost: ",
            &self.host,
            "\r\n",
        ] {
            out.extend_from_slice(part.as_bytes());
        }
        for (name, value) in headers {
            for part in [*name, ": ", *value, "\r\n"] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        let carries_body = !matches!(
            method.as_str(),
            "GET" | "HEAD" | "DELETE" | "OPTIONS" | "CONNECT" | "TRACE"
        );
        if !body.is_empty() || carries_body {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(body.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }
}

/// Reads one answer into `input`: the answer, and whether the connection stays open.
async fn read_answer(
    stream: &mut TcpStream,
    input: &mut Vec<u8>,
    head_request: bool,
) -> Result<(Answer, bool), TransportError> {
    let head_len = loop {
        if let Some(at) = input.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if input.len() > MAX_HEAD {
            return Err(TransportError::Protocol("answer head too large"));
        }
        if stream.read_buf(input).await? == 0 {
            return Err(TransportError::Protocol(
                "connection closed before the answer",
            ));
        }
    };
    let head = std::str::from_utf8(&input[..head_len])
        .map_err(|_| TransportError::Protocol("answer head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let (version, rest) = status_line.split_once(' ').unwrap_or_default();
    let status: u16 = rest
        .get(..3)
        .and_then(|code| code.parse().ok())
        .ok_or(TransportError::Protocol("malformed status line"))?;
    let mut keep_alive = version == "HTTP/1.1";
    let (mut length, mut content_type, mut retry_after, mut replayed) = (None, None, None, false);
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or(TransportError::Protocol("malformed header"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| TransportError::Protocol("malformed content-length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(TransportError::Protocol(
                "transfer-encoding is not supported",
            ));
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("retry-after") {
            retry_after = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("idempotent-replayed") {
            replayed = value == "true";
        }
    }
    let bodiless = head_request || status < 200 || status == 204 || status == 304;
    let length = if bodiless {
        0
    } else {
        length.ok_or(TransportError::Protocol("an answer without content-length"))?
    };
    while input.len() < head_len + length {
        if stream.read_buf(input).await? == 0 {
            return Err(TransportError::Protocol(
                "connection closed within the body",
            ));
        }
    }
    if input.len() > head_len + length {
        return Err(TransportError::Protocol("bytes after the answer"));
    }
    let answer = Answer {
        status,
        content_type,
        retry_after,
        replayed,
        body: Bytes::copy_from_slice(&input[head_len..]),
        latency: Duration::ZERO,
    };
    Ok((answer, keep_alive))
}

/// What a caller presents: its API key and, once it has one, its bearer token.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub api_key: String,
    pub bearer: String,
}

impl Credentials {
    /// `POST /v1/oauth/token` (client credentials, Basic auth): fills in `bearer`.
    ///
    /// # Errors
    /// No answer, or an answer without a token (its status and body in the message).
    pub async fn fetch_token(&mut self, conn: &mut Connection) -> Result<(), String> {
        let basic = STANDARD.encode(format!("{}:{}", self.client_id, self.client_secret));
        let answer = conn
            .send(
                Method::POST,
                "/v1/oauth/token",
                &[
                    ("x-api-key", &self.api_key),
                    ("authorization", &format!("Basic {basic}")),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                Bytes::from_static(b"grant_type=client_credentials"),
            )
            .await
            .map_err(|e| format!("token request: {e}"))?;
        match answer.field("access_token") {
            Some(token) if answer.status == 200 => {
                self.bearer = format!("Bearer {token}");
                Ok(())
            }
            _ => Err(format!(
                "token request answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )),
        }
    }
}
