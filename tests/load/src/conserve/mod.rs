//! `conserve`: many concurrent clients doing random payments, confirms (whole and partial) and
//! cancels through the gateway, and refunds of what they were paid (partial and full, some at
//! once on one payment), with client retries on the same Idempotency-Key, lost answers,
//! duplicate confirms and confirm-vs-cancel races; then an audit of the store itself (see
//! [`crate::audit`]).
//!
//! Each OAuth client is shared by two workers, so two connections at a time hold, capture,
//! release and refund on the same accounts, and every worker pays into a small set of hot
//! accounts. A payment, once captured, is offered to the workers of its payee for refunds.
//!
//! The hot accounts are `batched` by default (issue 15): their credits wait as unposted credits
//! for the poster, which runs as `paygate-local` runs it, and one of them is switched to
//! `immediate` and back while the load runs. Conservation with the unposted credits is checked
//! at instants during the load ([`cut`]); after it, the poster must drain every credit before
//! the audit.

pub mod cut;
mod refunds;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hyper::{Method, body::Bytes};
use paygate_shared::{AccountId, Currency, PostingMode};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::json;
use tokio::sync::RwLock;

use crate::{
    audit,
    client::{Answer, Connection, Credentials, TransportError},
    setup::{self, LoadAccount, LoadClient, Running, SeedPlan, StoreChoice},
    stats::{Stats, format_counts},
};

/// Opening balance of every load account: large enough that no payment is refused for funds.
pub const OPENING_BALANCE: i64 = 1_000_000_000;

#[derive(Debug, Clone)]
pub struct ConserveOptions {
    pub store: StoreChoice,
    /// Concurrent workers (two per OAuth client).
    pub clients: usize,
    /// Requests per worker, at most.
    pub requests: u64,
    /// Wall-clock bound.
    pub seconds: f64,
    pub hot_accounts: usize,
    /// The hot accounts' posting mode.
    pub hot_posting: PostingMode,
    pub seed: u64,
    /// An answer slower than this counts as a hang (the functions' timeout is 10 s).
    pub request_timeout: Duration,
}

impl Default for ConserveOptions {
    fn default() -> Self {
        Self {
            store: StoreChoice::Memory,
            clients: 8,
            requests: 400,
            seconds: 60.0,
            hot_accounts: 4,
            hot_posting: PostingMode::Batched,
            seed: 1,
            request_timeout: Duration::from_secs(12),
        }
    }
}

/// Lets a fault injector stop the workers between operations and mark a store reset.
#[derive(Debug, Default)]
pub struct Control {
    /// Held shared by a worker for one operation; held exclusively to quiesce the load.
    pub gate: RwLock<()>,
    /// Bumped when the store was recreated: workers forget their pending payments.
    pub epoch: AtomicU64,
    pub stop: AtomicBool,
}

/// What one worker observed that the store must agree with.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Idempotency key → the payment id every 2xx answer for it named, by epoch.
    pub keys: HashMap<String, (u64, String)>,
    /// Payment id → the final status a definitive 2xx answer reported, by epoch.
    pub finals: HashMap<String, (u64, &'static str)>,
    /// Payment id → the `amount_captured` a 200 confirm reported, by epoch.
    pub captures: HashMap<String, (u64, i64)>,
    /// Refund Idempotency-Key → the refund id every 201 for it named, by epoch.
    pub refund_keys: HashMap<String, (u64, String)>,
    /// Refund id → its payment and amount as the 201 reported them, by epoch.
    pub refunds: HashMap<String, (u64, String, i64)>,
    /// Contradictions seen on the wire (two ids for one key, both sides of a race winning).
    pub violations: Vec<String>,
}

impl Observed {
    fn merge(&mut self, other: Self) {
        self.keys.extend(other.keys);
        self.finals.extend(other.finals);
        self.captures.extend(other.captures);
        self.refund_keys.extend(other.refund_keys);
        self.refunds.extend(other.refunds);
        self.violations.extend(other.violations);
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct ConserveReport {
    pub stats: Stats,
    pub payments_by_status: std::collections::BTreeMap<String, u64>,
    /// Partial captures and refunds as the store records them.
    pub refunds: audit::refunds::Summary,
    pub violations: Vec<String>,
    pub elapsed: Duration,
    pub clients: usize,
    pub accounts: usize,
    pub store: String,
    /// What the run did with batched hot accounts (`None`: they were immediate).
    pub posting: Option<PostingReport>,
}

/// Batched hot accounts during a run: the cuts taken, the mode switches, the drain.
#[derive(Debug, Clone, Default)]
pub struct PostingReport {
    pub hot: usize,
    /// Instantaneous conservation checks during the load.
    pub cuts: u64,
    /// Of which found unposted credits waiting.
    pub cuts_with_credits: u64,
    /// The most credits one cut found.
    pub most_credits: usize,
    /// Switches of one hot account between `batched` and `immediate` during the load.
    pub switches: u64,
    /// How long the poster took to post everything after the load.
    pub drained_after: Duration,
}

impl ConserveReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.stats.all_5xx() == 0 && self.stats.timeouts == 0
    }

    pub fn table(&self) -> String {
        let s = &self.stats;
        let rows = [
            ("store", self.store.clone()),
            (
                "workers / accounts",
                format!("{} / {}", self.clients, self.accounts),
            ),
            ("run time", format!("{:.1} s", self.elapsed.as_secs_f64())),
            ("requests", s.requests.to_string()),
            ("answers by status", format_counts(&s.by_status)),
            (
                "payments by final status",
                format_counts(&self.payments_by_status),
            ),
            (
                "partial captures",
                self.refunds.partial_captures.to_string(),
            ),
            (
                "refunds (minor units) / payments partly, fully refunded",
                format!(
                    "{} ({}) / {}, {}",
                    self.refunds.refunds,
                    self.refunds.refunded,
                    self.refunds.partly_refunded,
                    self.refunds.fully_refunded
                ),
            ),
            (
                "concurrent refund storms (4 at once) / lost refund answers resent",
                format!("{} / {}", s.refund_storms, s.lost_refunds),
            ),
            (
                "retries (same Idempotency-Key) / lost answers resent",
                format!("{} / {}", s.retries, s.lost_responses),
            ),
            ("replayed answers", s.replays.to_string()),
            (
                "confirm-vs-cancel races / duplicate confirms",
                format!("{} / {}", s.races, s.duplicate_confirms),
            ),
            (
                "409 conflicts",
                format!("{} ({})", s.conflicts_total(), format_counts(&s.conflicts)),
            ),
            ("other 4xx", format_counts(&s.refusals)),
            (
                "503 problem+json with Retry-After",
                s.clean_unavailable.to_string(),
            ),
            ("other 5xx", s.server_errors.to_string()),
            (
                "no answer (transport) / hung past timeout",
                format!("{} / {}", s.transport_errors, s.timeouts),
            ),
            ("slowest answer", format!("{} ms", s.max_latency_ms)),
        ];
        let mut rows = rows.to_vec();
        if let Some(p) = &self.posting {
            rows.extend([
                (
                    "batched hot accounts / mode switches (one to immediate or back)",
                    format!("{} / {}", p.hot, p.switches),
                ),
                (
                    "conservation cuts during the load / with unposted credits / most credits in one",
                    format!("{} / {} / {}", p.cuts, p.cuts_with_credits, p.most_credits),
                ),
                (
                    "credits all posted after the load",
                    format!("{:.1} s", p.drained_after.as_secs_f64()),
                ),
            ]);
        }
        rows.push(("violations", self.violations.len().to_string()));
        let mut out = String::from("| | |\n|---|---|\n");
        for (k, v) in rows {
            out.push_str(&format!("| {k} | {v} |\n"));
        }
        out
    }
}

/// Seeds the clients and accounts of a conserve run: `clients.div_ceil(2)` OAuth clients, one
/// CNY and one USD account each, plus `hot` accounts owned round-robin, alternating currency.
pub fn seed_plan(workers: usize, hot: usize) -> SeedPlan {
    let owners = workers.div_ceil(2).max(1);
    let clients: Vec<LoadClient> = (0..owners).map(LoadClient::numbered).collect();
    let mut accounts = Vec::new();
    for owner in 0..owners {
        accounts.push((owner, Currency::CNY, OPENING_BALANCE));
        accounts.push((owner, Currency::USD, OPENING_BALANCE));
    }
    for k in 0..hot {
        let currency = if k % 2 == 0 {
            Currency::CNY
        } else {
            Currency::USD
        };
        accounts.push((k % owners, currency, OPENING_BALANCE));
    }
    SeedPlan { clients, accounts }
}

/// Runs the whole `conserve` command: gateway, load, audit.
///
/// # Errors
/// When the gateway cannot be started or the store cannot be audited (violations are in the
/// report, not errors).
pub async fn run(options: &ConserveOptions) -> Result<ConserveReport, String> {
    let plan = seed_plan(options.clients, options.hot_accounts);
    let running = setup::start(&options.store, &plan).await?;
    // The hot accounts are seeded last.
    let hot: Vec<AccountId> = running.accounts[running.accounts.len() - options.hot_accounts..]
        .iter()
        .map(|a| a.id)
        .collect();
    let batched = options.hot_posting == PostingMode::Batched && !hot.is_empty();
    let mut poster = Vec::new();
    let poster_hold = Arc::new(setup::PosterHold::default());
    if batched {
        for &id in &hot {
            set_mode(&running.gateway, id, PostingMode::Batched).await?;
        }
        poster = setup::start_poster(&running, &options.store, Some(poster_hold.clone())).await?;
    }
    let control = Arc::new(Control::default());
    let done = Arc::new(AtomicBool::new(false));
    let watcher = batched.then(|| {
        tokio::spawn(watch(
            running.store.clone(),
            running.gateway.clone(),
            hot.clone(),
            control.clone(),
            poster_hold,
            done.clone(),
        ))
    });
    let started = Instant::now();
    let driven = drive(&running, options, control).await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let watched = match watcher {
        Some(watcher) => Some(
            watcher
                .await
                .map_err(|e| format!("the watcher failed: {e}"))??,
        ),
        None => None,
    };
    let (stats, observed) = driven?;
    // The poster must post everything that waits, and then the books are audited at rest.
    let drained = Instant::now();
    let mut left = cut::waiting(&running.store, &hot).await?;
    while left > 0 && drained.elapsed() < DRAIN_WITHIN {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = cut::waiting(&running.store, &hot).await?;
    }
    let drained_after = drained.elapsed();
    for handle in poster {
        handle.abort();
    }
    let mut report = audit_run(&running, options, stats, observed, 0, elapsed).await?;
    if let Some((mut posting, violations)) = watched {
        report.violations.extend(violations);
        if left > 0 {
            report.violations.push(format!(
                "{left} unposted credits still wait {} s after the load",
                DRAIN_WITHIN.as_secs()
            ));
        }
        posting.drained_after = drained_after;
        report.posting = Some(posting);
    }
    running.shutdown().await;
    Ok(report)
}

/// How long the poster may take to post what waits once the load has stopped.
const DRAIN_WITHIN: Duration = Duration::from_secs(60);

async fn set_mode(
    gateway: &paygate_local::Gateway,
    id: AccountId,
    mode: PostingMode,
) -> Result<(), String> {
    gateway
        .backend()
        .store
        .set_posting(id, mode, time::OffsetDateTime::now_utc())
        .await
        .map(|_| ())
        .map_err(|e| format!("set_posting {id} {}: {e}", mode.as_str()))
}

/// While the load runs: conservation cuts, and the first hot account switched to `immediate`
/// (which posts what waits) and back to `batched` every few cuts, under load.
///
/// On DynamoDB a cut stops the workers between requests (see [`cut`]). The poster is held
/// first, until the stream has handed it credits it cannot post, and while the workers finish
/// what they are sending; it is let go once the cut has listed the credits and read one account
/// with credits waiting, so it posts while the cut reads the rest, which the cut must stand.
async fn watch(
    store: setup::StoreHandle,
    gateway: Arc<paygate_local::Gateway>,
    hot: Vec<AccountId>,
    control: Arc<Control>,
    poster_hold: Arc<setup::PosterHold>,
    done: Arc<AtomicBool>,
) -> Result<(PostingReport, Vec<String>), String> {
    let memory = matches!(store, setup::StoreHandle::Memory(_));
    // moto serves one request at a time: a cut there costs the load a pause of a few hundred
    // milliseconds.
    let (every, switch_every) = if memory {
        (Duration::from_millis(2), 50)
    } else {
        (Duration::from_secs(2), 1)
    };
    let mut report = PostingReport {
        hot: hot.len(),
        ..PostingReport::default()
    };
    let mut violations = Vec::new();
    let mut batched = true;
    while !done.load(Ordering::SeqCst) {
        tokio::time::sleep(every).await;
        let cut = if memory {
            cut::take(&store, &hot, None::<()>).await?
        } else {
            let held = poster_hold.hold().await;
            // Credits pile up until the stream hands the held poster some (at most 5 s),
            // then the workers are stopped.
            let until = Instant::now() + Duration::from_secs(5);
            while !poster_hold.batch_waiting() && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _stopped = control.gate.write().await;
            cut::take(&store, &hot, Some(held)).await?
        };
        report.cuts += 1;
        if cut.credits > 0 {
            report.cuts_with_credits += 1;
        }
        report.most_credits = report.most_credits.max(cut.credits);
        violations.extend(
            cut.violations
                .into_iter()
                .map(|v| format!("cut {} during the load: {v}", report.cuts)),
        );
        if report.cuts.is_multiple_of(switch_every) && !done.load(Ordering::SeqCst) {
            batched = !batched;
            let mode = if batched {
                PostingMode::Batched
            } else {
                PostingMode::Immediate
            };
            set_mode(&gateway, hot[0], mode).await?;
            report.switches += 1;
        }
    }
    if !batched {
        set_mode(&gateway, hot[0], PostingMode::Batched).await?;
    }
    Ok((report, violations))
}

/// The workers, run to their request count or the deadline (or `control.stop`).
///
/// # Errors
/// When a worker cannot get its first token.
pub async fn drive(
    running: &Running,
    options: &ConserveOptions,
    control: Arc<Control>,
) -> Result<(Stats, Observed), String> {
    let deadline = Instant::now() + Duration::from_secs_f64(options.seconds);
    let refundable = Arc::new(refunds::Refundable::default());
    let mut tasks = Vec::new();
    for w in 0..options.clients {
        let owner = w % running.clients.len();
        let client = &running.clients[owner];
        let mut worker = Worker {
            index: w,
            owner,
            refundable: refundable.clone(),
            created: HashMap::new(),
            conn: Connection::new(running.addr, options.request_timeout),
            aux: Connection::new(running.addr, options.request_timeout),
            creds: Credentials {
                client_id: client.client_id.clone(),
                client_secret: client.client_secret.clone(),
                api_key: client.api_key.clone(),
                bearer: String::new(),
            },
            own: running
                .accounts
                .iter()
                .filter(|a| a.owner == owner)
                .copied()
                .collect(),
            all: running.accounts.clone(),
            rng: StdRng::seed_from_u64(options.seed.wrapping_mul(1_000_003).wrapping_add(w as u64)),
            pending: Vec::new(),
            stats: Stats::default(),
            observed: Observed::default(),
            sequence: 0,
            epoch: 0,
            run: format!("{:08x}", rand::random::<u32>()),
        };
        worker.creds.fetch_token(&mut worker.conn).await?;
        let control = control.clone();
        let budget = options.requests;
        tasks.push(tokio::spawn(async move {
            while worker.stats.requests < budget
                && Instant::now() < deadline
                && !control.stop.load(Ordering::Relaxed)
            {
                let _open = control.gate.read().await;
                let epoch = control.epoch.load(Ordering::SeqCst);
                if epoch != worker.epoch {
                    worker.epoch = epoch;
                    worker.pending.clear();
                }
                worker.step().await;
            }
            (worker.stats, worker.observed)
        }));
    }
    let mut stats = Stats::default();
    let mut observed = Observed::default();
    for task in tasks {
        let (s, o) = task.await.map_err(|e| format!("a worker failed: {e}"))?;
        stats.merge(&s);
        observed.merge(o);
    }
    Ok((stats, observed))
}

/// Audits the store and checks what the workers saw against it (observations of `epoch` only:
/// earlier ones were lost with a recreated store).
///
/// # Errors
/// When the store cannot be read.
pub async fn audit_run(
    running: &Running,
    options: &ConserveOptions,
    stats: Stats,
    observed: Observed,
    epoch: u64,
    elapsed: Duration,
) -> Result<ConserveReport, String> {
    let snapshot = audit::snapshot(&running.store).await?;
    let mut violations = audit::check(&snapshot);
    violations.extend(refunds::compare(&snapshot, &observed, epoch));
    violations.extend(observed.violations);
    let by_description: HashMap<&str, &audit::PaymentRow> = snapshot
        .payments
        .iter()
        .filter_map(|p| p.description.as_deref().map(|d| (d, p)))
        .collect();
    let by_id: HashMap<&str, &audit::PaymentRow> = snapshot
        .payments
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    for (key, (e, id)) in &observed.keys {
        if *e != epoch {
            continue;
        }
        match by_description.get(key.as_str()) {
            Some(p) if p.id == *id => {}
            Some(p) => violations.push(format!("key {key}: answered {id}, stored {}", p.id)),
            None => violations.push(format!("key {key}: answered {id}, no payment stored")),
        }
    }
    for (id, (e, status)) in &observed.finals {
        if *e != epoch {
            continue;
        }
        match by_id.get(id.as_str()) {
            Some(p) if p.status == *status => {}
            Some(p) => violations.push(format!("{id}: answered {status}, stored {}", p.status)),
            None => violations.push(format!("{id}: answered {status}, not stored")),
        }
    }
    Ok(ConserveReport {
        stats,
        payments_by_status: audit::payments_by_status(&snapshot),
        refunds: audit::refunds::summary(&snapshot),
        violations,
        elapsed,
        clients: options.clients,
        accounts: running.accounts.len(),
        posting: None,
        store: match &options.store {
            StoreChoice::Memory => "memory".to_owned(),
            StoreChoice::Dynamodb { endpoint, .. } => format!("dynamodb ({endpoint})"),
        },
    })
}

struct Worker {
    index: usize,
    /// The OAuth client this worker acts as (an index into the run's clients).
    owner: usize,
    /// Captured payments, by payee: what each client's workers may refund.
    refundable: Arc<refunds::Refundable>,
    /// Payment id → (amount, payee) of every payment this worker created.
    created: HashMap<String, (i64, usize)>,
    conn: Connection,
    /// A second connection, for the concurrent half of races and duplicates.
    aux: Connection,
    creds: Credentials,
    own: Vec<LoadAccount>,
    all: Vec<LoadAccount>,
    rng: StdRng,
    /// Pending payments this worker created and has not settled yet.
    pending: Vec<String>,
    stats: Stats,
    observed: Observed,
    sequence: u64,
    epoch: u64,
    run: String,
}

/// A create-payment request: its key and body, resendable as is.
struct Create {
    key: String,
    body: Bytes,
    confirm: bool,
    amount: i64,
    /// The owner of the destination account.
    payee: usize,
}

impl Worker {
    async fn step(&mut self) {
        match self.rng.random_range(0..100) {
            0..20 => {
                let create = self.new_create(false);
                if let Some(id) = self.create(&create).await {
                    self.pending.push(id);
                }
            }
            20..32 => {
                let create = self.new_create(true);
                self.create(&create).await;
            }
            32..40 => {
                if let Some(id) = self.take_pending() {
                    self.settle(&id, "confirm", None).await;
                }
            }
            40..47 => self.partial_confirm().await,
            47..54 => {
                if let Some(id) = self.take_pending() {
                    self.settle(&id, "cancel", None).await;
                }
            }
            54..62 => self.lost_response().await,
            62..66 => self.concurrent_duplicate_create().await,
            66..71 => self.duplicate_confirm().await,
            71..79 => self.race().await,
            79..88 => self.refund().await,
            88..94 => self.refund_storm().await,
            _ => self.lost_refund().await,
        }
    }

    fn take_pending(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let i = self.rng.random_range(0..self.pending.len());
        Some(self.pending.swap_remove(i))
    }

    fn new_create(&mut self, confirm: bool) -> Create {
        self.sequence += 1;
        let key = format!("load-{}-{}-{}", self.run, self.index, self.sequence);
        let hot_own: Vec<LoadAccount> = self.own.clone();
        let source = *hot_own.choose(&mut self.rng).unwrap_or(&self.own[0]);
        let candidates: Vec<&LoadAccount> = self
            .all
            .iter()
            .filter(|a| a.currency == source.currency && a.id != source.id)
            .collect();
        let (destination, payee) = candidates
            .choose(&mut self.rng)
            .map_or((source.id, source.owner), |a| (a.id, a.owner));
        let amount: i64 = self.rng.random_range(1..=10_000);
        let body = json!({
            "source_account": source.id.to_string(),
            "destination_account": destination.to_string(),
            "amount": amount,
            "currency": source.currency.code(),
            "description": key,
            "confirm": confirm,
        });
        Create {
            key,
            body: Bytes::from(body.to_string()),
            confirm,
            amount,
            payee,
        }
    }

    async fn send_on(
        &mut self,
        aux: bool,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Bytes,
    ) -> Result<Answer, TransportError> {
        let api_key = self.creds.api_key.clone();
        let bearer = self.creds.bearer.clone();
        let mut headers = vec![
            ("x-api-key", api_key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        if let Some(key) = key {
            headers.push(("idempotency-key", key));
        }
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        let conn = if aux { &mut self.aux } else { &mut self.conn };
        let result = conn.send(method, path, &headers, body).await;
        self.stats.note(&result);
        if matches!(&result, Ok(a) if a.status == 401) {
            self.stats.token_refreshes += 1;
            let _ = self.creds.fetch_token(&mut self.conn).await;
        }
        result
    }

    /// Whether an answer asks to try again later (the same request, the same key).
    fn retryable(result: &Result<Answer, TransportError>) -> bool {
        match result {
            Ok(a) => {
                matches!(a.status, 401 | 409 | 429 | 503)
                    && !matches!(
                        a.field("code").as_deref(),
                        Some("payment_not_pending" | "payment_expired" | "payment_not_captured")
                    )
            }
            Err(TransportError::Timeout(_)) => false,
            Err(_) => true,
        }
    }

    async fn backoff(&mut self, attempt: u32) {
        let ms = self.rng.random_range(5..=20u64) * u64::from(attempt + 1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// Sends `create` until it has a final answer (at most 5 times, the same key each time);
    /// the payment id of a 201.
    async fn create(&mut self, create: &Create) -> Option<String> {
        let mut attempt = 0;
        loop {
            let result = self
                .send_on(
                    false,
                    Method::POST,
                    "/v1/payments",
                    Some(&create.key),
                    create.body.clone(),
                )
                .await;
            if Self::retryable(&result) && attempt < 4 {
                attempt += 1;
                self.stats.retries += 1;
                self.backoff(attempt).await;
                continue;
            }
            return self.record_created(create, result.ok().as_ref());
        }
    }

    /// Notes the payment a 2xx names for the key; a second id for one key is a violation.
    fn record_created(&mut self, create: &Create, answer: Option<&Answer>) -> Option<String> {
        let answer = answer.filter(|a| a.status == 201)?;
        let id = answer.field("id")?;
        let status = answer.field("status").unwrap_or_default();
        match self.observed.keys.get(&create.key) {
            Some((_, first)) if *first != id => self.observed.violations.push(format!(
                "key {}: answered {first} and then {id}",
                create.key
            )),
            _ => {
                self.observed
                    .keys
                    .insert(create.key.clone(), (self.epoch, id.clone()));
            }
        }
        let expected = if create.confirm {
            "succeeded"
        } else {
            "pending"
        };
        if status != expected {
            self.observed.violations.push(format!(
                "key {}: created {id} as {status}, not {expected}",
                create.key
            ));
        }
        self.created
            .insert(id.clone(), (create.amount, create.payee));
        if create.confirm {
            self.observed
                .finals
                .insert(id.clone(), (self.epoch, "succeeded"));
            self.note_captured(&id, Some(answer));
        }
        (!create.confirm).then_some(id)
    }

    /// Confirms (all of the hold, or `amount` of it) or cancels, retrying "not now" answers;
    /// the status a 200 reports.
    async fn settle(&mut self, id: &str, action: &str, amount: Option<i64>) -> Option<String> {
        let path = format!("/v1/payments/{id}/{action}");
        let body = capture_body(amount);
        let mut attempt = 0;
        loop {
            let result = self
                .send_on(false, Method::POST, &path, None, body.clone())
                .await;
            if Self::retryable(&result) && attempt < 4 {
                attempt += 1;
                self.stats.retries += 1;
                self.backoff(attempt).await;
                continue;
            }
            return self.record_settled(id, action, amount, result.ok().as_ref());
        }
    }

    fn record_settled(
        &mut self,
        id: &str,
        action: &str,
        amount: Option<i64>,
        answer: Option<&Answer>,
    ) -> Option<String> {
        let answer = answer.filter(|a| a.status == 200)?;
        let status = answer.field("status").unwrap_or_default();
        let wanted = if action == "confirm" {
            "succeeded"
        } else {
            "canceled"
        };
        if status != wanted {
            self.observed
                .violations
                .push(format!("{action} {id} answered 200 with status {status}"));
        }
        self.note_final(id, wanted);
        if action == "confirm" {
            // A retried confirm answers the payment as captured: by the same amount.
            let held = self.created.get(id).map(|(held, _)| *held);
            let captured = answer.json()["amount_captured"].as_i64();
            if let Some(expected) = amount.or(held)
                && captured != Some(expected)
            {
                self.observed.violations.push(format!(
                    "confirm {id} of {expected} answered amount_captured {captured:?}"
                ));
            }
            self.note_captured(id, Some(answer));
        }
        Some(status)
    }

    fn note_final(&mut self, id: &str, status: &'static str) {
        if let Some((epoch, earlier)) = self.observed.finals.get(id)
            && *epoch == self.epoch
            && *earlier != status
        {
            self.observed
                .violations
                .push(format!("{id}: answered {earlier} and then {status}"));
        }
        self.observed
            .finals
            .insert(id.to_owned(), (self.epoch, status));
    }

    /// The first answer is "lost": the same request is sent again with the same key, and must
    /// be answered with the same payment, marked replayed.
    async fn lost_response(&mut self) {
        let confirm = self.rng.random_bool(0.5);
        let create = self.new_create(confirm);
        let first = self
            .send_on(
                false,
                Method::POST,
                "/v1/payments",
                Some(&create.key),
                create.body.clone(),
            )
            .await;
        self.stats.lost_responses += 1;
        self.stats.retries += 1;
        let first_id = first
            .as_ref()
            .ok()
            .filter(|a| a.status == 201)
            .and_then(|a| a.field("id"));
        let second = self.create(&create).await;
        let replayed_id = self
            .observed
            .keys
            .get(&create.key)
            .map(|(_, id)| id.clone());
        if let (Some(first_id), Some(replayed)) = (first_id, replayed_id)
            && first_id != replayed
        {
            self.observed.violations.push(format!(
                "key {}: first answer {first_id}, resend {replayed}",
                create.key
            ));
        }
        if let Some(id) = second {
            self.pending.push(id);
        }
    }

    /// The same create on two connections at once: one payment, both answers naming it.
    async fn concurrent_duplicate_create(&mut self) {
        let create = self.new_create(false);
        let headers_key = create.key.clone();
        let (api_key, bearer) = (self.creds.api_key.clone(), self.creds.bearer.clone());
        let headers = [
            ("x-api-key", api_key.as_str()),
            ("authorization", bearer.as_str()),
            ("idempotency-key", headers_key.as_str()),
            ("content-type", "application/json"),
        ];
        let (a, b) = tokio::join!(
            self.conn
                .send(Method::POST, "/v1/payments", &headers, create.body.clone()),
            self.aux
                .send(Method::POST, "/v1/payments", &headers, create.body.clone()),
        );
        self.stats.note(&a);
        self.stats.note(&b);
        self.stats.retries += 1;
        let mut id = None;
        for answer in [a.ok(), b.ok()].iter().flatten() {
            if let Some(created) = self.record_created(&create, Some(answer)) {
                id = Some(created);
            }
        }
        if id.is_none() {
            // Both lost to each other or to a fault: settle it with an ordinary retry.
            id = self.create(&create).await;
        }
        if let Some(id) = id {
            self.pending.push(id);
        }
    }

    /// A pending payment confirmed twice at once: both answers say succeeded.
    async fn duplicate_confirm(&mut self) {
        let create = self.new_create(false);
        let Some(id) = self.create(&create).await else {
            return;
        };
        self.stats.duplicate_confirms += 1;
        // Half of them capture part of the hold, both with the same amount.
        let amount = (create.amount > 1 && self.rng.random_bool(0.5))
            .then(|| self.rng.random_range(1..create.amount));
        let (a, b) = self
            .pair(&id, ("confirm", amount), ("confirm", amount))
            .await;
        for answer in [a, b].iter().flatten() {
            self.record_settled(&id, "confirm", amount, Some(answer));
        }
    }

    /// A pending payment confirmed and canceled at once: exactly one wins.
    async fn race(&mut self) {
        let create = self.new_create(false);
        let Some(id) = self.create(&create).await else {
            return;
        };
        self.stats.races += 1;
        let (confirm, cancel) = self.pair(&id, ("confirm", None), ("cancel", None)).await;
        let confirmed = confirm.as_ref().is_some_and(|a| a.status == 200);
        let canceled = cancel.as_ref().is_some_and(|a| a.status == 200);
        if confirmed && canceled {
            self.observed
                .violations
                .push(format!("{id}: both confirm and cancel answered 200"));
        }
        if let Some(answer) = &confirm {
            self.record_settled(&id, "confirm", None, Some(answer));
        }
        if let Some(answer) = &cancel {
            self.record_settled(&id, "cancel", None, Some(answer));
        }
        if !confirmed && !canceled {
            // Neither got through (a fault): leave it to a later confirm or cancel.
            self.pending.push(id);
        }
    }

    /// Two actions on one payment at once (a confirm with its amount, if partial).
    async fn pair(
        &mut self,
        id: &str,
        first: (&str, Option<i64>),
        second: (&str, Option<i64>),
    ) -> (Option<Answer>, Option<Answer>) {
        let (api_key, bearer) = (self.creds.api_key.clone(), self.creds.bearer.clone());
        let json = |amount: Option<i64>| amount.map(|_| ("content-type", "application/json"));
        let mut h1 = vec![
            ("x-api-key", api_key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        let mut h2 = h1.clone();
        h1.extend(json(first.1));
        h2.extend(json(second.1));
        let (p1, p2) = (
            format!("/v1/payments/{id}/{}", first.0),
            format!("/v1/payments/{id}/{}", second.0),
        );
        let (a, b) = tokio::join!(
            self.conn
                .send(Method::POST, &p1, &h1, capture_body(first.1)),
            self.aux
                .send(Method::POST, &p2, &h2, capture_body(second.1)),
        );
        self.stats.note(&a);
        self.stats.note(&b);
        (a.ok(), b.ok())
    }
}

/// A confirm's body: none (capture the whole hold) or `{"amount": n}` (a partial capture).
fn capture_body(amount: Option<i64>) -> Bytes {
    amount.map_or_else(Bytes::new, |amount| {
        Bytes::from(json!({ "amount": amount }).to_string())
    })
}
