//! `--tls`: HTTPS with a generated self-signed certificate (written out for clients to trust)
//! or the one given with `--tls-cert`/`--tls-key`; plain HTTP is not spoken on that port.

mod common;

use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::{Request, body::Bytes, client::conn::http1};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore, pki_types::CertificateDer, pki_types::ServerName};
use tokio_rustls::TlsConnector;

/// `GET /v1/.well-known/jwks.json` over HTTPS, trusting only `cert_pem`.
async fn jwks_over_https(addr: std::net::SocketAddr, cert_pem: &str, api_key: &str) -> u16 {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(cert.expect("a certificate")).expect("trusted");
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("the TLS handshake succeeds with the served certificate");
    let (mut sender, connection) = http1::handshake(TokioIo::new(tls)).await.expect("http");
    tokio::spawn(connection);
    let request = Request::get("/v1/.well-known/jwks.json")
        .header("host", "localhost")
        .header("x-api-key", api_key)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let jwks: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(jwks["keys"].as_array().is_some_and(|k| !k.is_empty()));
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_generated_self_signed_certificate() {
    let dir = std::env::temp_dir().join(common::unique("paygate-tls"));
    let cert_out = dir.join("cert.pem");
    let cert_arg = cert_out.to_str().expect("utf-8");
    let (running, api) = common::start_cli(&[
        "--listen",
        "127.0.0.1:0",
        "--tls",
        "--tls-cert-out",
        cert_arg,
    ])
    .await;
    assert!(running.base.starts_with("https://"), "{}", running.base);
    let cert = std::fs::read_to_string(&cert_out).expect("the certificate is written out");
    assert_eq!(
        jwks_over_https(api.addr, &cert, &api.seeded.api_key).await,
        200
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let stream = tokio::net::TcpStream::connect(api.addr)
        .await
        .expect("connect");
    let plain = async {
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(connection);
        let request = Request::get("/v1/.well-known/jwks.json")
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())
            .ok()?;
        sender.send_request(request).await.ok()
    };
    assert!(
        plain.await.is_none(),
        "plain HTTP must not be served over the TLS port"
    );
    running.stop().await.expect("stops");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_given_certificate_and_key() {
    let identity = paygate_local::tls::Identity::self_signed().expect("a certificate");
    let dir = std::env::temp_dir().join(common::unique("paygate-tls"));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &identity.cert_pem).expect("cert");
    std::fs::write(&key, &identity.key_pem).expect("key");
    let (running, api) = common::start_cli(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ])
    .await;
    assert!(running.base.starts_with("https://"));
    assert_eq!(
        jwks_over_https(api.addr, &identity.cert_pem, &api.seeded.api_key).await,
        200
    );
    running.stop().await.expect("stops");
    let _ = std::fs::remove_dir_all(dir);
}
