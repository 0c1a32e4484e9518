//! Batched credit posting on one machine, with the same engine as the `post` function
//! ([`Poster`]): on the embedded store, its posting queue (an account is queued by the very
//! write that defers a credit into it); on DynamoDB (moto), the transactions table's stream
//! polled as the template's `post` mapping would (its own checkpoint, its filter), handed to
//! the poster in-process or, with `--upstream`, to the `post` function. The template's sweep
//! schedule runs [`Poster::sweep`] (see [`crate::schedule`]).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use futures_util::future::join_all;
use paygate_shared::{
    AccountId,
    poster::Poster,
    store::{dynamodb::unposted_credit_from_item, memory::MemoryStore},
    unposted::UnpostedCredit,
};
use paygate_template::{EventSource, Source, TRANSACTIONS_TABLE, Template};
use tokio::{sync::Semaphore, task::JoinHandle};

use crate::{
    Backend,
    aws::AwsOptions,
    notify::{
        lambda,
        sink::{StreamItem, StreamSink},
        stream::StreamPoller,
    },
};

/// The binary of the template's poster.
pub const POST_BINARY: &str = "post";
/// Accounts drained at the same time.
pub const CONCURRENT: usize = 8;
/// One drain's time before the account is handed back to the queue.
const DRAIN_BUDGET: Duration = Duration::from_secs(45);
/// Tries of a drain that fails before it is given up (the sweep posts what is left).
const TRIES: u32 = 5;

/// The embedded store: drains every account its posting queue names.
pub fn start_embedded(poster: Poster, store: Arc<MemoryStore>) -> Vec<JoinHandle<()>> {
    tracing::info!(
        source = "the embedded store's posting queue",
        "credit posting for batched accounts"
    );
    vec![tokio::spawn(pump(poster, store))]
}

async fn pump(poster: Poster, store: Arc<MemoryStore>) {
    let slots = Arc::new(Semaphore::new(CONCURRENT));
    let signal = store.posting_signal();
    loop {
        // Registered before looking, so an account queued in between still wakes the pump.
        let queued = signal.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let accounts = store.take_posting_work(64);
        if accounts.is_empty() {
            queued.await;
            continue;
        }
        for account in accounts {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let poster = poster.clone();
            tokio::spawn(async move {
                drain(&poster, account).await;
                drop(slot);
            });
        }
    }
}

/// Drains `account`, trying again a few times on failure; `false` if it gave up.
async fn drain(poster: &Poster, account: AccountId) -> bool {
    let mut wait = Duration::from_millis(100);
    for tried in 1..=TRIES {
        match poster.drain(account, DRAIN_BUDGET).await {
            Ok(drained) if drained.more => {
                // The budget ran out: go on at once, as the next trigger would.
                continue;
            }
            Ok(_) => return true,
            Err(err) if tried < TRIES => {
                tracing::warn!(account = %account, error = %err, "posting failed; trying again");
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
            Err(err) => {
                tracing::error!(account = %account, error = %err, "posting failed {TRIES} times: left to the sweep");
            }
        }
    }
    false
}

/// The poster as a stream sink: each account's credits in a batch are posted from the records
/// themselves (no shard reads, unless one is already posted); a failure fails every record of
/// its account (the poller retries them).
pub struct InProcess {
    pub poster: Poster,
}

#[async_trait]
impl StreamSink for InProcess {
    async fn handle(&self, batch: &[StreamItem]) -> Vec<usize> {
        let mut accounts: Vec<(AccountId, Vec<usize>, Vec<UnpostedCredit>)> = Vec::new();
        for (index, entry) in batch.iter().enumerate() {
            let Some(item) = &entry.item else { continue };
            match unposted_credit_from_item(item) {
                Ok(Some(credit)) => {
                    match accounts
                        .iter_mut()
                        .find(|(a, _, _)| *a == credit.account_id)
                    {
                        Some((_, indices, credits)) => {
                            indices.push(index);
                            credits.push(credit);
                        }
                        None => accounts.push((credit.account_id, vec![index], vec![credit])),
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(sequence_number = %entry.sequence_number, error = %err, "an unposted credit that cannot be read: skipped (the sweep cannot post it either)");
                }
            }
        }
        let outcomes = join_all(accounts.into_iter().map(|(account, indices, credits)| async move {
            let posted = self.poster.post_known(account, credits, DRAIN_BUDGET).await;
            if let Err(err) = &posted {
                tracing::warn!(account = %account, error = %err, "posting failed; the records will be retried");
            }
            (indices, posted.is_ok())
        }))
        .await;
        outcomes
            .into_iter()
            .filter(|(_, ok)| !ok)
            .flat_map(|(indices, _)| indices)
            .collect()
    }
}

/// On DynamoDB at `endpoint`: the template's `post` mapping of the transactions table's stream,
/// handled in-process, or by the `post` function with `--upstream`. Nothing (logged) when the
/// template has no such mapping.
///
/// # Errors
/// What keeps the stream from being read, named.
pub async fn start_on_dynamodb(
    backend: &Backend,
    template: &Template,
    options: &AwsOptions,
    endpoint: &str,
) -> Result<Vec<JoinHandle<()>>, String> {
    let Some(mapping) = post_mapping(template) else {
        tracing::info!(
            "no `post` function reads the TransactionsTable stream: batched accounts' credits are posted only by `paygate-admin set-posting --mode immediate`"
        );
        return Ok(Vec::new());
    };
    let config = crate::aws::sdk_config(endpoint, &options.region).await;
    let table = options.transactions_table.as_str();
    let poller =
        Arc::new(crate::notify::poller(&config, mapping, table, &options.region, "POSTER").await?);
    stream_poster(poller, mapping, backend, &options.region)
}

/// The template's `post` mapping of the transactions table's stream, if it has one.
pub fn post_mapping(template: &Template) -> Option<&EventSource> {
    template.event_sources().iter().find(|s| {
        s.binary.as_deref() == Some(POST_BINARY)
            && matches!(&s.source, Source::DynamoDbStream(t) if t.table == TRANSACTIONS_TABLE)
    })
}

/// Starts `poller` handing its batches to the poster (in-process, or the upstream `post`).
///
/// # Errors
/// None today; kept fallible like the other starts.
pub fn stream_poster(
    poller: Arc<StreamPoller>,
    mapping: &EventSource,
    backend: &Backend,
    region: &str,
) -> Result<Vec<JoinHandle<()>>, String> {
    let table = "the transactions table";
    let (sink, handled_by): (Arc<dyn StreamSink>, String) = match &backend.upstream {
        None => (
            Arc::new(InProcess {
                poster: backend.poster.clone(),
            }),
            "in-process".to_owned(),
        ),
        Some(upstream) => (
            Arc::new(lambda::Function {
                upstream: upstream.clone(),
                binary: POST_BINARY.to_owned(),
                region: region.to_owned(),
                queue_arn: String::new(),
            }),
            format!("the `{POST_BINARY}` function at {}", upstream.base()),
        ),
    };
    tracing::info!(
        source = %poller.stream_arn,
        table,
        filters = ?mapping.filters,
        batch_size = poller.batch_size,
        handled_by = %handled_by,
        "credit posting for batched accounts: the transactions table's stream (from its checkpoint)"
    );
    Ok(vec![tokio::spawn(poller.run(sink))])
}
