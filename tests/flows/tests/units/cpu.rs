//! Handler time without DynamoDB: each endpoint's typical request run in-process on the
//! in-memory store, median of [`RUNS`]. No I/O happens, so this is CPU time on one core of this
//! machine, in the profile the test was built with (a release build is faster; the DynamoDB
//! SDK's own signing and JSON work is not included).

use std::{collections::HashMap, sync::Arc, time::Instant};

use paygate_shared::{
    auth::{Expectations, KeyCache},
    client::{ClientRecord, ClientStatus, DEFAULT_ROUNDS, SecretHash},
    config::TokenSettings,
    money::Currency,
    store::{ClientStore, memory::MemoryStore},
};
use paygate_testkit::{AUDIENCE, ISSUER, T0, TestApi, answer};

use super::events;

pub const RUNS: usize = 25;

/// Dependencies of the token endpoint over `clients`, with the test API's signing key.
pub fn token_deps(api: &TestApi, clients: Arc<dyn ClientStore>) -> paygate_authorize::TokenDeps {
    let ttl = std::time::Duration::from_secs(300);
    paygate_authorize::TokenDeps {
        clients,
        keys: Arc::new(KeyCache::new(api.keys.clone(), ttl)),
        clock: api.clock.clone(),
        tokens: TokenSettings {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            lifetime: std::time::Duration::from_secs(900),
            key_cache_ttl: ttl,
        },
        round_trips: None,
        metrics: paygate_shared::metrics::Metrics::off(),
    }
}

pub fn authorizer_deps(api: &TestApi) -> paygate_authorizer::AuthorizerDeps {
    paygate_authorizer::AuthorizerDeps {
        keys: Arc::new(KeyCache::new(
            api.keys.clone(),
            std::time::Duration::from_secs(300),
        )),
        expected: Expectations::new(ISSUER, AUDIENCE),
        clock: api.clock.clone(),
    }
}

/// The client `events::CLIENT`, hashed as the admin CLI hashes it.
pub fn client_record() -> ClientRecord {
    ClientRecord {
        client_id: events::CLIENT.parse().expect("client id"),
        secret_hash: SecretHash::new(events::SECRET, DEFAULT_ROUNDS),
        scopes: events::SCOPES.split(' ').map(str::to_owned).collect(),
        status: ClientStatus::Active,
        operator: false,
        risk: None,
        created_at: T0,
    }
}

async fn median<R>(mut run: impl AsyncFnMut(usize) -> R) -> f64 {
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let started = Instant::now();
        run(i).await;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

/// Median milliseconds per endpoint name (the names of `tests/units.rs`).
pub async fn handler_ms() -> HashMap<&'static str, f64> {
    let api = TestApi::new();
    let alice = api
        .account(events::CLIENT, Currency::CNY, 1_000_000_000)
        .await
        .to_string();
    let bob = api.account("bob", Currency::CNY, 0).await.to_string();
    let clients = Arc::new(MemoryStore::new());
    clients
        .create_client(&client_record())
        .await
        .expect("client");
    let tokens = token_deps(&api, clients);
    let authorizer = authorizer_deps(&api);
    let token = api.token(events::CLIENT, events::SCOPES);
    let deps = &api.deps;
    let mut ms = HashMap::new();

    let pay = async |key: String, confirm: bool| {
        let event = events::pay(&token, &key, &alice, &bob, confirm);
        answer(paygate_pay::handle(deps, event.request()).await)
    };
    let mut held = Vec::new();
    ms.insert(
        "pay (hold)",
        median(async |i| {
            held.push(
                pay(format!("h{i}"), false).await.body["id"]
                    .as_str()
                    .map(str::to_owned),
            )
        })
        .await,
    );
    let held: Vec<String> = held.into_iter().flatten().collect();
    assert_eq!(held.len(), RUNS, "every hold succeeded");
    let settle = async |id: &str, action: &str| {
        paygate_confirm::handle(deps, events::settle(&token, id, action).request()).await
    };
    ms.insert(
        "get payment",
        median(async |i| {
            paygate_pay::handle(deps, events::get_payment(&token, &held[i]).request()).await
        })
        .await,
    );
    ms.insert(
        "confirm",
        median(async |i| settle(&held[i], "confirm").await).await,
    );
    let mut more = Vec::new();
    for i in 0..RUNS {
        more.extend(
            pay(format!("c{i}"), false).await.body["id"]
                .as_str()
                .map(str::to_owned),
        );
    }
    ms.insert(
        "cancel",
        median(async |i| settle(&more[i], "cancel").await).await,
    );
    ms.insert(
        "pay (one-step)",
        median(async |i| pay(format!("o{i}"), true).await).await,
    );
    ms.insert(
        "balance",
        median(async |_| {
            paygate_balance::handle(deps, events::balance(&token, &alice).request()).await
        })
        .await,
    );
    ms.insert(
        "transactions (20)",
        median(async |_| {
            paygate_transactions::handle(deps, events::transactions(&token, &alice).request()).await
        })
        .await,
    );
    ms.insert(
        "transactions (empty)",
        median(async |_| {
            let event = events::transactions_before_any(&token, &alice);
            paygate_transactions::handle(deps, event.request()).await
        })
        .await,
    );
    // A payment's later life: alice pays a second account of her own (payer and payee both).
    let till = api
        .account(events::CLIENT, Currency::CNY, 0)
        .await
        .to_string();
    let mut to_till = Vec::new();
    for i in 0..RUNS {
        let event = events::pay(&token, &format!("t{i}"), &alice, &till, false);
        to_till.extend(
            answer(paygate_pay::handle(deps, event.request()).await).body["id"]
                .as_str()
                .map(str::to_owned),
        );
    }
    assert_eq!(to_till.len(), RUNS, "every hold to the till succeeded");
    ms.insert(
        "confirm (partial)",
        median(async |i| {
            let event = events::confirm_part(&token, &to_till[i], 1_000);
            paygate_confirm::handle(deps, event.request()).await
        })
        .await,
    );
    let refund = async |i: usize| {
        let event = events::refund(&token, &to_till[i], &format!("r{i}"), 400);
        answer(paygate_refund::handle(deps, event.request()).await)
    };
    ms.insert(
        "refund",
        median(async |i| assert_eq!(refund(i).await.status, 201)).await,
    );
    ms.insert(
        "refund (replay)",
        median(async |i| {
            let replayed = refund(i).await;
            assert_eq!(replayed.header("Idempotent-Replayed"), Some("true"));
        })
        .await,
    );
    ms.insert(
        "refunds",
        median(async |i| {
            paygate_refund::handle(deps, events::refunds(&token, &to_till[i]).request()).await
        })
        .await,
    );
    ms.insert(
        "payments (payer, 20)",
        median(async |_| {
            let event = events::payments(&token, "payer", None);
            paygate_pay::handle(deps, event.request()).await
        })
        .await,
    );
    ms.insert(
        "payments (payee, one account)",
        median(async |_| {
            let event = events::payments(&token, "payee", Some(&till));
            paygate_pay::handle(deps, event.request()).await
        })
        .await,
    );
    ms.insert(
        "accounts",
        median(async |_| paygate_balance::handle(deps, events::accounts(&token).request()).await)
            .await,
    );
    ms.insert(
        "token",
        median(async |_| paygate_authorize::handle(&tokens, events::token().request()).await).await,
    );
    ms.insert(
        "jwks",
        median(async |_| paygate_authorize::handle(&tokens, events::jwks().request()).await).await,
    );
    ms.insert(
        "authorizer",
        median(async |_| {
            paygate_authorizer::authorize(&authorizer, events::authorizer(&token))
                .await
                .expect("allowed")
        })
        .await,
    );
    ms
}
