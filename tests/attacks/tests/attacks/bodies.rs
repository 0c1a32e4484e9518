//! Hostile input from an authenticated client on its own accounts: oversized and deeply nested
//! JSON, duplicate and smuggled fields, amounts that are zero, negative, fractional, above
//! `i64` or strings, unknown currencies, injection-looking ids in paths, bodies, headers and
//! query strings. Each gets its exact 4xx (never a 5xx, never a 2xx) and the books stay as they
//! were.

use std::sync::Arc;

use serde_json::json;

use crate::support::{Answer, Tally, Target, Watchlist, assert_problem};

/// A payment body between alice's accounts with `amount` and `currency` as raw JSON.
fn raw_payment(source: &str, destination: &str, amount: &str, currency: &str) -> String {
    format!(
        r#"{{"source_account": "{source}", "destination_account": "{destination}", "amount": {amount}, "currency": {currency}, "confirm": true}}"#
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_-.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// API Gateway's own 4xx: `{"message": …}` with its error type.
fn assert_gateway(answer: &Answer, status: u16, message: &str, case: &str) {
    assert_eq!(answer.status, status, "{case}: {:?}", answer.body);
    assert_eq!(answer.body, json!({"message": message}), "{case}");
    assert!(answer.header("x-amzn-errortype").is_some(), "{case}");
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("bodies");
    let target = Target::start(watch, "premium").await;
    let alice = target.alice.clone();
    let token = target.token(&alice, None).await;
    let [a1, a2] = [alice.accounts[0].to_string(), alice.accounts[1].to_string()];
    let before = target.books().await;
    let body = |amount: &str, currency: &str| raw_payment(&a1, &a2, amount, currency);
    let cny = "\"CNY\"";

    // (case, body, status, code)
    let mut cases: Vec<(String, String, u16, &str)> = Vec::new();
    let mut case = |name: &str, body: String, status: u16, code: &'static str| {
        cases.push((name.to_owned(), body, status, code));
    };

    // Size and shape.
    let padding = "x".repeat(16 * 1024);
    case(
        "a body over 16 KiB",
        json!({"source_account": a1, "destination_account": a2, "amount": 1,
        "currency": "CNY", "description": padding})
        .to_string(),
        413,
        "payload_too_large",
    );
    let deep = |open: &str, close: &str, depth: usize| {
        format!("{}{}", open.repeat(depth), close.repeat(depth))
    };
    case(
        "5000 nested arrays in a field",
        format!(r#"{{"source_account": {}}}"#, deep("[", "]", 5000)),
        400,
        "invalid_field",
    );
    case(
        "2000 nested objects in a field",
        format!(
            r#"{{"description": {}1{}}}"#,
            r#"{"a":"#.repeat(2000),
            "}".repeat(2000)
        ),
        400,
        "invalid_field",
    );
    case(
        "5000 nested arrays as the body",
        deep("[", "]", 5000),
        400,
        "invalid_body",
    );
    case(
        "an unclosed object",
        "{\"amount\": 1".to_owned(),
        400,
        "invalid_body",
    );
    case(
        "two JSON documents",
        format!("{} {}", body("1", cny), body("1", cny)),
        400,
        "invalid_body",
    );
    case(
        "a duplicated amount field",
        format!(r#"{{"amount": 1, {}"#, &body("100000000", cny)[1..]),
        400,
        "invalid_body",
    );
    case(
        "a smuggled status field",
        body("1", cny).replace("\"confirm\"", "\"status\": \"succeeded\", \"confirm\""),
        400,
        "invalid_field",
    );
    case(
        "a smuggled client_id field",
        body("1", cny).replace("\"confirm\"", "\"client_id\": \"bob-shop\", \"confirm\""),
        400,
        "invalid_field",
    );
    case(
        "a smuggled __proto__ field",
        body("1", cny).replace(
            "\"confirm\"",
            "\"__proto__\": {\"admin\": true}, \"confirm\"",
        ),
        400,
        "invalid_field",
    );

    // Amounts.
    for (name, amount, code) in [
        ("amount 0", "0", "invalid_amount"),
        ("amount -0", "-0", "invalid_field"),
        ("amount -1", "-1", "invalid_amount"),
        ("amount i64::MIN", "-9223372036854775808", "invalid_amount"),
        ("amount i64::MAX", "9223372036854775807", "invalid_amount"),
        (
            "amount above the 1,000,000 CNY maximum",
            "100000001",
            "invalid_amount",
        ),
        ("amount 1.5 (fractional)", "1.5", "invalid_field"),
        ("amount 100.0 (a float)", "100.0", "invalid_field"),
        ("amount 1e3 (exponent)", "1e3", "invalid_field"),
        (
            "amount i64::MAX + 1",
            "9223372036854775808",
            "invalid_field",
        ),
        (
            "amount 10^30",
            "1000000000000000000000000000000",
            "invalid_field",
        ),
        ("amount as a string", "\"100\"", "invalid_field"),
        ("amount as a decimal string", "\"1.00\"", "invalid_field"),
        ("amount null", "null", "invalid_field"),
        ("amount true", "true", "invalid_field"),
        ("amount as an array", "[100]", "invalid_field"),
        ("amount as an object", "{\"value\": 100}", "invalid_field"),
        ("amount NaN", "NaN", "invalid_body"),
    ] {
        case(name, body(amount, cny), 400, code);
    }
    case(
        "amount missing",
        body("1", cny).replace("\"amount\": 1, ", ""),
        400,
        "invalid_body",
    );

    // Currencies.
    for (name, currency, code) in [
        ("currency XXX (no currency)", "\"XXX\"", "invalid_currency"),
        ("currency XAU (gold)", "\"XAU\"", "invalid_currency"),
        ("currency XTS (testing)", "\"XTS\"", "invalid_currency"),
        ("currency lower-case cny", "\"cny\"", "invalid_currency"),
        ("currency CNYY", "\"CNYY\"", "invalid_currency"),
        ("currency empty", "\"\"", "invalid_currency"),
        ("currency ABC (unknown)", "\"ABC\"", "invalid_currency"),
        (
            "currency with a NUL byte",
            "\"CN\\u0000\"",
            "invalid_currency",
        ),
        ("currency as its numeric code", "156", "invalid_field"),
        ("currency null", "null", "invalid_field"),
    ] {
        case(name, body("100", currency), 400, code);
    }

    // Injection-looking ids and text in the body.
    for (name, id) in [
        ("SQL injection", "acc_' OR '1'='1"),
        ("NoSQL operator", "{\\\"$ne\\\": null}"),
        ("path traversal", "../../etc/passwd"),
        (
            "a payment id where an account id goes",
            "pay_01KAS0DEM0000000000000000A",
        ),
        ("a lower-case account id", "acc_01kas0dem0000000000000000a"),
        ("a NUL byte", "acc_01KAS0DEM00000000000000\\u0000A"),
    ] {
        let injected = raw_payment(id, &a2, "100", cny);
        case(
            &format!("source account id: {name}"),
            injected,
            400,
            "invalid_field",
        );
    }
    case(
        "a description with control characters",
        json!({"source_account": a1, "destination_account": a2,
        "amount": 1, "currency": "CNY", "description": "ok\u{0007}\r\nX-Injected: 1"})
        .to_string(),
        400,
        "invalid_field",
    );
    case(
        "a description of 501 characters",
        json!({"source_account": a1, "destination_account": a2,
        "amount": 1, "currency": "CNY", "description": "é".repeat(501)})
        .to_string(),
        400,
        "invalid_field",
    );

    for (name, body, status, code) in cases {
        let answer = target.post(&alice, "/v1/payments", &token, &body).await;
        assert_problem(&answer, status, code, &name);
        tally.refused(name);
    }

    // Content types and idempotency keys.
    let good = body("100", cny);
    for (name, headers, code) in [
        (
            "a JSON body sent as text/plain",
            vec![
                ("content-type", "text/plain"),
                ("idempotency-key", "k-plain"),
            ],
            "invalid_body",
        ),
        (
            "a JSON body sent as a form",
            vec![
                ("content-type", "application/x-www-form-urlencoded"),
                ("idempotency-key", "k-form"),
            ],
            "invalid_body",
        ),
        ("no Idempotency-Key", vec![], "idempotency_key_missing"),
        (
            "an Idempotency-Key of 256 characters",
            vec![("idempotency-key", "k".repeat(256).leak() as &str)],
            "invalid_idempotency_key",
        ),
        (
            "an Idempotency-Key with spaces",
            vec![("idempotency-key", "a key; DROP TABLE")],
            "invalid_idempotency_key",
        ),
    ] {
        let answer = target
            .post_with(&alice, "/v1/payments", &token, &good, &headers)
            .await;
        assert_problem(&answer, 400, code, name);
        tally.refused(name);
    }

    // Injection-looking ids in paths: each reaches the function as one segment and is refused
    // as a malformed id; a decoded `/` changes the route and the gateway has none.
    let hostile_ids = [
        ("SQL injection", "pay_' OR '1'='1"),
        ("NoSQL operator", "pay_{\"$ne\":null}"),
        ("HTML injection", "pay_<img src=x onerror=alert(1)>"),
        ("NUL byte", "pay_01KAS0DEM0000000000000\u{0}0A"),
        ("CRLF", "pay_x\r\nX-Injected: 1"),
        ("wildcard", "pay_*"),
        ("an account id", "acc_01KAS0DEM0000000000000000A"),
        ("4000 characters", &"A".repeat(4000)),
    ];
    for (name, id) in hostile_ids {
        let case = format!("payment id in the path: {name}");
        let answer = target
            .get(
                &alice,
                &format!("/v1/payments/{}", percent_encode(id)),
                &token,
            )
            .await;
        assert_problem(&answer, 400, "invalid_id", &case);
        tally.refused(case);
    }
    let case = "payment id in the path: encoded path traversal";
    let answer = target
        .get(
            &alice,
            &format!("/v1/payments/{}", percent_encode("../accounts")),
            &token,
        )
        .await;
    assert_gateway(&answer, 403, "Missing Authentication Token", case);
    tally.refused(case);
    let case = "account id in the path: SQL injection (balance)";
    let answer = target
        .get(
            &alice,
            &format!("/v1/accounts/{}/balance", percent_encode("acc_' OR 1=1 --")),
            &token,
        )
        .await;
    assert_problem(&answer, 400, "invalid_id", case);
    tally.refused(case);
    let case = "account id in the path: SQL injection (confirm)";
    let answer = target
        .post(
            &alice,
            &format!("/v1/payments/{}/confirm", percent_encode("pay_' OR 1=1 --")),
            &token,
            "",
        )
        .await;
    assert_problem(&answer, 400, "invalid_id", case);
    tally.refused(case);

    // Query strings.
    for (name, query) in [
        ("limit with SQL", "limit=1%3BDROP%20TABLE"),
        ("limit -1", "limit=-1"),
        ("limit 100000", "limit=100000"),
        ("limit twice", "limit=1&limit=100"),
        ("from with injection", "from=1970%27%20OR%201%3D1"),
        ("an unknown owner parameter", "owner=bob-shop"),
    ] {
        let case = format!("transactions query: {name}");
        let answer = target
            .get(
                &alice,
                &format!("/v1/accounts/{a1}/transactions?{query}"),
                &token,
            )
            .await;
        assert_problem(&answer, 400, "invalid_query", &case);
        tally.refused(case);
    }

    // Over API Gateway's 10 MB: refused on the declared length, before the body is sent
    // (`Expect: 100-continue`) and before any function runs.
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nhost: {}\r\nx-api-key: {}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\nidempotency-key: k-huge\r\ncontent-length: {}\r\n\
         expect: 100-continue\r\nconnection: close\r\n\r\n",
        target.addr,
        alice.api_key,
        10 * 1024 * 1024 + 1
    );
    let answer = raw_exchange(target.addr, head.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 413 ") && answer.contains(r#"{"message":"Request Too Long"}"#),
        "a body over 10 MB: {answer}"
    );
    tally.refused("a body declared over 10 MB");

    // Still serving, and nothing moved.
    let alive = target
        .get(&alice, &format!("/v1/accounts/{a1}/balance"), &token)
        .await;
    assert_eq!(alive.status, 200, "{:?}", alive.body);
    assert_eq!(target.books().await, before, "no hostile body moved money");
    tally
}

/// Writes `request` on a fresh connection and reads the whole answer.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request)
        .await
        .expect("write the request head");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("read the answer");
    String::from_utf8_lossy(&answer).into_owned()
}
