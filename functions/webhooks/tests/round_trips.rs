//! What each route costs on DynamoDB (moto at `PAYGATE_TEST_DYNAMODB_ENDPOINT`), counted by the
//! adapter: one round trip for every read and for each write, two for a rotation (read, then
//! the conditioned write) and for a resend (the event, then the resend item).

mod support;

use std::sync::Arc;

use paygate_shared::{
    money::Currency,
    store::{
        dynamodb::{DynamoStore, TableNames, sdk_config_for_endpoint},
        memory::MemoryStore,
    },
};
use paygate_template::{StoreTables, Template, create_store_tables};
use paygate_testkit::{Event, answer, moto_endpoint};
use serde_json::json;
use support::World;

async fn dynamodb() -> DynamoStore {
    let config = sdk_config_for_endpoint(&moto_endpoint(), "us-east-1", true).await;
    let prefix = format!("wh{}", ulid::Ulid::new().to_string().to_lowercase());
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
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_costs_its_documented_round_trips() {
    let store = dynamodb().await;
    let w = World::on(Arc::new(store.clone()), Arc::new(MemoryStore::new()));
    let alice = w.api.account("alice", Currency::CNY, 10_000).await;
    let bob = w.api.account("bob", Currency::CNY, 0).await;
    let paid = answer(
        paygate_pay::handle(
            &w.api.deps,
            Event::new("POST", "/payments", "/payments")
                .bearer(&w.api.token("alice", "payments:write"))
                .header("Idempotency-Key", "p-1")
                .json(&json!({"source_account": alice, "destination_account": bob,
                              "amount": 100, "currency": "CNY"}))
                .request(),
        )
        .await,
    );
    assert_eq!(paid.status, 201, "{}", paid.body);

    let mut spent = Vec::new();
    let mut measure = async |route: &'static str, event: Event, status: u16| {
        let before = store.round_trips();
        let got = w.send(event).await;
        assert_eq!(got.status, status, "{route}: {}", got.body);
        spent.push((route, store.round_trips() - before));
        got
    };
    let token = w.token("alice");
    let create = Event::new("POST", "/webhook_endpoints", "/webhook_endpoints")
        .bearer(&token)
        .header("Idempotency-Key", "k-1")
        .json(&json!({"url": "https://93.184.215.14/hooks"}));
    let created = measure("create", create.clone(), 201).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    measure("create (replay)", create, 201).await;
    let one = format!("/webhook_endpoints/{id}");
    let item = "/webhook_endpoints/{endpoint_id}";
    let list = Event::new("GET", "/webhook_endpoints", "/webhook_endpoints").bearer(&token);
    measure("list endpoints", list, 200).await;
    measure(
        "show endpoint",
        Event::new("GET", item, one.clone()).bearer(&token),
        200,
    )
    .await;
    let rotate = Event::new(
        "POST",
        "/webhook_endpoints/{endpoint_id}/rotate_secret",
        format!("{one}/rotate_secret"),
    )
    .bearer(&token);
    measure("rotate secret", rotate, 200).await;
    let events = measure(
        "list events",
        Event::new("GET", "/events", "/events").bearer(&token),
        200,
    )
    .await;
    let event = events.body["data"][0]["id"].as_str().unwrap().to_owned();
    let show = Event::new("GET", "/events/{event_id}", format!("/events/{event}")).bearer(&token);
    measure("show event", show, 200).await;
    let resend = |body| {
        Event::new(
            "POST",
            "/events/{event_id}/resend",
            format!("/events/{event}/resend"),
        )
        .bearer(&token)
        .json(&body)
    };
    measure("resend to all", resend(json!({})), 202).await;
    measure("resend to one", resend(json!({"endpoint_id": id})), 202).await;
    measure(
        "delete endpoint",
        Event::new("DELETE", item, one).bearer(&token),
        200,
    )
    .await;
    assert_eq!(
        spent,
        [
            ("create", 1),
            ("create (replay)", 2),
            ("list endpoints", 1),
            ("show endpoint", 1),
            ("rotate secret", 2),
            ("list events", 1),
            ("show event", 1),
            ("resend to all", 2),
            ("resend to one", 3),
            ("delete endpoint", 1),
        ]
    );
}
