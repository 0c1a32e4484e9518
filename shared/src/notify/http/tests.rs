//! The client against real receivers on 127.0.0.1: plain HTTP and TLS (a self-signed
//! certificate for `localhost`), each scripted to answer one way.

use std::sync::{
    Mutex,
    atomic::{AtomicUsize, Ordering},
};

use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use time::macros::datetime;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tokio_rustls::TlsAcceptor;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-11-30 04:00:00 UTC);
const MESSAGE: Message<'static> = Message {
    id: "evt_01JDQ3Z8Y5K4Q3M2N1P0R9S8T7",
    timestamp: 1_795_924_800,
    signature: "v1,aaaa v1,bbbb",
    body: r#"{"id":"evt_01JDQ3Z8Y5K4Q3M2N1P0R9S8T7","object":"event"}"#,
};

/// How a scripted receiver behaves on each connection.
#[derive(Clone)]
enum Script {
    /// Reads the request, then writes these bytes and closes.
    Answer(&'static [u8]),
    /// Reads the request, then never answers.
    Silent,
    /// Reads the request, then writes a head that never ends.
    Endless,
}

struct Receiver {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    server_names: Arc<Mutex<Vec<Option<String>>>>,
}

async fn receiver(script: Script, tls: Option<TlsAcceptor>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let server_names = Arc::new(Mutex::new(Vec::new()));
    let (count, seen, names) = (connections.clone(), requests.clone(), server_names.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (script, seen, names, tls) =
                (script.clone(), seen.clone(), names.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    None => serve(tcp, script, seen).await,
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let sni = stream.get_ref().1.server_name().map(str::to_owned);
                        names.lock().unwrap().push(sni);
                        serve(stream, script, seen).await;
                    }
                }
            });
        }
    });
    Receiver {
        port,
        connections,
        requests,
        server_names,
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    script: Script,
    seen: Arc<Mutex<Vec<String>>>,
) {
    let mut request = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let Ok(n @ 1..) = stream.read(&mut chunk).await else {
            return;
        };
        request.extend_from_slice(&chunk[..n]);
        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |l| l.parse().unwrap());
        if request.len() >= end + 4 + length {
            break;
        }
    }
    seen.lock()
        .unwrap()
        .push(String::from_utf8(request).unwrap());
    match script {
        Script::Answer(bytes) => {
            let _ = stream.write_all(bytes).await;
            let _ = stream.shutdown().await;
        }
        Script::Silent => tokio::time::sleep(Duration::from_secs(60)).await,
        Script::Endless => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nx-pad: ").await;
            while stream.write_all(&[b'a'; 1024]).await.is_ok() {}
        }
    }
}

fn client() -> WebhookClient {
    WebhookClient::new(RootCertStore::empty(), Duration::from_secs(5))
}

#[tokio::test]
async fn posts_the_signed_event_with_exactly_these_headers() {
    let receiver = receiver(Script::Answer(b"HTTP/1.1 204 No Content\r\n\r\n"), None).await;
    let url = format!("http://127.0.0.1:{}/hooks/in?tenant=7", receiver.port);
    let answer = client().send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(
        answer,
        Ok(Answer {
            status: 204,
            retry_after: None
        })
    );
    let requests = receiver.requests.lock().unwrap();
    let expected = format!(
        "POST /hooks/in?tenant=7 HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nuser-agent: paygate-webhooks/1\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\
         webhook-id: evt_01JDQ3Z8Y5K4Q3M2N1P0R9S8T7\r\nwebhook-timestamp: 1795924800\r\n\
         webhook-signature: v1,aaaa v1,bbbb\r\nconnection: close\r\n\r\n{}",
        receiver.port,
        MESSAGE.body.len(),
        MESSAGE.body
    );
    assert_eq!(*requests, [expected]);
}

/// A TLS receiver for `localhost` and a client trusting its certificate (or a stranger's).
async fn tls_receiver(script: Script, trusted: bool) -> (Receiver, WebhookClient) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key =
        PrivateKeyDer::from_pem_slice(certified.signing_key.serialize_pem().as_bytes()).unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
    let receiver = receiver(script, Some(TlsAcceptor::from(Arc::new(config)))).await;
    let mut roots = RootCertStore::empty();
    if trusted {
        roots.add(cert).unwrap();
    } else {
        let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        roots.add(stranger.cert.der().clone()).unwrap();
    }
    (receiver, WebhookClient::new(roots, Duration::from_secs(5)))
}

#[tokio::test]
async fn https_verifies_the_certificate_against_the_host_named_in_sni() {
    let (receiver, client) = tls_receiver(Script::Answer(b"HTTP/1.1 200 OK\r\n\r\n"), true).await;
    let url = format!("https://localhost:{}/in", receiver.port);
    let answer = client.send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(answer.map(|a| a.status), Ok(200));
    assert_eq!(
        *receiver.server_names.lock().unwrap(),
        [Some("localhost".to_owned())]
    );
    assert!(
        receiver.requests.lock().unwrap()[0].starts_with("POST /in HTTP/1.1\r\nhost: localhost:")
    );

    let (stranger, client) = tls_receiver(Script::Answer(b"HTTP/1.1 200 OK\r\n\r\n"), false).await;
    let url = format!("https://localhost:{}/in", stranger.port);
    let refused = client.send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(refused, Err(SendFailure::Tls));
    assert!(
        stranger.requests.lock().unwrap().is_empty(),
        "nothing sent to an unverified peer"
    );
}

#[tokio::test]
async fn redirects_are_answers_not_followed() {
    let target = receiver(Script::Answer(b"HTTP/1.1 200 OK\r\n\r\n"), None).await;
    let answer: &'static [u8] = format!(
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{}/\r\n\r\n",
        target.port
    )
    .leak()
    .as_bytes();
    let redirecting = receiver(Script::Answer(answer), None).await;
    let url = format!("http://127.0.0.1:{}/", redirecting.port);
    let outcome = client().send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(outcome.map(|a| a.status), Ok(302));
    assert_eq!(target.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn gone_and_busy_answers_carry_their_retry_after() {
    let busy = receiver(
        Script::Answer(b"HTTP/1.1 503 Busy\r\nRetry-After: 42\r\n\r\n"),
        None,
    )
    .await;
    let url = format!("http://127.0.0.1:{}/", busy.port);
    let outcome = client().send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(
        outcome,
        Ok(Answer {
            status: 503,
            retry_after: Some(Duration::from_secs(42))
        })
    );
    let gone = receiver(
        Script::Answer(b"HTTP/1.1 410 Gone\r\ncontent-length: 0\r\n\r\n"),
        None,
    )
    .await;
    let url = format!("http://127.0.0.1:{}/", gone.port);
    let outcome = client().send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(outcome.map(|a| a.status), Ok(410));
}

#[tokio::test]
async fn an_endless_answer_is_read_only_up_to_the_limit() {
    let endless = receiver(Script::Endless, None).await;
    let url = format!("http://127.0.0.1:{}/", endless.port);
    // Without the limit the client would read until its timeout and report one.
    let outcome = client().send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(
        outcome,
        Ok(Answer {
            status: 200,
            retry_after: None
        })
    );
}

#[tokio::test]
async fn silence_times_out_and_a_closed_port_is_a_connection_error() {
    let silent = receiver(Script::Silent, None).await;
    let url = format!("http://127.0.0.1:{}/", silent.port);
    let quick = WebhookClient::new(RootCertStore::empty(), Duration::from_millis(300));
    let outcome = quick.send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(outcome, Err(SendFailure::Timeout));
    assert_eq!(outcome.unwrap_err().to_string(), "timeout");

    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let outcome = client().send(&UrlPolicy::LOCAL, &url, &MESSAGE, NOW).await;
    assert_eq!(outcome, Err(SendFailure::Connect));
}

#[tokio::test]
async fn the_policy_is_applied_at_delivery_and_nothing_is_sent_to_a_refused_host() {
    let receiver = receiver(Script::Answer(b"HTTP/1.1 200 OK\r\n\r\n"), None).await;
    for (url, refusal) in [
        (
            format!("http://127.0.0.1:{}/", receiver.port),
            UrlError::NotHttps,
        ),
        (
            format!("https://127.0.0.1:{}/", receiver.port),
            UrlError::NotPublic(crate::notify::ssrf::AddressClass::Loopback),
        ),
        (
            format!("https://localhost:{}/", receiver.port),
            UrlError::NotPublic(crate::notify::ssrf::AddressClass::Loopback),
        ),
    ] {
        let outcome = client()
            .send(&UrlPolicy::PUBLIC_ONLY, &url, &MESSAGE, NOW)
            .await;
        assert_eq!(outcome, Err(SendFailure::Refused(refusal)), "{url}");
    }
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 0);
    let shown = SendFailure::Refused(UrlError::NotPublic(
        crate::notify::ssrf::AddressClass::Loopback,
    ))
    .to_string();
    assert_eq!(
        shown,
        "url_not_allowed: the URL's host is not a public address (loopback)"
    );
}
