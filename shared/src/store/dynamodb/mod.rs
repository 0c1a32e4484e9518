//! The DynamoDB adapter. Every balance change is ONE `TransactWriteItems` whose condition
//! expressions restate the domain rules, so DynamoDB itself refuses an overdraft, a limit breach
//! or a second capture, however many Lambdas race. When a transaction is cancelled, the old
//! items returned with the cancellation reasons are run through the same domain checks the
//! in-memory store uses, which turns "ConditionalCheckFailed" into the precise domain error.
//!
//! Round trips (counted by [`RoundTripCounter`], every HTTP attempt included):
//! hold 1 (plus 1 `GetItem` the first time a process resolves the destination's owner, which
//! is then cached: accounts never change owner); one-step payment 2; capture, whole or partial,
//! 2 (consistent read of both accounts, then the write, conditioned on each account's
//! `ledger_head` so `balance_after` is exact); refund 2 (the same shape); a payment with its
//! refunds 1; release 1; balance read 1; entries page 1; payments page 1 (none for an empty
//! time range); accounts page 1. The data model is in `docs/data-model.md`.
//!
//! By aggregate: `payments` (hold, one-step, capture) and `releases` (release, the overdue
//! query), `refunds` (refund, a payment with its refunds), `ledger` (funding, entries),
//! `records` (accounts and their owners, clients), `listing` (pages of a client's payments and
//! accounts). Shared pieces: the writes
//! in `updates`, built with `expr` and run as one transaction by `tx`, whose cancellations
//! `explain` turns into domain errors; item shapes in `items`, `keys` and `attrs`; the reads in
//! `reads`; backoff in `retry`.

mod attrs;
mod events;
mod explain;
mod expr;
pub mod image;
mod items;
mod keys;
mod ledger;
mod listing;
mod outbox;
#[cfg(test)]
mod outbox_replay_tests;
mod payments;
mod posting;
mod reads;
mod records;
#[cfg(test)]
mod refund_replay_tests;
mod refunds;
mod releases;
mod retry;
mod reviews;
mod risk;
#[cfg(test)]
mod round_trip_tests;
pub mod schema;
mod tx;
#[cfg(test)]
mod tx_replay_tests;
mod updates;
mod webhook_items;
mod webhooks;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

pub use outbox::outbox_record_from_item;
pub use posting::{UNPOSTED_CREDIT_TYPE, unposted_credit_from_item, unposted_credit_item};

use aws_sdk_dynamodb::{
    Client,
    config::{
        ConfigBag, Intercept, RuntimeComponents, interceptors::BeforeTransmitInterceptorContextRef,
    },
    error::BoxError,
};

/// The two tables, named per deployment (never hard-coded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Accounts (and, later, OAuth clients).
    pub accounts: String,
    /// Payments, ledger entries and idempotency records.
    pub transactions: String,
}

impl TableNames {
    /// `{prefix}-accounts` and `{prefix}-transactions`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            accounts: format!("{prefix}-accounts"),
            transactions: format!("{prefix}-transactions"),
        }
    }
}

/// Counts DynamoDB HTTP attempts (retries included): the round trips a request really paid for.
/// Each attempt counts here, for the store's lifetime, and in the request's own count
/// ([`crate::metrics::count_round_trips`]), which the `DynamoDbRoundTrips` metric reports.
#[derive(Debug, Clone, Default)]
pub struct RoundTripCounter(Arc<AtomicU64>);

impl RoundTripCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for RoundTripCounter {
    fn name(&self) -> &'static str {
        "paygate.RoundTripCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        crate::metrics::add_round_trip();
        Ok(())
    }
}

/// The DynamoDB-backed store. Cheap to clone; build one per sandbox and share it.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Arc<TableNames>,
    round_trips: RoundTripCounter,
    /// Account owners already looked up (accounts never change owner), bounded.
    owners: Arc<Mutex<HashMap<crate::AccountId, crate::ClientId>>>,
    /// The velocity counters last seen: the next hold's guess of them.
    guesses: Arc<risk::Guesses>,
}

impl DynamoStore {
    /// Builds the client from `sdk_config` (region, credentials, endpoint) with a round-trip
    /// counter attached.
    pub fn new(sdk_config: &aws_config::SdkConfig, tables: TableNames) -> Self {
        let round_trips = RoundTripCounter::default();
        // Bounded calls (also set on configs from `crate::aws`; repeated here for configs built
        // elsewhere): a stalled endpoint becomes Unavailable (503), not a hung request.
        let config = aws_sdk_dynamodb::config::Builder::from(sdk_config)
            .interceptor(round_trips.clone())
            .timeout_config(crate::aws::timeouts())
            .build();
        Self {
            client: Client::from_conf(config),
            tables: Arc::new(tables),
            round_trips,
            owners: Arc::default(),
            guesses: Arc::default(),
        }
    }

    /// DynamoDB HTTP attempts made by this store so far.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    fn accounts_table(&self) -> &str {
        &self.tables.accounts
    }

    fn transactions_table(&self) -> &str {
        &self.tables.transactions
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// SDK configuration for an explicit endpoint (moto, or any DynamoDB-compatible service), with
/// paygate's HTTPS client ([`crate::aws::loader`]). With `static_test_credentials`, uses fixed
/// dummy credentials instead of the default chain, as local emulators expect.
pub async fn sdk_config_for_endpoint(
    endpoint: &str,
    region: &str,
    static_test_credentials: bool,
) -> aws_config::SdkConfig {
    let trust = crate::aws::Trust::for_endpoints([Some(endpoint)]);
    let mut loader = crate::aws::loader(trust)
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(endpoint);
    if static_test_credentials {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "paygate-static",
        ));
    }
    loader.load().await
}
