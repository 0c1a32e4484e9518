//! DynamoDB round trips and request units per endpoint, counted against moto, and the cost per
//! million payments that follows from them. Fails when an endpoint's round trips change.
//! With `PAYGATE_WRITE_DOCS=1`, writes both tables into `docs/performance.md`.

#[path = "units/capacity.rs"]
mod capacity;
#[path = "units/cost.rs"]
mod cost;
#[path = "units/cpu.rs"]
mod cpu;
#[path = "units/docs.rs"]
mod docs;
#[path = "units/events.rs"]
mod events;
#[path = "units/recorder.rs"]
mod recorder;
#[path = "units/report.rs"]
mod report;
#[path = "units/size.rs"]
mod size;

use std::{collections::HashMap, sync::Arc};

use capacity::{Index, Snapshot};
use paygate_shared::{
    money::Currency,
    store::{
        AccountStore, ClientStore,
        dynamodb::{DynamoStore, TableNames, sdk_config_for_endpoint},
    },
};
use paygate_template::{Projection, StoreTables, Template, create_store_tables};
use paygate_testkit::{Answer, TestApi, answer, moto_endpoint};
use recorder::{Calls, Recording};
use report::Row;

/// The round trips each endpoint's typical request makes; a change fails the test.
const EXPECTED: [(&str, u64); 18] = [
    ("token", 1),
    ("jwks", 0),
    ("pay (hold)", 1),
    ("get payment", 1),
    ("confirm", 3),
    ("cancel", 2),
    ("pay (one-step)", 2),
    ("balance", 1),
    ("transactions (20)", 1),
    ("transactions (empty)", 2),
    ("confirm (partial)", 3),
    ("refund", 3),
    ("refund (replay)", 2),
    ("refunds", 1),
    ("payments (payer, 20)", 1),
    ("payments (payee, one account)", 1),
    ("accounts", 1),
    ("authorizer", 0),
];
/// One-step payments made before the transactions page, so that a full page (and one more
/// entry, the adapter's `Limit = limit + 1`) exists.
const LEDGER_FILL: usize = 25;

struct Bench {
    store: DynamoStore,
    calls: Calls,
    scanner: aws_sdk_dynamodb::Client,
    indexes: HashMap<String, Vec<Index>>,
    rows: Vec<Row>,
}

impl Bench {
    async fn snapshot(&self) -> Snapshot {
        let mut items = Snapshot::new();
        let tables = self.store.tables();
        for table in [&tables.accounts, &tables.transactions] {
            let mut start = None;
            loop {
                let page = self
                    .scanner
                    .scan()
                    .table_name(table)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .expect("scan");
                for item in page.items.unwrap_or_default() {
                    let text = |name: &str| {
                        item.get(name)
                            .and_then(|v| v.as_s().ok())
                            .cloned()
                            .unwrap_or_default()
                    };
                    items.insert((table.clone(), text("pk"), text("sk")), item);
                }
                start = page.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        items
    }

    /// Runs `request`, recording the DynamoDB calls it makes as endpoint `name`.
    async fn measure<T>(&mut self, name: &'static str, request: impl AsyncFnOnce() -> T) -> T {
        let before = self.snapshot().await;
        self.calls.take();
        let trips = self.store.round_trips();
        let out = request().await;
        let round_trips = self.store.round_trips() - trips;
        let calls = self.calls.take();
        let after = self.snapshot().await;
        assert_eq!(
            calls.len() as u64,
            round_trips,
            "{name}: every round trip recorded"
        );
        let calls = calls
            .iter()
            .map(|call| capacity::cost(call, &before, &after, &self.indexes))
            .collect();
        self.rows.push(Row {
            name,
            round_trips,
            calls,
            cpu_ms: 0.0,
        });
        out
    }
}

/// A list answer (`{"data": [...]}`) with `len` items.
fn assert_page(answer: &Answer, len: usize) {
    assert_eq!(
        answer.body["data"].as_array().map(Vec::len),
        Some(len),
        "{}",
        answer.body
    );
}

fn created(answer: &Answer, status: &str) -> String {
    assert_eq!(
        (answer.status, answer.body["status"].as_str()),
        (201, Some(status)),
        "{}",
        answer.body
    );
    answer.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_units_and_cost_per_endpoint() {
    let base = sdk_config_for_endpoint(&moto_endpoint(), "us-east-1", true).await;
    let calls = Calls::default();
    let recording = Recording {
        inner: base.http_client().expect("an HTTP client"),
        calls: calls.clone(),
    };
    let store_config = base.to_builder().http_client(recording).build();
    let prefix = format!("units{}", ulid::Ulid::new().to_string().to_lowercase());
    let store = DynamoStore::new(&store_config, TableNames::with_prefix(&prefix));
    let template = Template::bundled().expect("infra/template.yaml parses");
    let tables = store.tables().clone();
    create_store_tables(
        store.client(),
        &template,
        StoreTables {
            accounts: &tables.accounts,
            transactions: &tables.transactions,
        },
    )
    .await
    .expect("tables");
    let mut indexes = HashMap::new();
    for (logical, name) in [
        ("AccountsTable", &tables.accounts),
        ("TransactionsTable", &tables.transactions),
    ] {
        let table = template.table(logical).expect("table in the template");
        let list = table
            .global_indexes
            .iter()
            .map(|gsi| {
                assert!(
                    matches!(gsi.projection, Projection::All | Projection::KeysOnly),
                    "GSI writes sized as whole items or as keys: {:?}",
                    gsi.projection
                );
                Index {
                    hash: gsi.key.hash.clone(),
                    range: gsi.key.range.clone(),
                    keys_only: gsi.projection == Projection::KeysOnly,
                }
            })
            .collect();
        indexes.insert(name.clone(), list);
    }
    let mut bench = Bench {
        scanner: aws_sdk_dynamodb::Client::new(&base),
        store: store.clone(),
        calls,
        indexes,
        rows: Vec::new(),
    };

    let api = TestApi::with_store(Arc::new(store.clone()));
    store
        .create_client(&cpu::client_record())
        .await
        .expect("client");
    let alice = api
        .account(events::CLIENT, Currency::CNY, 1_000_000)
        .await
        .to_string();
    let bob = api.account("bob", Currency::CNY, 0).await.to_string();
    // A warm sandbox, as for every row here: the hold reads its destination's owner (the payee)
    // once per sandbox and caches it, so a typical hold is one round trip (a cold one is two:
    // `tests/flows.rs`).
    store
        .account_owner(bob.parse().expect("account id"))
        .await
        .expect("owner");
    let token_deps = cpu::token_deps(&api, Arc::new(store.clone()));
    let authorizer = cpu::authorizer_deps(&api);
    let deps = &api.deps;

    let issued = bench
        .measure("token", async || {
            answer(paygate_authorize::handle(&token_deps, events::token().request()).await)
        })
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let token = issued.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let jwks = bench
        .measure("jwks", async || {
            answer(paygate_authorize::handle(&token_deps, events::jwks().request()).await)
        })
        .await;
    assert_eq!(jwks.status, 200);

    let pay = async |key: &str, confirm: bool| {
        answer(
            paygate_pay::handle(
                deps,
                events::pay(&token, key, &alice, &bob, confirm).request(),
            )
            .await,
        )
    };
    let settle = async |id: &str, action: &str| {
        answer(paygate_confirm::handle(deps, events::settle(&token, id, action).request()).await)
    };
    // A first payment from alice's account to bob's costs what a new payee costs (the rules
    // read, the payee check failing, the write with the payee's record: docs/risk.md); what
    // is counted below is the steady state, a payee paid before.
    let first = pay("units-0", false).await;
    let first = created(&first, "pending");
    assert_eq!(settle(&first, "cancel").await.status, 200);
    let held = bench
        .measure("pay (hold)", async || pay("units-1", false).await)
        .await;
    let id = created(&held, "pending");
    let read = bench
        .measure("get payment", async || {
            answer(paygate_pay::handle(deps, events::get_payment(&token, &id).request()).await)
        })
        .await;
    assert_eq!(
        (read.status, read.body["id"].as_str()),
        (200, Some(id.as_str()))
    );
    let confirmed = bench
        .measure("confirm", async || settle(&id, "confirm").await)
        .await;
    assert_eq!(confirmed.body["status"], "succeeded", "{}", confirmed.body);
    let second = created(&pay("units-2", false).await, "pending");
    let canceled = bench
        .measure("cancel", async || settle(&second, "cancel").await)
        .await;
    assert_eq!(canceled.body["status"], "canceled", "{}", canceled.body);
    let one_step = bench
        .measure("pay (one-step)", async || pay("units-3", true).await)
        .await;
    created(&one_step, "succeeded");
    let balance = bench
        .measure("balance", async || {
            answer(paygate_balance::handle(deps, events::balance(&token, &alice).request()).await)
        })
        .await;
    assert_eq!(
        balance.body["balance"],
        1_000_000 - 2 * 1250,
        "{}",
        balance.body
    );
    for i in 0..LEDGER_FILL {
        created(&pay(&format!("fill-{i}"), true).await, "succeeded");
    }
    let page = bench
        .measure("transactions (20)", async || {
            answer(
                paygate_transactions::handle(deps, events::transactions(&token, &alice).request())
                    .await,
            )
        })
        .await;
    assert_page(&page, 20);
    let empty = bench
        .measure("transactions (empty)", async || {
            answer(
                paygate_transactions::handle(
                    deps,
                    events::transactions_before_any(&token, &alice).request(),
                )
                .await,
            )
        })
        .await;
    assert_eq!(empty.body["data"], serde_json::json!([]), "{}", empty.body);

    // A payment's later life (issue 13). Alice pays a second account of her own, so she is
    // payer and payee both, on one token; the hold is not a row (its first-payee costs are
    // counted above as a steady state).
    let till = api
        .account(events::CLIENT, Currency::CNY, 0)
        .await
        .to_string();
    let held = answer(
        paygate_pay::handle(
            deps,
            events::pay(&token, "units-till", &alice, &till, false).request(),
        )
        .await,
    );
    let to_till = created(&held, "pending");
    let partial = bench
        .measure("confirm (partial)", async || {
            answer(
                paygate_confirm::handle(
                    deps,
                    events::confirm_part(&token, &to_till, 1_000).request(),
                )
                .await,
            )
        })
        .await;
    assert_eq!(
        (
            partial.body["status"].as_str(),
            partial.body["amount_captured"].as_i64()
        ),
        (Some("succeeded"), Some(1_000)),
        "{}",
        partial.body
    );
    let refund = async || {
        answer(
            paygate_refund::handle(
                deps,
                events::refund(&token, &to_till, "units-refund", 400).request(),
            )
            .await,
        )
    };
    let refunded = bench.measure("refund", async || refund().await).await;
    assert_eq!(
        (refunded.status, refunded.body["amount"].as_i64()),
        (201, Some(400)),
        "{}",
        refunded.body
    );
    let replayed = bench
        .measure("refund (replay)", async || refund().await)
        .await;
    assert_eq!(
        (
            replayed.status,
            replayed.header("Idempotent-Replayed"),
            &replayed.body
        ),
        (201, Some("true"), &refunded.body)
    );
    let refunds = bench
        .measure("refunds", async || {
            answer(paygate_refund::handle(deps, events::refunds(&token, &to_till).request()).await)
        })
        .await;
    assert_page(&refunds, 1);
    let as_payer = bench
        .measure("payments (payer, 20)", async || {
            answer(
                paygate_pay::handle(deps, events::payments(&token, "payer", None).request()).await,
            )
        })
        .await;
    assert_page(&as_payer, 20);
    let as_payee = bench
        .measure("payments (payee, one account)", async || {
            answer(
                paygate_pay::handle(
                    deps,
                    events::payments(&token, "payee", Some(&till)).request(),
                )
                .await,
            )
        })
        .await;
    assert_eq!(
        as_payee.body["data"][0]["id"].as_str(),
        Some(to_till.as_str()),
        "{}",
        as_payee.body
    );
    let accounts = bench
        .measure("accounts", async || {
            answer(paygate_balance::handle(deps, events::accounts(&token).request()).await)
        })
        .await;
    assert_page(&accounts, 2);
    bench
        .measure("authorizer", async || {
            paygate_authorizer::authorize(&authorizer, events::authorizer(&token))
                .await
                .expect("allowed")
        })
        .await;
    // The authorizer cannot make a round trip: no DynamoDB client is linked into it.
    let manifest = include_str!("../../../functions/authorizer/Cargo.toml");
    assert!(
        !manifest.contains("dynamodb"),
        "the authorizer gained a DynamoDB dependency"
    );

    let counted: Vec<(&str, u64)> = bench.rows.iter().map(|r| (r.name, r.round_trips)).collect();
    assert_eq!(counted, EXPECTED, "round trips per endpoint changed");

    let cpu = cpu::handler_ms().await;
    for row in &mut bench.rows {
        row.cpu_ms = cpu[row.name];
    }
    let items = bench.snapshot().await;
    let units = report::units_section(&bench.rows, &items);
    let cost = report::cost_section(&bench.rows, cfg!(debug_assertions));
    println!("{units}\n{cost}");
    if std::env::var("PAYGATE_WRITE_DOCS").is_ok_and(|v| v == "1") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/performance.md");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let text = docs::replace_section(&text, "units", &units);
        let text = docs::replace_section(&text, "cost", &cost);
        std::fs::write(path, text).expect("write docs/performance.md");
        println!("wrote {path}");
    }
}
