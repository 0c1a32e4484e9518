//! The system under load: the local gateway (the `paygate-local` library) on 127.0.0.1:0 over
//! the embedded store or DynamoDB (moto), with the load's clients, API keys and accounts seeded.
//!
//! The load runs on a copy of `infra/template.yaml` whose `PremiumUsagePlan` throttle and quota,
//! and WAF's rate per source IP, are raised (see [`load_template`]): the plans are what API
//! Gateway would enforce per key, and a load test measures the functions, not the 500 req/s a
//! premium key is allowed.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use paygate_local::{
    Backend, Background, Gateway,
    aws::{AwsOptions, dynamodb_store},
    seed,
};
use paygate_shared::{
    AccountId, AccountLimits, Clock, Currency, SystemClock,
    store::{dynamodb::TableNames, memory::MemoryStore},
};
use paygate_template::{BUNDLED, Template};

/// The usage plan the load's API keys are on (its limits raised by [`load_template`]).
pub const LOAD_PLAN: &str = "PremiumUsagePlan";
pub const SCOPES: [&str; 3] = ["payments:write", "payments:read", "accounts:read"];

/// Which store the functions run on.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Memory,
    /// DynamoDB at this endpoint; fresh tables named `{prefix}-accounts`/`-transactions`.
    Dynamodb {
        endpoint: String,
        prefix: String,
    },
}

impl StoreChoice {
    /// DynamoDB at `endpoint`, on tables unique to this process and moment (several runs and
    /// the test suite share one moto).
    pub fn dynamodb(endpoint: &str) -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let n: u32 = rand::random();
        Self::Dynamodb {
            endpoint: endpoint.to_owned(),
            prefix: format!("paygate-load-{}-{millis}-{n:08x}", std::process::id()),
        }
    }
}

/// Where an audit reads the store from, behind the gateway's back.
#[derive(Clone)]
pub enum StoreHandle {
    Memory(Arc<MemoryStore>),
    Dynamodb {
        client: aws_sdk_dynamodb::Client,
        tables: TableNames,
    },
}

/// The bundled template's text with `PremiumUsagePlan` throttled at 10^7 req/s (burst 10^7)
/// and a quota of 10^12 a day, the stage's method throttling (1000 req/s, burst 2000) raised
/// to 10^7, and AWS WAF's rate per source IP (20000 per 5 minutes) raised to its maximum,
/// 2·10^9: a load never meets API Gateway's or WAF's limits.
///
/// # Errors
/// When the bundled template no longer has the premium plan's limits as expected.
pub fn load_template_text() -> Result<String, String> {
    let mut text = BUNDLED.to_owned();
    for (from, to) in [
        (
            "RateLimit: 500\n        BurstLimit: 1000",
            "RateLimit: 10000000\n        BurstLimit: 10000000",
        ),
        ("Limit: 5000000\n", "Limit: 1000000000000\n"),
        // The stage's method throttling (all keys together) caps the API at 1000 req/s.
        (
            "ThrottlingRateLimit: 1000\n          ThrottlingBurstLimit: 2000",
            "ThrottlingRateLimit: 10000000\n          ThrottlingBurstLimit: 10000000",
        ),
        // Every request of a load comes from 127.0.0.1: one source IP for WAF's rate rule.
        (
            "  WafRateLimit:\n    Type: Number\n    Default: 20000\n",
            "  WafRateLimit:\n    Type: Number\n    Default: 2000000000\n",
        ),
    ] {
        if !text.contains(from) {
            return Err(format!("infra/template.yaml changed: it has no `{from}`"));
        }
        text = text.replacen(from, to, 1);
    }
    Ok(text)
}

/// [`load_template_text`], parsed.
///
/// # Errors
/// As [`load_template_text`], or when it does not parse.
pub fn load_template() -> Result<Template, String> {
    Template::parse(&load_template_text()?).map_err(|e| format!("the load template: {e}"))
}

/// A caller of the load: an OAuth client with its API key on [`LOAD_PLAN`].
#[derive(Debug, Clone)]
pub struct LoadClient {
    pub client_id: String,
    pub client_secret: String,
    pub api_key: String,
}

impl LoadClient {
    pub fn numbered(i: usize) -> Self {
        Self {
            client_id: format!("load-client-{i}"),
            client_secret: format!("load-secret-{i}-{:016x}", rand::random::<u64>()),
            api_key: format!("load-api-key-{i}-{:016x}", rand::random::<u64>()),
        }
    }
}

/// An account the load pays from or to.
#[derive(Debug, Clone, Copy)]
pub struct LoadAccount {
    pub id: AccountId,
    /// Index into the clients: the owner.
    pub owner: usize,
    pub currency: Currency,
}

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub clients: Vec<LoadClient>,
    /// `(owner index, currency, opening balance in minor units)`.
    pub accounts: Vec<(usize, Currency, i64)>,
}

/// A running gateway, stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    pub store: StoreHandle,
    pub clients: Vec<LoadClient>,
    pub accounts: Vec<LoadAccount>,
    server: Background,
}

impl Running {
    /// Stops serving and waits for open requests to finish.
    pub async fn shutdown(self) {
        self.server.shutdown(Duration::from_secs(30)).await;
    }
}

/// Limits generous enough that a long run is not refused for the day's outflow: the load
/// checks conservation, not risk limits (which the contract suite covers).
const LOAD_LIMITS: AccountLimits = AccountLimits {
    per_payment: 10_000_000,
    daily_outflow: 1_000_000_000_000_000,
};

/// The backend over the chosen store, with generated signing keys.
///
/// # Errors
/// When the keys cannot be generated or the DynamoDB tables cannot be created.
pub async fn backend(
    choice: &StoreChoice,
    template: &Template,
) -> Result<(Backend, StoreHandle), String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (mut backend, handle) = match choice {
        StoreChoice::Memory => {
            let store = Arc::new(MemoryStore::new());
            let backend =
                Backend::with_store(store.clone(), clock).map_err(|e| format!("keys: {e}"))?;
            (backend, StoreHandle::Memory(store))
        }
        StoreChoice::Dynamodb { endpoint, prefix } => {
            let tables = TableNames::with_prefix(prefix);
            let options = aws_options(&tables);
            let store = dynamodb_store(&options, endpoint, template)
                .await
                .map_err(|e| format!("DynamoDB at {endpoint}: {e}"))?;
            let handle = StoreHandle::Dynamodb {
                client: store.client().clone(),
                tables,
            };
            let backend =
                Backend::with_store(Arc::new(store), clock).map_err(|e| format!("keys: {e}"))?;
            (backend, handle)
        }
    };
    backend.payments.default_limits = LOAD_LIMITS;
    Ok((backend, handle))
}

pub fn aws_options(tables: &TableNames) -> AwsOptions {
    AwsOptions {
        dynamodb_endpoint: None,
        secrets_endpoint: None,
        sqs_endpoint: None,
        region: "us-east-1".to_owned(),
        accounts_table: tables.accounts.clone(),
        transactions_table: tables.transactions.clone(),
        signing_key_secret: "paygate-load-signing-key".to_owned(),
        public_keys_secret: "paygate-load-public-keys".to_owned(),
        webhook_key_secret: "paygate-load-webhook-key".to_owned(),
    }
}

/// Seeds `plan` into `gateway` (clients, keys, funded accounts).
///
/// # Errors
/// When the store refuses the seed.
pub async fn seed_gateway(
    gateway: &mut Gateway,
    plan: &SeedPlan,
) -> Result<Vec<LoadAccount>, String> {
    let scopes: Vec<String> = SCOPES.iter().map(|s| (*s).to_owned()).collect();
    for client in &plan.clients {
        gateway
            .add_api_key(
                &format!("{}-key", client.client_id),
                &client.api_key,
                LOAD_PLAN,
            )
            .map_err(|e| e.to_string())?;
        seed::add_client(gateway, &client.client_id, &client.client_secret, &scopes)
            .await
            .map_err(|e| format!("seeding {}: {e}", client.client_id))?;
    }
    let now = gateway.backend().clock.now();
    let mut accounts = Vec::new();
    for &(owner, currency, balance) in &plan.accounts {
        let owner_id = &plan.clients[owner].client_id;
        let id = seed::add_account(
            gateway,
            AccountId::generate(now),
            owner_id,
            currency,
            balance,
        )
        .await
        .map_err(|e| format!("seeding an account: {e}"))?;
        accounts.push(LoadAccount {
            id,
            owner,
            currency,
        });
    }
    Ok(accounts)
}

/// Builds, seeds and serves a gateway on 127.0.0.1:0 on the current runtime.
///
/// # Errors
/// As [`backend`] and [`seed_gateway`], or when the port cannot be bound.
pub async fn start(choice: &StoreChoice, plan: &SeedPlan) -> Result<Running, String> {
    let template = load_template()?;
    let (backend, store) = backend(choice, &template).await?;
    start_on(&template, backend, store, plan).await
}

/// As [`start`], on a backend built by the caller.
///
/// # Errors
/// As [`start`].
pub async fn start_on(
    template: &Template,
    backend: Backend,
    store: StoreHandle,
    plan: &SeedPlan,
) -> Result<Running, String> {
    let mut gateway = Gateway::new(template, backend).map_err(|e| e.to_string())?;
    let accounts = seed_gateway(&mut gateway, plan).await?;
    let gateway = Arc::new(gateway);
    let server = Background::start(gateway.clone())
        .await
        .map_err(|e| format!("serve: {e}"))?;
    Ok(Running {
        addr: server.addr(),
        gateway,
        store,
        clients: plan.clients.clone(),
        accounts,
        server,
    })
}

/// Starts the poster for the current tables: the embedded store's queue, or the stream of the
/// (re)created transactions table polled as the template's `post` mapping reads it. Aborted
/// with the returned handles. On DynamoDB, each batch of stream records waits for `hold`, if
/// given, to be let go ([`PosterHold`]).
///
/// # Errors
/// When the stream cannot be read.
pub async fn start_poster(
    running: &Running,
    choice: &StoreChoice,
    hold: Option<Arc<PosterHold>>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let backend = running.gateway.backend();
    match (&running.store, choice) {
        (StoreHandle::Memory(store), _) => Ok(paygate_local::posting::start_embedded(
            backend.poster.clone(),
            store.clone(),
        )),
        (StoreHandle::Dynamodb { tables, .. }, StoreChoice::Dynamodb { endpoint, .. }) => {
            let template = load_template()?;
            let mapping = paygate_local::posting::post_mapping(&template)
                .ok_or("the template has no `post` stream mapping")?;
            let region = "us-east-1";
            let config = paygate_local::aws::sdk_config(endpoint, region).await;
            let poller = paygate_local::notify::poller(
                &config,
                mapping,
                &tables.transactions,
                region,
                "POSTER",
            )
            .await?;
            let poller = Arc::new(poller);
            match hold {
                None => paygate_local::posting::stream_poster(poller, mapping, backend, region),
                Some(hold) => {
                    let sink = Held {
                        hold,
                        inner: paygate_local::posting::InProcess {
                            poster: backend.poster.clone(),
                        },
                    };
                    Ok(vec![tokio::spawn(poller.run(Arc::new(sink)))])
                }
            }
        }
        _ => Err("a DynamoDB store handle without an endpoint".into()),
    }
}

/// Stops the in-process poster between batches of stream records, for as long as it is held
/// (an audit's instant with only the poster writing, or with nobody writing).
#[derive(Debug, Default)]
pub struct PosterHold {
    lock: tokio::sync::RwLock<()>,
    /// Batches of records waiting for the hold to be let go.
    waiting: std::sync::atomic::AtomicUsize,
}

impl PosterHold {
    /// Stops the poster once its current batch is written, until the guard is dropped.
    pub async fn hold(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.lock.write().await
    }

    /// Whether a batch of records (so at least one credit) waits behind the hold.
    pub fn batch_waiting(&self) -> bool {
        self.waiting.load(std::sync::atomic::Ordering::SeqCst) > 0
    }
}

/// The in-process poster, each batch waiting for the hold.
struct Held {
    hold: Arc<PosterHold>,
    inner: paygate_local::posting::InProcess,
}

#[async_trait::async_trait]
impl paygate_local::notify::sink::StreamSink for Held {
    async fn handle(&self, batch: &[paygate_local::notify::sink::StreamItem]) -> Vec<usize> {
        use std::sync::atomic::Ordering;
        self.hold.waiting.fetch_add(1, Ordering::SeqCst);
        let held = self.hold.lock.read().await;
        self.hold.waiting.fetch_sub(1, Ordering::SeqCst);
        let failed = self.inner.handle(batch).await;
        drop(held);
        failed
    }
}

/// Empties the store: both tables deleted (waiting until they are gone), then [`reseed`]ed
/// with every account at `balance`. Nothing to do on the embedded store.
///
/// # Errors
/// When a table cannot be deleted or recreated, or the store refuses the seed.
pub async fn reset(running: &Running, balance: i64) -> Result<(), String> {
    let StoreHandle::Dynamodb { client, tables } = &running.store else {
        return Ok(());
    };
    // A single-threaded moto may still be working through requests a load gave up on:
    // timeouts are retried until the deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for table in [&tables.accounts, &tables.transactions] {
        loop {
            match client.delete_table().table_name(table).send().await {
                Ok(_) => break,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    break;
                }
                Err(e)
                    if e.as_service_error().is_none() && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    return Err(format!(
                        "deleting {table}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ));
                }
            }
        }
        // DynamoDB deletes in the background (moto at once): wait until the table is gone.
        loop {
            match client.describe_table().table_name(table).send().await {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    break;
                }
                _ if tokio::time::Instant::now() > deadline => {
                    return Err(format!("{table} was not deleted within 120 s of the reset"));
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    reseed(running, balance).await
}

/// After the DynamoDB endpoint lost its state (a restart of moto): the tables recreated from
/// the template, the same clients and the same accounts (same ids) with fresh opening balances.
///
/// # Errors
/// When the tables cannot be created or the store refuses the seed.
pub async fn reseed(running: &Running, balance: i64) -> Result<(), String> {
    let StoreHandle::Dynamodb { client, tables } = &running.store else {
        return Ok(());
    };
    let template = load_template()?;
    paygate_template::create_store_tables(
        client,
        &template,
        paygate_template::StoreTables {
            accounts: &tables.accounts,
            transactions: &tables.transactions,
        },
    )
    .await
    .map_err(|e| format!("recreating the tables: {e}"))?;
    let scopes: Vec<String> = SCOPES.iter().map(|s| (*s).to_owned()).collect();
    for c in &running.clients {
        seed::add_client(&running.gateway, &c.client_id, &c.client_secret, &scopes)
            .await
            .map_err(|e| format!("reseeding {}: {e}", c.client_id))?;
    }
    for a in &running.accounts {
        let owner = &running.clients[a.owner].client_id;
        seed::add_account(&running.gateway, a.id, owner, a.currency, balance)
            .await
            .map_err(|e| format!("reseeding {}: {e}", a.id))?;
    }
    Ok(())
}
