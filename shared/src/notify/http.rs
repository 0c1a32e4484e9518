//! The outbound webhook POST. One short-lived HTTP/1.1 connection per attempt, made to exactly
//! the addresses [`UrlPolicy::resolve`] just checked (so a host re-pointed at a private address
//! after the check is never reached), over TLS with the URL's host as SNI and certificate name
//! (rustls on *ring*, like the SDK client in `crate::aws`). Everything — resolution, connect,
//! TLS, the request and the answer — fits in one total timeout; redirects are answers like any
//! other (never followed); at most [`MAX_ANSWER`] bytes of the answer are read.
//!
//! The request is written by hand: its few headers are built from validated parts (the URL's
//! checked syntax, ids, digits, base64), so nothing a client registered can inject a header.

mod answer;

use std::{fmt, net::SocketAddr, sync::Arc, time::Duration};

use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{DnsName, ServerName},
};
use time::OffsetDateTime;
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

pub use answer::{Answer, MAX_ANSWER, MAX_RETRY_AFTER};
use answer::{ReadError, read_answer};

use super::ssrf::{Scheme, UrlError, UrlPolicy, WebhookUrl};

/// A receiver has this long, from resolution to the answer's head, to answer an attempt.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting to one of several addresses gives up after this long and tries the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);

/// One signed webhook request.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// `webhook-id`: the event id.
    pub id: &'a str,
    /// `webhook-timestamp`: Unix seconds of this attempt.
    pub timestamp: i64,
    /// `webhook-signature`: see [`super::signing::sign`].
    pub signature: &'a str,
    /// The event, exactly as signed.
    pub body: &'a str,
}

/// Why an attempt got no answer. [`fmt::Display`] is short and safe to show the endpoint's
/// owner: no secret, signature or resolved address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// The URL, or an address its host now resolves to, is not allowed.
    Refused(UrlError),
    Unresolvable,
    /// No address accepted a connection.
    Connect,
    Tls,
    /// No answer within [`DELIVERY_TIMEOUT`].
    Timeout,
    /// The connection failed mid-request or closed without answering.
    Io,
    /// Something other than an HTTP/1.x answer came back.
    InvalidAnswer,
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(why) => write!(f, "url_not_allowed: {why}"),
            Self::Unresolvable => f.write_str("dns_error"),
            Self::Connect => f.write_str("connection_error"),
            Self::Tls => f.write_str("tls_error"),
            Self::Timeout => f.write_str("timeout"),
            Self::Io => f.write_str("connection_closed"),
            Self::InvalidAnswer => f.write_str("invalid_response"),
        }
    }
}

impl From<UrlError> for SendFailure {
    fn from(error: UrlError) -> Self {
        match error {
            UrlError::Unresolvable => Self::Unresolvable,
            refused => Self::Refused(refused),
        }
    }
}

/// Posts webhooks. Cheap to clone; build one per process (the trust store is parsed once).
#[derive(Clone)]
pub struct WebhookClient {
    tls: TlsConnector,
    timeout: Duration,
}

impl fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookClient {
    /// A client trusting the platform's root certificates (receivers' certificates come from
    /// any public CA), with the [`DELIVERY_TIMEOUT`].
    pub fn with_platform_roots() -> Self {
        let found = rustls_native_certs::load_native_certs();
        if !found.errors.is_empty() {
            tracing::warn!(
                errors = found.errors.len(),
                "unreadable platform root certificates"
            );
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(found.certs);
        Self::new(roots, DELIVERY_TIMEOUT)
    }

    /// A client trusting `roots`, giving each attempt `timeout` (tests shorten it).
    pub fn new(roots: RootCertStore, timeout: Duration) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            tls: TlsConnector::from(Arc::new(config)),
            timeout,
        }
    }

    /// One attempt: checks `url` against `policy`, resolves and checks its host again (DNS
    /// rebinding), connects to a checked address and posts `message`.
    ///
    /// # Errors
    /// A [`SendFailure`] when no answer came (an answer of any status is `Ok`).
    pub async fn send(
        &self,
        policy: &UrlPolicy,
        url: &str,
        message: &Message<'_>,
        now: OffsetDateTime,
    ) -> Result<Answer, SendFailure> {
        let attempt = async {
            let url = policy.check(url)?;
            let addresses = policy.resolve(&url).await?;
            let tcp = connect(&addresses).await?;
            match url.scheme() {
                Scheme::Http => exchange(tcp, &url, message, now).await,
                Scheme::Https => {
                    let name = server_name(&url)?;
                    let tls = self
                        .tls
                        .connect(name, tcp)
                        .await
                        .map_err(|_| SendFailure::Tls)?;
                    exchange(tls, &url, message, now).await
                }
            }
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or(Err(SendFailure::Timeout))
    }
}

/// The first of `addresses` that accepts a connection, tried in order.
async fn connect(addresses: &[SocketAddr]) -> Result<TcpStream, SendFailure> {
    for address in addresses {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await
        {
            // Best effort: a socket that refuses the option still carries the request.
            let _ = stream.set_nodelay(true);
            return Ok(stream);
        }
    }
    Err(SendFailure::Connect)
}

fn server_name(url: &WebhookUrl) -> Result<ServerName<'static>, SendFailure> {
    match url.ip() {
        Some(ip) => Ok(ServerName::IpAddress(ip.into())),
        None => DnsName::try_from(url.host().to_owned())
            .map(ServerName::DnsName)
            .map_err(|_| SendFailure::Refused(UrlError::Malformed("an invalid host name"))),
    }
}

/// Writes the request and reads the answer's head.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    url: &WebhookUrl,
    message: &Message<'_>,
    now: OffsetDateTime,
) -> Result<Answer, SendFailure> {
    let request = request_bytes(url, message);
    stream
        .write_all(&request)
        .await
        .map_err(|_| SendFailure::Io)?;
    stream.flush().await.map_err(|_| SendFailure::Io)?;
    read_answer(&mut stream, now).await.map_err(|e| match e {
        ReadError::Io | ReadError::Empty => SendFailure::Io,
        ReadError::Malformed => SendFailure::InvalidAnswer,
    })
}

/// The request: head and body in one buffer (one write, usually one segment).
fn request_bytes(url: &WebhookUrl, message: &Message<'_>) -> Vec<u8> {
    let head = format!(
        "POST {target} HTTP/1.1\r\n\
         host: {host}\r\n\
         user-agent: paygate-webhooks/1\r\n\
         content-type: application/json\r\n\
         content-length: {length}\r\n\
         webhook-id: {id}\r\n\
         webhook-timestamp: {timestamp}\r\n\
         webhook-signature: {signature}\r\n\
         connection: close\r\n\r\n",
        target = url.path_and_query(),
        host = url.authority(),
        length = message.body.len(),
        id = message.id,
        timestamp = message.timestamp,
        signature = message.signature,
    );
    let mut bytes = Vec::with_capacity(head.len() + message.body.len());
    bytes.extend_from_slice(head.as_bytes());
    bytes.extend_from_slice(message.body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests;
