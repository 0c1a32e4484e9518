//! The events API Gateway sends: the REST v1 proxy event a function gets, and the REQUEST event
//! the Lambda authorizer gets, built from the HTTP request.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use base64::{Engine, engine::general_purpose::STANDARD};
use lambda_http::request::LambdaRequest;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The account id in ARNs and request contexts.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region in ARNs.
pub const REGION: &str = "local";

/// One HTTP request as the gateway saw it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: String,
    /// The full path (`/v1/payments`) as received; the gateway strips the stage before it
    /// builds events, which carry it without (`/payments`).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
}

/// What the gateway adds to a request: ids, the matched resource, the caller.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub request_id: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
    /// The resource as declared (`/payments/{payment_id}`).
    pub resource: &'a str,
    pub path_parameters: &'a [(String, String)],
    pub api_key: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    pub received: OffsetDateTime,
}

impl Incoming {
    /// The value of a header (the last one, as API Gateway's single-value map keeps).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{path}`.
pub fn method_arn(ctx: &Context<'_>, req: &Incoming) -> String {
    format!(
        "arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{}/{}/{}{}",
        ctx.api_id, ctx.stage, req.method, req.path
    )
}

fn single_and_multi(pairs: &[(String, String)]) -> (Value, Value) {
    if pairs.is_empty() {
        return (Value::Null, Value::Null);
    }
    let (mut single, mut multi) = (Map::new(), Map::new());
    for (name, value) in pairs {
        single.insert(name.clone(), Value::from(value.as_str()));
        match multi.entry(name.clone()).or_insert_with(|| json!([])) {
            Value::Array(values) => values.push(Value::from(value.as_str())),
            _ => unreachable!("multi-value entries are arrays"),
        }
    }
    (Value::Object(single), Value::Object(multi))
}

fn path_parameters(ctx: &Context<'_>) -> Value {
    if ctx.path_parameters.is_empty() {
        return Value::Null;
    }
    Value::Object(
        ctx.path_parameters
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

fn request_context(ctx: &Context<'_>, req: &Incoming) -> Value {
    let epoch_ms = i64::try_from(ctx.received.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let time_format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    json!({
        "accountId": ACCOUNT_ID,
        "apiId": ctx.api_id,
        "domainName": req.header("host").unwrap_or("localhost"),
        "domainPrefix": ctx.api_id,
        "extendedRequestId": ctx.request_id,
        "httpMethod": req.method,
        "identity": {
            "apiKey": ctx.api_key,
            "apiKeyId": ctx.api_key_id,
            "sourceIp": req.source_ip,
            "userAgent": req.header("user-agent"),
        },
        "path": format!("/{}{}", ctx.stage, req.path),
        "protocol": "HTTP/1.1",
        "requestId": ctx.request_id,
        "requestTime": ctx.received.format(time_format).unwrap_or_default(),
        "requestTimeEpoch": epoch_ms,
        "resourceId": "local",
        "resourcePath": ctx.resource,
        "stage": ctx.stage,
    })
}

/// The REST v1 proxy event for the function; `authorizer` is the principal and context the
/// authorizer allowed with.
pub fn proxy_event(
    ctx: &Context<'_>,
    req: &Incoming,
    authorizer: Option<(&str, &Map<String, Value>)>,
) -> Value {
    let (headers, multi_headers) = single_and_multi(&req.headers);
    let (query, multi_query) = single_and_multi(&req.query);
    let mut context = request_context(ctx, req);
    if let Some((principal, fields)) = authorizer {
        let mut auth = fields.clone();
        auth.insert("principalId".to_owned(), json!(principal));
        auth.insert("integrationLatency".to_owned(), json!(0));
        context["authorizer"] = Value::Object(auth);
    }
    let (body, base64) = match (req.body.is_empty(), std::str::from_utf8(&req.body)) {
        (true, _) => (Value::Null, false),
        (false, Ok(text)) => (json!(text), false),
        (false, Err(_)) => (json!(STANDARD.encode(&req.body)), true),
    };
    let event = json!({
        "resource": ctx.resource,
        "path": req.path,
        "httpMethod": req.method,
        "stageVariables": null,
        "isBase64Encoded": base64,
        "version": "1.0",
    });
    with_values(
        event,
        [
            ("headers", headers),
            ("multiValueHeaders", multi_headers),
            ("queryStringParameters", query),
            ("multiValueQueryStringParameters", multi_query),
            ("pathParameters", path_parameters(ctx)),
            ("requestContext", context),
            ("body", body),
        ],
    )
}

/// `event` with `fields` moved in: `json!` would copy each `Value` it is given, by serializing
/// it, on every request.
fn with_values<const N: usize>(mut event: Value, fields: [(&str, Value); N]) -> Value {
    for (name, value) in fields {
        event[name] = value;
    }
    event
}

/// A [`proxy_event`] as the request an in-process function takes: read straight from the
/// JSON value, as `lambda_http` reads the event's text (no trip through a string).
///
/// # Errors
/// When the event is not a REST v1 proxy event.
pub fn proxy_request(event: Value) -> Result<lambda_http::Request, serde_json::Error> {
    let event: ApiGatewayProxyRequest = serde_json::from_value(event)?;
    Ok(LambdaRequest::ApiGatewayV1(event).into())
}

/// The REQUEST event for the Lambda authorizer.
pub fn authorizer_event(ctx: &Context<'_>, req: &Incoming) -> Value {
    let (headers, multi_headers) = single_and_multi(&req.headers);
    let (query, multi_query) = single_and_multi(&req.query);
    let event = json!({
        "type": "REQUEST",
        "methodArn": method_arn(ctx, req),
        "resource": ctx.resource,
        "path": req.path,
        "httpMethod": req.method,
        "stageVariables": null,
    });
    with_values(
        event,
        [
            ("headers", headers),
            ("multiValueHeaders", multi_headers),
            ("queryStringParameters", query),
            ("multiValueQueryStringParameters", multi_query),
            ("pathParameters", path_parameters(ctx)),
            ("requestContext", request_context(ctx, req)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use lambda_http::{RequestExt, request::RequestContext};
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_proxy_event_is_a_rest_v1_event_lambda_http_reads() {
        let req = Incoming {
            method: "GET".into(),
            path: "/accounts/acc_1/transactions".into(),
            headers: vec![
                ("x-api-key".into(), "k".into()),
                ("accept".into(), "a".into()),
                ("accept".into(), "b".into()),
            ],
            query: vec![
                ("limit".into(), "5".into()),
                ("t".into(), "1".into()),
                ("t".into(), "2".into()),
            ],
            body: vec![0xff, 0x00],
            source_ip: "127.0.0.9".into(),
        };
        let params = [("account_id".to_owned(), "acc_1".to_owned())];
        let ctx = Context {
            request_id: "rid",
            api_id: "api",
            stage: "v1",
            resource: "/accounts/{account_id}/transactions",
            path_parameters: &params,
            api_key: Some("k"),
            api_key_id: Some("kid"),
            received: datetime!(2026-11-23 10:00 UTC),
        };
        let context = json!({"client_id": "cli_1"});
        let fields = context.as_object().unwrap();
        let event = proxy_event(&ctx, &req, Some(("cli_1", fields)));
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["multiValueHeaders"]["accept"], json!(["a", "b"]));
        assert_eq!(event["headers"]["accept"], "b");
        let text: ApiGatewayProxyRequest = serde_json::from_str(&event.to_string()).unwrap();
        let value: ApiGatewayProxyRequest = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(value, text, "the value reads as the text does");
        let request = proxy_request(event).unwrap();
        assert_eq!(request.path_parameters().first("account_id"), Some("acc_1"));
        assert_eq!(request.query_string_parameters().first("limit"), Some("5"));
        assert_eq!(
            request.query_string_parameters().all("t").unwrap(),
            vec!["1", "2"]
        );
        assert_eq!(request.body().as_ref(), &[0xff, 0x00]);
        let Some(RequestContext::ApiGatewayV1(rc)) = request.request_context_ref() else {
            panic!("not a REST v1 request");
        };
        assert_eq!(rc.request_id.as_deref(), Some("rid"));
        assert_eq!(rc.stage.as_deref(), Some("v1"));
        assert_eq!(rc.identity.api_key.as_deref(), Some("k"));
        assert_eq!(rc.identity.source_ip.as_deref(), Some("127.0.0.9"));
        assert_eq!(rc.authorizer.fields["client_id"], "cli_1");
        assert_eq!(
            method_arn(&ctx, &req),
            "arn:aws:execute-api:local:123456789012:api/v1/GET/accounts/acc_1/transactions"
        );
    }
}
