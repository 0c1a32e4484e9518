//! Every answer API Gateway gives by itself, over real HTTP.

mod common;

use common::{Answer, start_bundled};

fn gateway_error(answer: &Answer, status: u16, message: &str, error_type: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.message(), message);
    assert_eq!(answer.header("x-amzn-errortype"), Some(error_type));
    assert!(answer.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn unknown_routes_methods_and_stages_are_missing_authentication_tokens() {
    let gw = start_bundled().await;
    let key = [("x-api-key", gw.seeded.api_key.as_str())];
    for (method, path) in [
        ("GET", "/v1/nope"),
        ("DELETE", "/v1/payments"),
        ("GET", "/v2/.well-known/jwks.json"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/"),
    ] {
        let answer = gw.send(method, path, &key, "").await;
        gateway_error(
            &answer,
            403,
            "Missing Authentication Token",
            "MissingAuthenticationTokenException",
        );
    }
}

#[tokio::test]
async fn missing_or_unknown_api_keys_are_forbidden() {
    let gw = start_bundled().await;
    let missing = gw.send("GET", "/v1/.well-known/jwks.json", &[], "").await;
    gateway_error(&missing, 403, "Forbidden", "ForbiddenException");
    let unknown = gw
        .send(
            "GET",
            "/v1/.well-known/jwks.json",
            &[("x-api-key", "nope")],
            "",
        )
        .await;
    gateway_error(&unknown, 403, "Forbidden", "ForbiddenException");

    // On a route with the authorizer, a good token does not replace the key.
    let token = gw.token().await;
    let bearer = format!("Bearer {token}");
    let answer = gw
        .send(
            "GET",
            "/v1/payments/pay_x",
            &[("authorization", &bearer)],
            "",
        )
        .await;
    gateway_error(&answer, 403, "Forbidden", "ForbiddenException");
}

#[tokio::test]
async fn the_authorizer_answers_401_without_or_with_a_bad_token() {
    let gw = start_bundled().await;
    let account = gw.seeded.accounts[0];
    let path = format!("/v1/accounts/{account}/balance");
    let missing = gw
        .send("GET", &path, &[("x-api-key", &gw.seeded.api_key)], "")
        .await;
    gateway_error(&missing, 401, "Unauthorized", "UnauthorizedException");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        gw.gateway.authorizer_invocations(),
        0,
        "no identity, no call"
    );

    let bad = gw.get(&path, "not-a-token").await;
    gateway_error(&bad, 401, "Unauthorized", "UnauthorizedException");
    assert_eq!(gw.gateway.authorizer_invocations(), 1);
}

#[tokio::test]
async fn bodies_over_ten_megabytes_are_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gw = start_bundled().await;
    let token = gw.token().await;
    // Refused on the declared length, before the body is sent: the client asks first
    // (`Expect: 100-continue`) and gets the 413 instead of the go-ahead.
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nhost: {}\r\nx-api-key: {}\r\nauthorization: Bearer {token}\r\n\
         content-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n",
        gw.addr,
        gw.seeded.api_key,
        10 * 1024 * 1024 + 1
    );
    let mut stream = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(
        answer.contains(r#"{"message":"Request Too Long"}"#),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("x-amzn-requestid"),
        "{answer}"
    );

    // A chunked body (no declared length) is read up to the limit, then refused.
    let chunk = vec![b'x'; 1024 * 1024];
    let mut body = Vec::new();
    for _ in 0..11 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nhost: {}\r\nx-api-key: {}\r\nauthorization: Bearer {token}\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        gw.addr, gw.seeded.api_key,
    );
    let mut stream = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&body).await.expect("the body is read");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
}

#[tokio::test]
async fn an_authorizer_failure_is_503_with_retry_after() {
    let (gw, keys) = common::start_with_flaky_keys().await;
    let token = gw.token().await;
    keys.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let path = format!("/v1/accounts/{}/balance", gw.seeded.accounts[0]);
    let answer = gw.get(&path, &token).await;
    gateway_error(
        &answer,
        503,
        "Service Unavailable",
        "AuthorizerFailureException",
    );
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(gw.gateway.authorizer_invocations(), 1);
}
