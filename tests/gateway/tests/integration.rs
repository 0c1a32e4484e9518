//! The integration as API Gateway runs it, against a stand-in for `cargo lambda watch`'s Invoke
//! API (`--upstream`): the REST v1 events the functions receive, their proxy results (base64
//! bodies, multi-value headers) as HTTP answers, a function that fails or answers garbage →
//! 502, one slower than the integration timeout → 504; and the Lambda authorizer invoked the
//! same way: its policy decides, `Unauthorized` → 401, a failure → the template's 503.

mod common;

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use paygate_local::{Backend, Gateway, seed, upstream::Upstream};
use paygate_shared::ManualClock;
use paygate_template::Template;
use serde_json::{Value, json};
use time::macros::datetime;
use tokio::{net::TcpListener, sync::Mutex};

/// What the stand-in functions do, by function name; every event received is kept.
async fn function(name: &str, event: &Value) -> Response<Full<Bytes>> {
    let json = |status: u16, body: Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("response")
    };
    match name {
        "authorizer" => {
            let token = event["headers"]["Authorization"]
                .as_str()
                .or_else(|| event["headers"]["authorization"].as_str())
                .unwrap_or_default();
            // The whole stage, as the real authorizer allows it: a cached answer serves
            // every route.
            let arn = event["methodArn"].as_str().unwrap_or_default();
            let stage: Vec<&str> = arn.split('/').take(2).collect();
            let arn = format!("{}/*/*", stage.join("/"));
            let policy = |effect: &str| {
                json!({
                    "principalId": "client-7",
                    "policyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": [arn]}
                    ]},
                    "context": {"client_id": "client-7", "scopes": "accounts:read"}
                })
            };
            match token {
                "Bearer good" => json(200, policy("Allow")),
                "Bearer deny" => json(200, policy("Deny")),
                // How Lambda reports a function error: 200 with X-Amz-Function-Error.
                "Bearer bad" => Response::builder()
                    .header("x-amz-function-error", "Unhandled")
                    .body(Full::new(Bytes::from(
                        json!({"errorType": "Error", "errorMessage": "Unauthorized"}).to_string(),
                    )))
                    .expect("response"),
                _ => json(
                    500,
                    json!({"errorType": "Panic", "errorMessage": "keys unavailable"}),
                ),
            }
        }
        // Echoes what API Gateway put into the event.
        "balance" => json(
            200,
            json!({
                "statusCode": 200,
                "multiValueHeaders": {"content-type": ["application/json"], "x-echo": ["a", "b"]},
                "body": json!({
                    "resource": event["resource"],
                    "path": event["path"],
                    "stage": event["requestContext"]["stage"],
                    "principal": event["requestContext"]["authorizer"]["principalId"],
                    "client_id": event["requestContext"]["authorizer"]["client_id"],
                    "api_key_id": event["requestContext"]["identity"]["apiKeyId"],
                    "account_id": event["pathParameters"]["account_id"],
                    "limit": event["multiValueQueryStringParameters"]["limit"],
                }).to_string(),
                "isBase64Encoded": false
            }),
        ),
        "transactions" => json(
            200,
            json!({"statusCode": 206, "headers": {"content-type": "application/octet-stream"},
                   "body": "AAECAw==", "isBase64Encoded": true}),
        ),
        "pay" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(200, json!({"statusCode": 201, "body": "{}"}))
        }
        "confirm" => Response::new(Full::new(Bytes::from_static(b"this is not JSON"))),
        _ => json(
            200,
            json!({"errorType": "Error", "errorMessage": "the function crashed"}),
        ),
    }
}

struct StandIn {
    addr: SocketAddr,
    events: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn stand_in() -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let name = path
                            .strip_prefix("/2015-03-31/functions/")
                            .and_then(|p| p.strip_suffix("/invocations"))
                            .unwrap_or("?")
                            .to_owned();
                        let body = req.into_body().collect().await.expect("body").to_bytes();
                        let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        seen.lock().await.push((name.clone(), event.clone()));
                        Ok::<_, Infallible>(function(&name, &event).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    StandIn { addr, events }
}

async fn gateway(template: &Template, upstream: &StandIn) -> common::Api {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
    let mut backend = Backend::in_memory(clock).expect("keys");
    backend.upstream = Some(Upstream::new(&format!("http://{}", upstream.addr)));
    let mut gateway = Gateway::new(template, backend).expect("gateway");
    gateway.set_integration_timeout(Duration::from_millis(500));
    let seeded = seed::demo(&mut gateway).await.expect("seed");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(paygate_local::serve(
        Arc::new(gateway),
        listener,
        std::future::pending(),
    ));
    common::Api { addr, seeded }
}

const BALANCE: &str = "/v1/accounts/acc_01KAS0DEM0000000000000000A/balance";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_get_rest_v1_events_and_answer_with_proxy_results() {
    let upstream = stand_in().await;
    let api = gateway(&Template::bundled().expect("template"), &upstream).await;

    let echoed = api.get(&format!("{BALANCE}?limit=3"), "good").await;
    assert_eq!(echoed.status, 200, "{:?}", echoed.body);
    assert_eq!(
        echoed.headers.get_all("x-echo").iter().count(),
        2,
        "multi-value headers"
    );
    assert_eq!(
        echoed.body,
        json!({
            "resource": "/accounts/{account_id}/balance",
            "path": "/accounts/acc_01KAS0DEM0000000000000000A/balance",
            "stage": "v1",
            "principal": "client-7",
            "client_id": "client-7",
            "api_key_id": "demo-key",
            "account_id": "acc_01KAS0DEM0000000000000000A",
            "limit": ["3"],
        })
    );
    assert!(echoed.header("x-amzn-requestid").is_some());

    // Base64 bodies are decoded; any status passes through.
    let raw = api
        .send(
            "GET",
            "/v1/accounts/acc_01KAS0DEM0000000000000000A/transactions",
            &[
                ("x-api-key", &api.seeded.api_key),
                ("authorization", "Bearer good"),
            ],
            Bytes::new(),
        )
        .await;
    assert_eq!(raw.status, 206);

    let events = upstream.events.lock().await;
    let authorizer_event = &events
        .iter()
        .find(|(n, _)| n == "authorizer")
        .expect("ran")
        .1;
    assert_eq!(authorizer_event["type"], "REQUEST");
    assert!(
        authorizer_event["methodArn"].as_str().is_some_and(
            |arn| arn.ends_with("/v1/GET/accounts/acc_01KAS0DEM0000000000000000A/balance")
        ),
        "{authorizer_event}"
    );
    let authorizer_runs = events.iter().filter(|(n, _)| n == "authorizer").count();
    assert_eq!(
        authorizer_runs, 1,
        "the second request was answered from the cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_slow_functions_get_api_gateways_answers() {
    let upstream = stand_in().await;
    let api = gateway(&Template::bundled().expect("template"), &upstream).await;

    let slow = api
        .post("/v1/payments", "good", Some(api.payment(100, false)))
        .await;
    assert_eq!(slow.status, 504, "{:?}", slow.body);
    assert_eq!(slow.message(), "Endpoint request timed out");
    assert_eq!(
        slow.header("x-amzn-errortype"),
        Some("IntegrationTimeoutException")
    );

    let garbage = api
        .post(
            "/v1/payments/pay_01KAS0DEM0000000000000000A/confirm",
            "good",
            None,
        )
        .await;
    assert_eq!(
        (garbage.status, garbage.message()),
        (502, "Internal server error")
    );
    let crashed = api
        .post(
            "/v1/payments/pay_01KAS0DEM0000000000000000A/cancel",
            "good",
            None,
        )
        .await;
    assert_eq!(
        (crashed.status, crashed.message()),
        (502, "Internal server error")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_authorizer_decides() {
    let upstream = stand_in().await;
    let api = gateway(&Template::bundled().expect("template"), &upstream).await;

    let denied = api.get(BALANCE, "deny").await;
    assert_eq!(
        (denied.status, denied.message()),
        (403, "User is not authorized to access this resource")
    );
    let unauthorized = api.get(BALANCE, "bad").await;
    assert_eq!(
        (unauthorized.status, unauthorized.message()),
        (401, "Unauthorized")
    );
    assert_eq!(unauthorized.header("www-authenticate"), Some("Bearer"));
    // A failing authorizer: the template makes AUTHORIZER_FAILURE a 503 with Retry-After.
    let failed = api.get(BALANCE, "crash").await;
    assert_eq!(
        (failed.status, failed.message()),
        (503, "Service Unavailable")
    );
    assert_eq!(failed.header("retry-after"), Some("1"));
    assert_eq!(
        failed.header("x-amzn-errortype"),
        Some("AuthorizerFailureException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_gateway_responses_the_defaults_apply() {
    // The template's GatewayResponses removed: API Gateway's defaults (authorizer failure 500).
    let text = paygate_template::BUNDLED;
    let start = text
        .find("      GatewayResponses:\n")
        .expect("the template customises them");
    // It is the API's last property: it ends where the next resource begins.
    let end = start + text[start..].find("\n\n  ").expect("the next resource");
    let stripped = format!("{}{}", &text[..start], &text[end + 1..]);
    let template = Template::parse(&stripped).expect("still a template");
    assert!(template.api().expect("api").gateway_responses.is_empty());

    let upstream = stand_in().await;
    let api = gateway(&template, &upstream).await;
    let failed = api.get(BALANCE, "crash").await;
    assert_eq!(
        (failed.status, failed.message()),
        (500, "Internal server error")
    );
    assert_eq!(failed.header("retry-after"), None);
    let unauthorized = api.get(BALANCE, "bad").await;
    assert_eq!(unauthorized.status, 401);
    assert_eq!(unauthorized.header("www-authenticate"), None);
}
