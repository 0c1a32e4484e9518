//! The post function's handler on the embedded store: stream batches name accounts to drain
//! (failures reported per record, for the mapping to retry), a schedule sweeps.

use std::sync::Arc;

use async_trait::async_trait;
use paygate_post::{PostDeps, handle};
use paygate_shared::{
    Account, AccountId, AccountLimits, ClientId, Currency, Fingerprint, IdempotencyKey,
    IdempotencyRecord, ManualClock, Money, NewPayment, Payment, PostingMode, StoreError,
    poster::Poster,
    store::{
        AccountStore, Balance, LedgerStore, PaymentStore, Posted, PostingStore,
        dynamodb::{image::item_to_json, unposted_credit_item},
        memory::MemoryStore,
    },
    unposted::UnpostedCredit,
};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);

/// A payer and `merchants` batched accounts, each paid `payments` times 1 unit.
async fn books(merchants: usize, payments: usize) -> (Arc<MemoryStore>, Vec<AccountId>) {
    let store = Arc::new(MemoryStore::new());
    let limits = AccountLimits {
        per_payment: 1_000_000,
        daily_outflow: 1_000_000,
    };
    let open = |owner: &str| {
        let owner: ClientId = owner.parse().unwrap();
        Account::open(AccountId::generate(T0), owner, Currency::CNY, limits, T0)
    };
    let payer = open("alice");
    store.create_account(&payer).await.unwrap();
    store
        .fund(payer.id, Money::new(1_000_000, Currency::CNY), T0)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for m in 0..merchants {
        let merchant = open(&format!("merchant{m}"));
        store.create_account(&merchant).await.unwrap();
        store
            .set_posting(merchant.id, PostingMode::Batched, T0)
            .await
            .unwrap();
        for i in 0..payments {
            let at = T0 + Duration::milliseconds(i as i64);
            let new = NewPayment {
                client_id: payer.owner.clone(),
                payee: merchant.owner.clone(),
                source: payer.id,
                destination: merchant.id,
                amount: Money::new(1, Currency::CNY),
                description: None,
            };
            let p = Payment::pending(new, at, Duration::hours(1)).unwrap();
            let p = p.capture(p.amount, at).unwrap();
            let record = IdempotencyRecord {
                key: IdempotencyKey::new(payer.owner.clone(), &format!("{m}-{i}")).unwrap(),
                fingerprint: Fingerprint::of(&[b"pay".as_slice()]),
                payment_id: p.id,
                response_status: 201,
                response_body: String::new(),
                created_at: at,
                expires_at: at + Duration::days(1),
            };
            store.create_payment(&p, &record, at).await.unwrap();
        }
        ids.push(merchant.id);
    }
    (store, ids)
}

fn deps(store: Arc<dyn PostingStore>, now: OffsetDateTime) -> PostDeps {
    PostDeps {
        poster: Poster::new(store, Arc::new(ManualClock::new(now))),
        metrics: paygate_shared::metrics::Metrics::off(),
    }
}

/// A stream record (as Lambda delivers it) of the insert of `credit`.
fn record(sequence: &str, credit: &UnpostedCredit) -> Value {
    json!({
        "eventID": sequence,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "SequenceNumber": sequence,
            "NewImage": item_to_json(&unposted_credit_item(credit)),
        }
    })
}

fn failures(answer: &Value) -> Vec<&str> {
    answer["batchItemFailures"]
        .as_array()
        .expect("a partial batch response")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_stream_batch_posts_the_credits_its_records_carry_once() {
    let (store, merchants) = books(2, 60).await;
    // Every credit's record, one of them twice, and one record that is no credit.
    let mut records: Vec<Value> = store
        .all_unposted()
        .iter()
        .enumerate()
        .map(|(i, credit)| record(&format!("{}", 10 + i), credit))
        .collect();
    records.push(records[0].clone());
    records.push(json!({"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": "4", "NewImage": {"type": 7}}}));
    let batch = json!({ "Records": records });
    let mut deps = deps(store.clone(), T0 + Duration::minutes(1));
    let (metrics, captured) = paygate_shared::metrics::Metrics::capture("paygate/test");
    deps.metrics = metrics;
    let answer = handle(&deps, batch.clone()).await.unwrap();
    let invocations = captured.with_metric(paygate_shared::metrics::DYNAMODB_ROUND_TRIPS);
    assert_eq!(
        (invocations.len(), &invocations[0]["Function"]),
        (1, &json!("post")),
        "one record per invocation"
    );
    assert_eq!(failures(&answer), ["4"], "only the unreadable record");
    for merchant in &merchants {
        let shown = store.balance(*merchant).await.unwrap().unwrap();
        assert_eq!((shown.account.balance, shown.incoming), (60, 0));
    }
    // 60 credits an account: a write of 49 and one of 11 each.
    assert_eq!(
        (deps.poster.stats().credits(), deps.poster.stats().batches()),
        (120, 4)
    );
    // Redelivered: every credit is posted already, nothing is posted twice.
    let again = handle(&deps, batch).await.unwrap();
    assert_eq!(failures(&again), ["4"]);
    assert_eq!(deps.poster.stats().credits(), 120);
    assert_eq!(
        store
            .balance(merchants[0])
            .await
            .unwrap()
            .unwrap()
            .account
            .balance,
        60
    );
}

/// A store whose posting writes fail: the records of the account come back for a retry.
struct Broken(Arc<MemoryStore>);

#[async_trait]
impl PostingStore for Broken {
    async fn balance(&self, id: AccountId) -> Result<Option<Balance>, StoreError> {
        self.0.balance(id).await
    }
    async fn set_posting(
        &self,
        id: AccountId,
        mode: PostingMode,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        self.0.set_posting(id, mode, now).await
    }
    async fn post_credits(
        &self,
        _: AccountId,
        _: usize,
        _: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        Err(StoreError::Conflict)
    }
    async fn post_known(
        &self,
        _: AccountId,
        _: &[UnpostedCredit],
        _: OffsetDateTime,
    ) -> Result<Posted, StoreError> {
        Err(StoreError::Conflict)
    }
    async fn unposted(&self, id: AccountId, max: usize) -> Result<Vec<UnpostedCredit>, StoreError> {
        self.0.unposted(id, max).await
    }
    async fn batched_accounts(
        &self,
        after: Option<AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, StoreError> {
        self.0.batched_accounts(after, limit).await
    }
}

#[tokio::test]
async fn a_failed_drain_reports_every_record_of_its_account() {
    let (store, merchants) = books(1, 3).await;
    let credits = store.all_unposted();
    let batch = json!({"Records": [record("10", &credits[0]), record("11", &credits[2])]});
    let deps = deps(Arc::new(Broken(store.clone())), T0 + Duration::minutes(1));
    let answer = handle(&deps, batch).await.unwrap();
    assert_eq!(failures(&answer), ["10", "11"]);
    assert_eq!(
        store.balance(merchants[0]).await.unwrap().unwrap().incoming,
        3
    );
}

#[tokio::test]
async fn a_scheduled_event_sweeps_what_is_old_enough() {
    let (store, merchants) = books(1, 5).await;
    let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    // Ten seconds after the captures: the stream's to post, the sweep leaves them.
    let early = deps(store.clone(), T0 + Duration::seconds(10));
    let answer = handle(&early, scheduled.clone()).await.unwrap();
    assert_eq!(answer, json!({"accounts": 1, "drained": 0, "credits": 0}));
    let late = deps(store.clone(), T0 + Duration::minutes(5));
    let answer = handle(&late, scheduled).await.unwrap();
    assert_eq!(answer, json!({"accounts": 1, "drained": 1, "credits": 5}));
    assert_eq!(
        store.balance(merchants[0]).await.unwrap().unwrap().incoming,
        0
    );
    // A sweep that cannot post fails the invocation (its on-failure destination sees it).
    let (store, _) = books(1, 1).await;
    let broken = deps(Arc::new(Broken(store)), T0 + Duration::minutes(5));
    assert_eq!(
        handle(&broken, json!({"detail-type": "Scheduled Event"})).await,
        Err(StoreError::Conflict)
    );
}
