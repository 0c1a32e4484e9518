//! Risk control end to end over real HTTP through `paygate-local` (routes, authorizer, API keys
//! and the new review function from `infra/template.yaml`), once on the embedded store and once
//! on the DynamoDB adapter against moto, where the hold's DynamoDB round trips are counted.
//!
//! A payer with rules of its own pays a shop; an operator reviews; a merchant that tries to
//! review gets nothing. Every rule, decision, review path and event is exercised.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use paygate_local::{Backend, Background, Gateway, seed};
use paygate_shared::{
    AccountId, ManualClock, RiskRules,
    money::Currency,
    store::dynamodb::{DynamoStore, TableNames, sdk_config_for_endpoint},
};
use paygate_template::{StoreTables, Template, create_store_tables};
use paygate_testkit::{Answer, T0, http::send, moto_endpoint};
use serde_json::{Value, json};

const PAYER: &str = "payer";
const PAYER2: &str = "payer-two";
const PAYER2_ACCOUNT: &str = "acc_01KAS0RSK000000000000000P2";
const SHOP: &str = "shop";
const BLOCKED: &str = "blocked-shop";
const DESK: &str = "risk-desk";
const SECRET: &str = "risk-flow-secret-0123456789";
const PAYER_ACCOUNT: &str = "acc_01KAS0RSK0000000000000000P";
const SHOP_ACCOUNT: &str = "acc_01KAS0RSK0000000000000000S";
const BLOCKED_ACCOUNT: &str = "acc_01KAS0RSK0000000000000000B";
const MERCHANT_SCOPES: &[&str] = &[
    "payments:write",
    "payments:read",
    "accounts:read",
    "webhooks:manage",
];

struct Client {
    addr: std::net::SocketAddr,
    api_key: String,
    token: String,
}

async fn token(addr: std::net::SocketAddr, id: &str, api_key: &str, scope: Option<&str>) -> Answer {
    let basic = STANDARD.encode(format!("{id}:{SECRET}"));
    let form = match scope {
        Some(scope) => format!(
            "grant_type=client_credentials&scope={}",
            scope.replace(' ', "+")
        ),
        None => "grant_type=client_credentials".to_owned(),
    };
    send(
        addr,
        "POST",
        "/v1/oauth/token",
        &[
            ("x-api-key", api_key),
            ("authorization", &format!("Basic {basic}")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form,
    )
    .await
}

impl Client {
    async fn new(addr: std::net::SocketAddr, id: &str) -> Self {
        let api_key = format!("{id}-api-key-0123456789");
        let answer = token(addr, id, &api_key, None).await;
        assert_eq!(answer.status, 200, "{id}: {:?}", answer.body);
        Self {
            addr,
            api_key,
            token: answer.body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let bearer = format!("Bearer {}", self.token);
        let mut headers = vec![
            ("x-api-key", self.api_key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        if let Some(key) = key {
            headers.push(("idempotency-key", key));
        }
        let body = match body {
            Some(body) => {
                headers.push(("content-type", "application/json"));
                body.to_string()
            }
            None => String::new(),
        };
        send(self.addr, method, &format!("/v1{path}"), &headers, body).await
    }

    async fn pay(&self, key: &str, destination: &str, amount: i64, confirm: bool) -> Answer {
        self.call(
            "POST",
            "/payments",
            Some(key),
            Some(
                json!({"source_account": PAYER_ACCOUNT, "destination_account": destination,
                        "amount": amount, "currency": "CNY", "confirm": confirm}),
            ),
        )
        .await
    }

    async fn available(&self, account: &str) -> i64 {
        let got = self
            .call("GET", &format!("/accounts/{account}/balance"), None, None)
            .await;
        assert_eq!(got.status, 200, "{:?}", got.body);
        got.body["available"].as_i64().unwrap()
    }
}

struct Meter(Option<DynamoStore>, u64);

impl Meter {
    fn spent(&mut self) -> Option<u64> {
        let store = self.0.as_ref()?;
        let now = store.round_trips();
        let spent = now - self.1;
        self.1 = now;
        Some(spent)
    }
}

fn id(answer: &Answer) -> String {
    answer.body["id"].as_str().expect("an id").to_owned()
}

async fn flow(backend: Backend, mut meter: Meter) {
    let template = Template::bundled().expect("the bundled template");
    let mut gateway = Gateway::new(&template, backend).expect("every route of the template runs");
    let merchant: Vec<String> = MERCHANT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let rules = RiskRules::from_value(&json!({
        "review_amount": 50_000,
        "new_payee_max_amount": 20_000,
        "max_payments_per_hour": 5,
        "blocked_clients": [BLOCKED],
    }))
    .unwrap();
    let rules2 = RiskRules::from_value(&json!({
        "max_payments_per_day": 2,
        "max_amount_per_hour": 30_000,
        "new_payee_max_amount": 5_000,
        "blocked_accounts": [BLOCKED_ACCOUNT],
    }))
    .unwrap();
    for (client, operator, risk, scopes) in [
        (PAYER, false, Some(rules), merchant.clone()),
        (PAYER2, false, Some(rules2), merchant.clone()),
        (SHOP, false, None, merchant.clone()),
        (BLOCKED, false, None, merchant.clone()),
        (
            DESK,
            true,
            None,
            vec!["risk:review".to_owned(), "payments:read".to_owned()],
        ),
    ] {
        gateway
            .add_api_key(
                &format!("{client}-key"),
                &format!("{client}-api-key-0123456789"),
                seed::DEMO_PLAN,
            )
            .unwrap();
        seed::add_client_with(&gateway, client, SECRET, &scopes, operator, risk)
            .await
            .unwrap();
    }
    // A merchant cannot be seeded with the reviewer's scope.
    let refused = seed::add_client_with(
        &gateway,
        "sneaky",
        SECRET,
        &["risk:review".to_owned()],
        false,
        None,
    )
    .await;
    assert!(refused.is_err(), "risk:review needs an operator");
    for (account, owner, balance) in [
        (PAYER_ACCOUNT, PAYER, 1_000_000),
        (PAYER2_ACCOUNT, PAYER2, 1_000_000),
        (SHOP_ACCOUNT, SHOP, 0),
        (BLOCKED_ACCOUNT, BLOCKED, 0),
    ] {
        let account: AccountId = account.parse().unwrap();
        seed::add_account(&gateway, account, owner, Currency::CNY, balance)
            .await
            .unwrap();
    }
    let server = Background::start(Arc::new(gateway)).await.expect("serves");
    let addr = server.addr();
    let payer = Client::new(addr, PAYER).await;
    let desk = Client::new(addr, DESK).await;
    let shop = Client::new(addr, SHOP).await;

    // A merchant asking for the reviewer's scope is refused by the token endpoint.
    let grab = token(addr, SHOP, &shop.api_key, Some("risk:review")).await;
    assert_eq!(grab.status, 400, "{:?}", grab.body);
    assert_eq!(grab.body["error"], "invalid_scope");

    // 1. A first payment to the shop, within new_payee_max_amount: allowed, new payee noted.
    meter.spent();
    let first = payer.pay("r-1", SHOP_ACCOUNT, 10_000, false).await;
    let first_trips = meter.spent();
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["status"], "pending");
    assert_eq!(first.body["risk"]["decision"], "allow");
    assert!(
        first.body["risk"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("new_payee"))
    );
    // 2. The shop is known now: the hold is one write.
    meter.spent();
    let second = payer.pay("r-2", SHOP_ACCOUNT, 10_000, false).await;
    let known_trips = meter.spent();
    assert_eq!(second.body["status"], "pending", "{:?}", second.body);
    assert!(
        !second.body["risk"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("new_payee"))
    );

    // 3. At review_amount: held for review; the payer cannot confirm it.
    let big = payer.pay("r-3", SHOP_ACCOUNT, 60_000, false).await;
    assert_eq!(big.status, 201, "{:?}", big.body);
    assert_eq!(big.body["status"], "requires_review");
    assert_eq!(big.body["risk"]["reasons"][0], "review_amount");
    let confirm = payer
        .call(
            "POST",
            &format!("/payments/{}/confirm", id(&big)),
            None,
            None,
        )
        .await;
    assert_eq!(confirm.status, 409, "{:?}", confirm.body);
    // The merchant cannot review it, even its own payee.
    let as_shop = shop.call("GET", "/reviews", None, None).await;
    assert_eq!(as_shop.status, 403, "{:?}", as_shop.body);
    let self_approve = payer
        .call(
            "POST",
            &format!("/payments/{}/review", id(&big)),
            None,
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(self_approve.status, 403, "{:?}", self_approve.body);
    // The operator sees it with both parties, and approves it once.
    let listed = desk.call("GET", "/reviews", None, None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let items = listed.body["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["payer"].as_str(), items[0]["payee"].as_str()),
        (Some(PAYER), Some(SHOP))
    );
    let review_path = format!("/payments/{}/review", id(&big));
    let approved = desk
        .call(
            "POST",
            &review_path,
            None,
            Some(json!({"decision": "approve", "note": "known customer"})),
        )
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "pending");
    let twice = desk
        .call(
            "POST",
            &review_path,
            None,
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(
        (twice.status, twice.body["code"].as_str()),
        (409, Some("payment_not_in_review"))
    );
    let captured = payer
        .call(
            "POST",
            &format!("/payments/{}/confirm", id(&big)),
            None,
            None,
        )
        .await;
    assert_eq!(captured.body["status"], "succeeded", "{:?}", captured.body);

    // 4. A one-step payment sent to review, declined: the hold comes back.
    let before = payer.available(PAYER_ACCOUNT).await;
    let one_step = payer.pay("r-4", SHOP_ACCOUNT, 55_000, true).await;
    assert_eq!(
        one_step.body["status"], "requires_review",
        "{:?}",
        one_step.body
    );
    assert_eq!(payer.available(PAYER_ACCOUNT).await, before - 55_000);
    let declined = desk
        .call(
            "POST",
            &format!("/payments/{}/review", id(&one_step)),
            None,
            Some(json!({"decision": "decline", "note": "unusual"})),
        )
        .await;
    assert_eq!(declined.body["status"], "declined", "{:?}", declined.body);
    assert_eq!(payer.available(PAYER_ACCOUNT).await, before);

    // 5. A blocked payee: declined at once, kept, answered the same on a retry.
    let blocked = payer.pay("r-5", BLOCKED_ACCOUNT, 100, true).await;
    assert_eq!(blocked.status, 422, "{:?}", blocked.body);
    assert_eq!(blocked.body["code"], "payment_declined");
    assert_eq!(blocked.body["reasons"][0], "blocked_clients");
    let again = payer.pay("r-5", BLOCKED_ACCOUNT, 100, true).await;
    assert_eq!((again.status, &again.body), (422, &blocked.body));
    let declined_list = payer
        .call("GET", "/payments?status=declined", None, None)
        .await;
    let declined_ids: Vec<&str> = declined_list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(declined_ids.len(), 2, "{:?}", declined_list.body);
    assert!(declined_ids.contains(&blocked.body["payment_id"].as_str().unwrap()));

    // 6. Velocity: 4 holds so far this hour (declined at creation did not count); the 5th is the
    // last the limit allows.
    let fifth = payer.pay("r-6", SHOP_ACCOUNT, 100, false).await;
    assert_eq!(fifth.status, 201, "{:?}", fifth.body);
    let sixth = payer.pay("r-7", SHOP_ACCOUNT, 100, false).await;
    assert_eq!(
        (sixth.status, sixth.body["code"].as_str()),
        (422, Some("velocity_limit_exceeded")),
        "{:?}",
        sixth.body
    );

    // 7. The other rules, for a second payer: a new payee above new_payee_max_amount goes to
    // review and its approval captures it (created with confirm: true); max_amount_per_hour,
    // blocked_accounts, max_payments_per_day.
    let payer2 = Client::new(addr, PAYER2).await;
    let pay2 = async |key: &str, destination: &str, amount: i64, confirm: bool| {
        payer2
            .call(
                "POST",
                "/payments",
                Some(key),
                Some(
                    json!({"source_account": PAYER2_ACCOUNT, "destination_account": destination,
                            "amount": amount, "currency": "CNY", "confirm": confirm}),
                ),
            )
            .await
    };
    let new_payee = pay2("s-1", SHOP_ACCOUNT, 8_000, true).await;
    assert_eq!(
        new_payee.body["status"], "requires_review",
        "{:?}",
        new_payee.body
    );
    assert_eq!(new_payee.body["risk"]["reasons"][0], "new_payee_max_amount");
    let captured = desk
        .call(
            "POST",
            &format!("/payments/{}/review", id(&new_payee)),
            None,
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(captured.body["status"], "succeeded", "{:?}", captured.body);
    assert_eq!(captured.body["amount_captured"], 8_000);
    let over_amount = pay2("s-2", SHOP_ACCOUNT, 25_000, false).await;
    assert_eq!(
        over_amount.body["code"], "velocity_limit_exceeded",
        "{:?}",
        over_amount.body
    );
    assert!(
        over_amount.body["detail"]
            .as_str()
            .unwrap()
            .contains("max_amount_per_hour")
    );
    assert_eq!(pay2("s-3", SHOP_ACCOUNT, 100, true).await.status, 201);
    let blocked_account = pay2("s-4", BLOCKED_ACCOUNT, 100, false).await;
    assert_eq!(
        blocked_account.body["code"], "payment_declined",
        "{:?}",
        blocked_account.body
    );
    assert_eq!(blocked_account.body["reasons"][0], "blocked_accounts");
    let over_day = pay2("s-5", SHOP_ACCOUNT, 100, false).await;
    assert_eq!(
        over_day.body["code"], "velocity_limit_exceeded",
        "{:?}",
        over_day.body
    );
    assert!(
        over_day.body["detail"]
            .as_str()
            .unwrap()
            .contains("max_payments_per_day")
    );
    let events2 = payer2.call("GET", "/events?limit=100", None, None).await;
    let types2: Vec<&str> = events2.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for expected in [
        "payment.review_required",
        "payment.review_approved",
        "payment.succeeded",
        "payment.declined",
    ] {
        assert!(types2.contains(&expected), "{expected} in {types2:?}");
    }

    // 8. The events the payer was sent, in order of kind.
    let events = payer.call("GET", "/events?limit=100", None, None).await;
    assert_eq!(events.status, 200, "{:?}", events.body);
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for expected in [
        "payment.review_required",
        "payment.review_approved",
        "payment.declined",
        "risk.alert",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    let alert = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "risk.alert")
        .unwrap();
    assert_eq!(alert["data"]["object"]["rule"], "max_payments_per_hour");
    assert_eq!(alert["data"]["object"]["used"], 4);
    assert_eq!(
        types.iter().filter(|t| **t == "payment.declined").count(),
        2,
        "one declined at creation, one in review"
    );

    if meter.0.is_some() {
        let (first, known) = (first_trips.unwrap(), known_trips.unwrap());
        println!(
            "round trips: first payment to a new payee {first} (rules and owner read, the known \
             check fails, the new payee is written), payment to a known payee {known}"
        );
        assert_eq!(
            known, 1,
            "a known payee with cached rules: one TransactWriteItems"
        );
        assert_eq!(first, 4);
    }
    server.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_control_through_the_gateway_on_the_embedded_store() {
    let backend = Backend::in_memory(Arc::new(ManualClock::new(T0))).expect("keys");
    flow(backend, Meter(None, 0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_control_through_the_gateway_on_dynamodb() {
    let config = sdk_config_for_endpoint(&moto_endpoint(), "us-east-1", true).await;
    let prefix = format!("risk{}", ulid::Ulid::new().to_string().to_lowercase());
    let store = DynamoStore::new(&config, TableNames::with_prefix(&prefix));
    let template = Template::bundled().expect("infra/template.yaml parses");
    let tables = store.tables();
    let names = StoreTables {
        accounts: &tables.accounts,
        transactions: &tables.transactions,
    };
    create_store_tables(store.client(), &template, names)
        .await
        .expect("tables");
    let backend =
        Backend::with_store(Arc::new(store.clone()), Arc::new(ManualClock::new(T0))).expect("keys");
    flow(backend, Meter(Some(store), 0)).await;
}
