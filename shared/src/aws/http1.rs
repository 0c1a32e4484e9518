//! The SDK's HTTP client: HTTP/1.1 over rustls on *ring*, pooled, one connector per sandbox.
//!
//! DynamoDB and Secrets Manager are spoken over HTTP/1.1; the SDK's own client
//! (`aws-smithy-http-client`) also offers HTTP/2 and links the whole `h2` crate (≈ 0.4 MiB of every
//! bootstrap) for it. This is that client's HTTPS path with HTTP/1.1 alone: hyper-util's pooled
//! client, hyper-rustls over a rustls configuration with the SDK's defaults (safe protocol
//! versions, the same cipher suites), the connect timeout from the SDK's settings, and the same
//! classification of failures, so retries behave exactly as before (I/O and timeouts are
//! transient; anything else is not).

use std::{
    error::Error as StdError,
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
            SharedHttpClient, SharedHttpConnector,
        },
        orchestrator::{HttpRequest, HttpResponse},
        result::ConnectorError,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::{body::SdkBody, retry::ErrorKind};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector as TcpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use rustls::{CipherSuite, ClientConfig, RootCertStore, crypto::CryptoProvider};

/// How long an idle pooled connection is kept (the SDK client's default).
const POOL_IDLE: Duration = Duration::from_secs(90);

/// An [`HttpClient`] for the SDK that trusts `roots`.
pub(crate) fn client(roots: RootCertStore) -> SharedHttpClient {
    SharedHttpClient::new(Http1Client {
        tls: Arc::new(tls_config(roots)),
        connectors: Arc::default(),
    })
}

/// rustls on *ring* with the SDK client's choices: the safe default protocol versions (TLS 1.2
/// and 1.3) and its cipher suites (AES-GCM, and ChaCha20 for RSA servers), offering HTTP/1.1.
fn tls_config(roots: RootCertStore) -> ClientConfig {
    const SUITES: [CipherSuite; 7] = [
        CipherSuite::TLS13_AES_256_GCM_SHA384,
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let ring = rustls::crypto::ring::default_provider();
    let provider = CryptoProvider {
        cipher_suites: ring
            .cipher_suites
            .iter()
            .filter(|suite| SUITES.contains(&suite.suite()))
            .copied()
            .collect(),
        ..ring
    };
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

#[derive(Clone)]
struct Http1Client {
    tls: Arc<ClientConfig>,
    /// One connector (and so one connection pool) per distinct settings; every client of a
    /// function asks with the same settings, so in practice there is one.
    connectors: Arc<Mutex<Vec<(Settings, SharedHttpConnector)>>>,
}

impl fmt::Debug for Http1Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http1Client").finish_non_exhaustive()
    }
}

type Settings = (Option<Duration>, Option<Duration>);

impl HttpClient for Http1Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == key) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(Http1Connector::new(&self.tls, key));
        connectors.push((key, connector.clone()));
        connector
    }
}

#[derive(Clone)]
struct Http1Connector {
    client: Client<HttpsConnector<TcpConnector>, SdkBody>,
    /// The SDK's read timeout, if it sets one (it does not by default: the operation attempt
    /// timeout bounds every call).
    read_timeout: Option<Duration>,
}

impl fmt::Debug for Http1Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http1Connector").finish_non_exhaustive()
    }
}

impl Http1Connector {
    fn new(tls: &Arc<ClientConfig>, (connect_timeout, read_timeout): Settings) -> Self {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        // http:// (an emulator) or https://, with the configuration as built (ALPN http/1.1).
        let https = HttpsConnector::from((tcp, Arc::clone(tls)));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(https);
        Self {
            client,
            read_timeout,
        }
    }
}

impl HttpConnector for Http1Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let answered = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, sent)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => sent.await,
            };
            let response = answered.map_err(|e| classify(e.into()))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Sorts a failed call the way the SDK's own client does, so its retry strategy sees the same
/// kinds: timeouts, I/O (refused, reset, closed, DNS) and incomplete answers are transient.
fn classify(error: BoxError) -> ConnectorError {
    let connect_timed_out = find::<std::io::Error>(error.as_ref())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
    if connect_timed_out {
        return ConnectorError::timeout(error);
    }
    if let Some(hyper) = find::<hyper::Error>(error.as_ref()) {
        return if hyper.is_timeout() {
            ConnectorError::timeout(error)
        } else if hyper.is_user() {
            ConnectorError::user(error)
        } else if hyper.is_closed()
            || hyper.is_canceled()
            || find::<std::io::Error>(hyper).is_some()
        {
            ConnectorError::io(error)
        } else if hyper.is_incomplete_message() {
            ConnectorError::other(error, Some(ErrorKind::TransientError))
        } else {
            ConnectorError::other(error, None)
        };
    }
    match find::<hyper_util::client::legacy::Error>(error.as_ref()) {
        Some(legacy) if legacy.is_connect() || find::<std::io::Error>(legacy).is_some() => {
            ConnectorError::io(error)
        }
        _ => ConnectorError::other(error, None),
    }
}

/// The first error of type `E` in `error`'s chain.
fn find<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::BodyExt;

    use rustls::{
        ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    };
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };
    use tokio_rustls::TlsAcceptor;

    use super::*;

    /// A TLS server on 127.0.0.1 with a fresh self-signed certificate for `localhost`: answers
    /// every request on a connection with `200 ok`, counts connections, and records the ALPN
    /// protocol each handshake settled on.
    struct Server {
        port: u16,
        cert: CertificateDer<'static>,
        connections: Arc<AtomicUsize>,
        alpn: Arc<Mutex<Vec<Option<Vec<u8>>>>>,
    }

    async fn server() -> Server {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = certified.cert.der().clone();
        let key = PrivateKeyDer::from_pem_slice(certified.signing_key.serialize_pem().as_bytes())
            .unwrap();
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.clone()], key)
                .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let alpn = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (connections.clone(), alpn.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (acceptor, seen) = (acceptor.clone(), seen.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let protocol = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                    seen.lock().unwrap().push(protocol);
                    let mut buffer = Vec::new();
                    let mut chunk = [0_u8; 1024];
                    while let Ok(n @ 1..) = tls.read(&mut chunk).await {
                        buffer.extend_from_slice(&chunk[..n]);
                        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            buffer.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if tls.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Server {
            port,
            cert,
            connections,
            alpn,
        }
    }

    fn trusting(cert: &CertificateDer<'static>) -> Http1Connector {
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        Http1Connector::new(&Arc::new(tls_config(roots)), (None, None))
    }

    fn get(url: &str) -> HttpRequest {
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_uri(url).unwrap();
        request
    }

    #[tokio::test]
    async fn speaks_http1_over_verified_tls_and_reuses_the_connection() {
        let server = server().await;
        let connector = trusting(&server.cert);
        let url = format!("https://localhost:{}/", server.port);
        for _ in 0..3 {
            let response = connector.call(get(&url)).await.expect("answered");
            assert_eq!(response.status().as_u16(), 200);
            let body = response.into_body().collect().await.expect("a body");
            assert_eq!(body.to_bytes(), &b"ok"[..]);
        }
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "one pooled connection"
        );
        assert_eq!(
            *server.alpn.lock().unwrap(),
            [Some(b"http/1.1".to_vec())],
            "HTTP/1.1 offered and chosen, never h2"
        );
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_refused_as_a_retryable_io_failure() {
        let server = server().await;
        let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let connector = trusting(stranger.cert.der());
        let url = format!("https://localhost:{}/", server.port);
        let refused = connector.call(get(&url)).await.expect_err("refused");
        assert!(refused.is_io(), "{refused:?}");
        assert!(
            server.alpn.lock().unwrap().is_empty(),
            "no handshake completed"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_an_io_failure_and_the_amazon_roots_parse() {
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let connector = Http1Connector::new(
            &Arc::new(tls_config(crate::aws::Trust::AmazonRoots.roots())),
            (Some(Duration::from_secs(1)), None),
        );
        let refused = connector
            .call(get(&format!("http://127.0.0.1:{port}/")))
            .await
            .expect_err("nothing listens");
        assert!(refused.is_io(), "{refused:?}");
        assert_eq!(crate::aws::Trust::AmazonRoots.roots().len(), 5);
    }
}
