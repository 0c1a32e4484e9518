//! Micro-benchmarks of the per-request hot paths, in-process and with no I/O: ES256 token
//! verification (through the key cache, as the authorizer and the functions do, and the whole
//! authorizer on its REQUEST event), the problem+json and payment JSON answers, money parsing,
//! and the local gateway's evaluation of an authorizer policy.
//!
//! Short measurement windows keep `cargo bench -p paygate-bench` to about a minute; pass
//! `-- --quick` for a faster, rougher run.

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use paygate_authorizer::{AuthorizerDeps, Request, authorize, policy};
use paygate_shared::{
    AccountError, AccountId, ClientId, ManualClock, Money, NewPayment, Payment, StoreError,
    api::{ApiError, views::PaymentView},
    auth::{
        Claims, Expectations, KeyCache, KeySet, Scope, Scopes, SigningKey, StaticKeySource,
        UnverifiedToken, sign,
    },
    money::{AmountPolicy, parse_currency},
};
use serde_json::json;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-22 10:00 UTC);
const ISSUER: &str = "paygate";
const AUDIENCE: &str = "paygate-api";
const METHOD_ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:s4x3opwd6i/v1/POST/payments";

fn tokens(c: &mut Criterion) {
    let key = SigningKey::generate(NOW).expect("a P-256 key");
    let scopes: Scopes = [
        Scope::PaymentsWrite,
        Scope::PaymentsRead,
        Scope::AccountsRead,
    ]
    .into_iter()
    .collect();
    let claims = Claims::new(
        ISSUER,
        "shop-1",
        AUDIENCE,
        scopes,
        NOW,
        time::Duration::minutes(15),
    );
    let token = sign(&key, &claims);
    let expected = Expectations::new(ISSUER, AUDIENCE);
    let verifying = key.verifying_key();
    let keys = Arc::new(KeyCache::new(
        Arc::new(StaticKeySource::new(KeySet::verify_only(vec![
            verifying.clone(),
        ]))),
        Duration::from_secs(300),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");

    let mut group = c.benchmark_group("jwt");
    group.bench_function("sign ES256", |b| b.iter(|| sign(&key, black_box(&claims))));
    group.bench_function("verify ES256 (parse + signature + claims)", |b| {
        b.iter(|| {
            UnverifiedToken::parse(black_box(&token))
                .and_then(|t| t.verify(&verifying, &expected, NOW))
                .expect("valid")
        });
    });
    group.bench_function("verify through the key cache", |b| {
        b.to_async(&runtime).iter(|| async {
            keys.verify(black_box(&token), &expected, NOW)
                .await
                .expect("valid")
        });
    });
    group.finish();

    let deps = AuthorizerDeps {
        keys,
        expected,
        clock: Arc::new(ManualClock::new(NOW)),
    };
    let mut event: Request = serde_json::from_str(include_str!(
        "../../../functions/authorizer/tests/data/apigw-custom-auth-request-type-request.json"
    ))
    .expect("the authorizer fixture");
    event.headers.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    c.bench_function("authorizer: REQUEST event to Allow policy", |b| {
        b.to_async(&runtime).iter(|| async {
            authorize(&deps, black_box(event.clone()))
                .await
                .expect("allowed")
        });
    });
}

fn answers(c: &mut Criterion) {
    let source: AccountId = "acc_01KAS0DEM0000000000000000A".parse().expect("an id");
    let destination: AccountId = "acc_01KAS0DEM0000000000000000B".parse().expect("an id");
    let currency = parse_currency("CNY").expect("CNY");
    let payment = Payment::pending(
        NewPayment {
            client_id: "shop-1".parse::<ClientId>().expect("a client id"),
            payee: "shop-2".parse::<ClientId>().expect("a client id"),
            source,
            destination,
            amount: Money::new(1250, currency),
            description: Some("order 4711".to_owned()),
        },
        NOW,
        time::Duration::minutes(15),
    )
    .expect("a payment");

    let mut group = c.benchmark_group("json");
    group.bench_function("payment view to JSON", |b| {
        b.iter(|| serde_json::to_vec(&PaymentView::from(black_box(&payment))).expect("json"));
    });
    group.bench_function("problem+json: invalid request (400)", |b| {
        b.iter(|| {
            ApiError::invalid("invalid_amount", "amount must be a positive integer")
                .into_response(black_box("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"))
        });
    });
    group.bench_function("problem+json: insufficient funds (422)", |b| {
        b.iter(|| {
            ApiError::Store(StoreError::Account(AccountError::InsufficientFunds {
                account: source,
                available: 1000,
                requested: 1250,
            }))
            .into_response(black_box("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"))
        });
    });
    group.finish();
}

fn money(c: &mut Criterion) {
    let cny = parse_currency("CNY").expect("CNY");
    let policy = AmountPolicy::default();
    let mut group = c.benchmark_group("money");
    group.bench_function("parse_decimal \"12345.67\" CNY", |b| {
        b.iter(|| Money::parse_decimal(black_box("12345.67"), cny).expect("money"));
    });
    group.bench_function("parse_currency + AmountPolicy::amount", |b| {
        b.iter(|| {
            let currency = parse_currency(black_box("CNY")).expect("CNY");
            policy.amount(black_box(1250), currency).expect("amount")
        });
    });
    group.finish();
}

fn gateway_policy(c: &mut Criterion) {
    let resource = policy::stage_wildcard(METHOD_ARN).expect("a method ARN");
    let answer = policy::allow(
        "shop-1".to_owned(),
        resource,
        json!({"client_id": "shop-1", "scopes": "payments:write payments:read accounts:read"}),
    );
    c.bench_function("gateway: evaluate the Allow policy on a method ARN", |b| {
        b.iter(|| paygate_local::authz::evaluate(black_box(&answer), black_box(METHOD_ARN)));
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args()
}

criterion_group! {
    name = hot_paths;
    config = config();
    targets = tokens, answers, money, gateway_policy
}
criterion_main!(hot_paths);
