//! AWS WAF's rate-based rule, as the template declares it, in front of everything API Gateway
//! does: past the limit a source IP gets WAF's 403 (never the usage plan's 429, nor a function's
//! answer) until its count over the window falls back under, and each source IP is counted on
//! its own. Each test serves a copy of the bundled template with a smaller limit or window, on
//! a manual clock.

use std::{
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

use paygate_local::{
    Backend, Background, Gateway, event::Incoming, reply::Reply, seed, server::request_id,
};
use paygate_shared::ManualClock;
use paygate_template::{BUNDLED, Template};
use time::{Duration, macros::datetime};

const RATE_LIMIT: &str = "  WafRateLimit:\n    Type: Number\n    Default: 20000\n";
const RATE_WINDOW: &str = "  WafRateWindowSeconds:\n    Type: Number\n    Default: 300\n";
const STANDARD_THROTTLE: &str = "      Throttle:\n        RateLimit: 50\n        BurstLimit: 100\n";
const JWKS: &str = "/v1/.well-known/jwks.json";

/// The bundled template with each `(from, to)` replaced once (and asserted to be there).
fn template_with(replacements: &[(&str, &str)]) -> Template {
    let mut text = BUNDLED.to_owned();
    for (from, to) in replacements {
        assert!(text.contains(from), "the template has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    Template::parse(&text).expect("the modified template parses")
}

/// The bundled template with WAF's rate rule at `limit` requests per `window` seconds.
fn rate(limit: u64, window: u64) -> Vec<(&'static str, String)> {
    vec![
        (RATE_LIMIT, RATE_LIMIT.replace("20000", &limit.to_string())),
        (RATE_WINDOW, RATE_WINDOW.replace("300", &window.to_string())),
    ]
}

struct Local {
    gateway: Arc<Gateway>,
    clock: Arc<ManualClock>,
    api_key: String,
}

async fn start(replacements: &[(&str, String)]) -> Local {
    let pairs: Vec<(&str, &str)> = replacements.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let template = template_with(&pairs);
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
    let backend = Backend::in_memory(clock.clone()).expect("keys");
    let mut gateway = Gateway::new(&template, backend).expect("gateway");
    let seeded = seed::demo(&mut gateway).await.expect("seed");
    Local {
        gateway: Arc::new(gateway),
        clock,
        api_key: seeded.api_key,
    }
}

impl Local {
    /// `GET path` from `source_ip`, with the demo API key unless `key` is `None`.
    async fn get_from(&self, source_ip: &str, path: &str, key: Option<&str>) -> Reply {
        let headers = key
            .map(|k| vec![("x-api-key".to_owned(), k.to_owned())])
            .unwrap_or_default();
        let request = Incoming {
            method: "GET".into(),
            path: path.into(),
            headers,
            query: Vec::new(),
            body: Vec::new(),
            source_ip: source_ip.into(),
        };
        self.gateway.handle(&request_id(), request).await.0
    }

    /// The JWKS (API key only, no token) from `source_ip`: its status and response type.
    async fn jwks_from(&self, source_ip: &str) -> (u16, &'static str) {
        let reply = self.get_from(source_ip, JWKS, Some(&self.api_key)).await;
        (reply.status.as_u16(), reply.kind)
    }
}

const SERVED: (u16, &str) = (200, "-");
const WAF_BLOCKED: (u16, &str) = (403, "WAF_FILTERED");

fn assert_waf_answer(reply: &Reply) {
    assert_eq!(reply.status.as_u16(), 403);
    assert_eq!(reply.kind, "WAF_FILTERED");
    assert_eq!(reply.body, br#"{"message":"Forbidden"}"#);
    assert_eq!(
        reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    assert_eq!(
        reply.headers.get("x-amzn-errortype").map(|v| v.as_bytes()),
        Some(&b"ForbiddenException"[..])
    );
}

#[tokio::test]
async fn past_the_limit_waf_answers_403_before_the_usage_plan_would_throttle() {
    let slow_plan = STANDARD_THROTTLE
        .replace("RateLimit: 50", "RateLimit: 1")
        .replace("BurstLimit: 100", "BurstLimit: 3");
    let mut replacements = rate(10, 300);
    replacements.push((STANDARD_THROTTLE, slow_plan));
    let local = start(&replacements).await;
    let ip = "198.51.100.7";
    for _ in 0..3 {
        assert_eq!(local.jwks_from(ip).await, SERVED);
    }
    for _ in 0..7 {
        assert_eq!(local.jwks_from(ip).await, (429, "THROTTLED"));
    }
    // The 11th request in 5 minutes: the plan would throttle it too, but WAF sees it first.
    let blocked = local.get_from(ip, JWKS, Some(&local.api_key)).await;
    assert_waf_answer(&blocked);
    // Nothing of API Gateway runs for it: no key check, no route matching.
    assert_waf_answer(&local.get_from(ip, JWKS, None).await);
    assert_waf_answer(&local.get_from(ip, "/v1/no/such/route", None).await);
    // Outside the stage there is nothing for the web ACL to guard.
    let elsewhere = local.get_from(ip, "/v2/payments", None).await;
    assert_eq!(elsewhere.kind, "MISSING_AUTHENTICATION_TOKEN");
}

#[tokio::test]
async fn under_the_limit_each_source_ip_is_served_and_counted_on_its_own() {
    let local = start(&rate(10, 300)).await;
    for ip in ["198.51.100.7", "198.51.100.8", "2001:db8::7"] {
        for n in 1..=10 {
            assert_eq!(local.jwks_from(ip).await, SERVED, "{ip}, request {n}");
        }
        assert_eq!(local.jwks_from(ip).await, WAF_BLOCKED, "{ip}, request 11");
    }
}

#[tokio::test]
async fn the_window_slides_and_blocked_requests_count() {
    let local = start(&rate(10, 60)).await;
    let ip = "198.51.100.7";
    let send = |n: usize| {
        let local = &local;
        async move {
            let mut answers = Vec::new();
            for _ in 0..n {
                answers.push(local.jwks_from(ip).await);
            }
            answers
        }
    };
    // 10:00:00 six requests, 10:00:30 four more: ten in the last minute, all served.
    assert_eq!(send(6).await, [SERVED; 6]);
    local.clock.advance(Duration::seconds(30));
    assert_eq!(send(4).await, [SERVED; 4]);
    assert_eq!(send(1).await, [WAF_BLOCKED], "the 11th in a minute");
    // 10:00:59: the window still holds all of them, and the blocked one.
    local.clock.advance(Duration::seconds(29));
    assert_eq!(send(1).await, [WAF_BLOCKED]);
    // 10:01:00: the six of 10:00:00 have left it; 4 + 1 + 1 remain, so four more fit.
    local.clock.advance(Duration::seconds(1));
    assert_eq!(send(5).await, [SERVED, SERVED, SERVED, SERVED, WAF_BLOCKED]);
    // 10:01:30: the five of 10:00:30 have left; 1 + 5 remain.
    local.clock.advance(Duration::seconds(30));
    assert_eq!(send(5).await, [SERVED, SERVED, SERVED, SERVED, WAF_BLOCKED]);
}

#[tokio::test]
async fn a_web_acl_on_another_stage_blocks_nothing() {
    let mut replacements = rate(10, 300);
    replacements.push(("/stages/${PaygateApi.Stage}", "/stages/canary".to_owned()));
    let local = start(&replacements).await;
    for n in 1..=15 {
        assert_eq!(local.jwks_from("198.51.100.7").await, SERVED, "request {n}");
    }
}

/// `GET path` over HTTP/1.1 from a socket bound to `from`: the status and the body.
fn http_get(server: SocketAddr, from: Ipv4Addr, path: &str, key: &str) -> (u16, String) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(from), 0))
        .expect("bind the source address");
    // Called on a blocking thread of the runtime: it may wait for the connection.
    let stream = tokio::runtime::Handle::current()
        .block_on(socket.connect(server))
        .expect("connect");
    let mut stream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {server}\r\nx-api-key: {key}\r\nconnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_ip_is_the_connections_peer_address() {
    let local = start(&rate(10, 300)).await;
    let server = Background::start(local.gateway.clone())
        .await
        .expect("serve");
    let addr = server.addr();
    let key = local.api_key.clone();
    let (first, second) = (Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2));
    let answers = tokio::task::spawn_blocking(move || {
        let mut answers: Vec<(u16, String)> =
            (0..11).map(|_| http_get(addr, first, JWKS, &key)).collect();
        answers.push(http_get(addr, second, JWKS, &key));
        answers
    })
    .await
    .expect("client");
    assert!(answers[..10].iter().all(|(status, _)| *status == 200));
    assert_eq!(answers[10], (403, r#"{"message":"Forbidden"}"#.to_owned()));
    assert_eq!(answers[11].0, 200, "another address is counted apart");
}
