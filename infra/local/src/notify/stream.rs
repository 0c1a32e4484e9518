//! The transactions table's DynamoDB stream, polled the way the template's event source mapping
//! polls it: every shard from its checkpoint (else the mapping's starting position), records
//! filtered by the mapping's patterns, handed on in batches of its size, failed records retried
//! up to its retry count. Batches run concurrently and the poller reads on while they do, so a
//! slow receiver holds up no other event; the checkpoint follows the low watermark of handled
//! records ([`Watermark`]).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use aws_sdk_dynamodbstreams::{
    Client,
    error::DisplayErrorContext,
    types::{Record, ShardIteratorType},
};
use tokio::{
    sync::{Semaphore, mpsc},
    task::JoinSet,
};

use super::{
    checkpoint::{Checkpoints, Watermark, is_checkpoint_key},
    filter::{self, Pattern},
    record,
    sink::{StreamItem, StreamSink},
};

/// How long an idle shard waits before asking again (the mapping polls 4 times a second; a
/// little faster here, for a quick first attempt).
const IDLE_POLL: Duration = Duration::from_millis(100);
/// The most often the checkpoint item is written.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// How long a shard that just returned its latest records waits before asking again.
const CAUGHT_UP_POLL: Duration = Duration::from_millis(50);
/// How often the stream is described again for new shards (DynamoDB rolls them over).
const DISCOVERY: Duration = Duration::from_secs(10);
/// Records read ahead of the watermark before the poller waits for handling to catch up.
const MAX_IN_FLIGHT: usize = 2000;
/// Batches handled at the same time, over all shards.
const CONCURRENT_BATCHES: usize = 32;
/// Records per GetRecords (the API's maximum is 1000).
const READ_LIMIT: i32 = 500;

/// A stream and how its mapping hands records on.
pub struct StreamPoller {
    pub client: Client,
    pub stream_arn: String,
    pub region: String,
    pub checkpoints: Checkpoints,
    pub filters: Vec<Pattern>,
    pub batch_size: usize,
    /// Retries of a failed record before it is given up (logged, as the on-failure destination
    /// would receive it).
    pub max_retries: u32,
    /// Where a shard without a checkpoint starts, at the first start.
    pub starting_position: ShardIteratorType,
}

/// The records of one GetRecords call, with their tickets in the shard's watermark.
type Batch = (Vec<u64>, Vec<StreamItem>);

impl StreamPoller {
    /// Polls every shard until the task is dropped.
    pub async fn run(self: Arc<Self>, sink: Arc<dyn StreamSink>) {
        let positions = loop {
            match self.checkpoints.load().await {
                Ok(positions) => break positions,
                Err(err) => {
                    tracing::warn!(error = %err, "reading the stream checkpoint; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let (checkpoint, positions_rx) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        tasks.spawn(
            self.clone()
                .write_checkpoints(positions.clone(), positions_rx),
        );
        let batches = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
        let mut started = HashSet::new();
        let mut first = true;
        loop {
            match self.shards().await {
                Ok(shards) => {
                    for shard in shards {
                        if !started.insert(shard.clone()) {
                            continue;
                        }
                        let from = match positions.get(&shard) {
                            Some(seq) => Start::After(seq.clone()),
                            // A shard found later is new: all of it is unread.
                            None if first => Start::At(self.starting_position.clone()),
                            None => Start::At(ShardIteratorType::TrimHorizon),
                        };
                        let shard_task = ShardTask {
                            poller: self.clone(),
                            sink: sink.clone(),
                            batches: batches.clone(),
                            checkpoint: checkpoint.clone(),
                            shard,
                        };
                        tasks.spawn(shard_task.run(from));
                    }
                    first = false;
                }
                Err(err) => tracing::warn!(error = %err, "describing the stream"),
            }
            tokio::time::sleep(DISCOVERY).await;
        }
    }

    async fn shards(&self) -> Result<Vec<String>, String> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(after.clone())
                .send()
                .await
                .map_err(|e| DisplayErrorContext(&e).to_string())?;
            let Some(description) = page.stream_description() else {
                return Ok(shards);
            };
            shards.extend(
                description
                    .shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_owned)),
            );
            after = description.last_evaluated_shard_id().map(str::to_owned);
            if after.is_none() {
                return Ok(shards);
            }
        }
    }

    /// Keeps the checkpoint item up to date with the shards' watermarks, one write at a time
    /// and at most one per [`CHECKPOINT_EVERY`] (each write carries every position reported
    /// meanwhile). The mapping keeps its position outside the table; here every write is a
    /// request to the store (and a stream record), so under steady traffic an unpaced writer
    /// would keep the endpoint busy with nothing but checkpoints. A crash repeats at most that
    /// much more, which the consumers are built to take.
    async fn write_checkpoints(
        self: Arc<Self>,
        mut positions: HashMap<String, String>,
        mut reports: mpsc::UnboundedReceiver<(String, String)>,
    ) {
        while let Some((shard, seq)) = reports.recv().await {
            positions.insert(shard, seq);
            while let Ok((shard, seq)) = reports.try_recv() {
                positions.insert(shard, seq);
            }
            while let Err(err) = self.checkpoints.save(&positions).await {
                tracing::warn!(error = %err, "writing the stream checkpoint; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tokio::time::sleep(CHECKPOINT_EVERY).await;
        }
    }
}

enum Start {
    After(String),
    At(ShardIteratorType),
}

struct ShardTask {
    poller: Arc<StreamPoller>,
    sink: Arc<dyn StreamSink>,
    batches: Arc<Semaphore>,
    checkpoint: mpsc::UnboundedSender<(String, String)>,
    shard: String,
}

impl ShardTask {
    async fn run(self, mut from: Start) {
        let (done, mut handled) = mpsc::unbounded_channel::<Vec<u64>>();
        let mut marks = Watermark::default();
        let mut iterator = None;
        let mut last_read: Option<String> = None;
        loop {
            while let Ok(tickets) = handled.try_recv() {
                tickets.into_iter().for_each(|t| marks.done(t));
            }
            if let Some(seq) = marks.advance() {
                let _ = self.checkpoint.send((self.shard.clone(), seq));
            }
            if marks.in_flight() >= MAX_IN_FLIGHT {
                if let Some(tickets) = handled.recv().await {
                    tickets.into_iter().for_each(|t| marks.done(t));
                }
                continue;
            }
            let Some(current) = iterator.take() else {
                match self.iterator(&from).await {
                    Ok(Some(new)) => iterator = Some(new),
                    Ok(None) => return,
                    Err(err) => {
                        tracing::warn!(shard = %self.shard, error = %err, "GetShardIterator");
                        if matches!(from, Start::After(_)) && err.contains("TrimmedDataAccess") {
                            // Past the stream's retention: everything still kept is unread.
                            from = Start::At(ShardIteratorType::TrimHorizon);
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                continue;
            };
            let page = match self
                .poller
                .client
                .get_records()
                .shard_iterator(&current)
                .limit(READ_LIMIT)
                .send()
                .await
            {
                Ok(page) => page,
                Err(err) => {
                    tracing::warn!(shard = %self.shard, error = %DisplayErrorContext(&err), "GetRecords; reading on from the last record read");
                    if let Some(seq) = &last_read {
                        from = Start::After(seq.clone());
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let records = page.records();
            if let Some(seq) = records.last().and_then(record::sequence_number) {
                last_read = Some(seq.to_owned());
            }
            let (tickets, items) = self.select(records, &mut marks);
            self.hand_on(tickets, items, &done).await;
            iterator = page.next_shard_iterator().map(str::to_owned);
            if iterator.is_none() {
                // A closed shard: done once its last records are.
                while marks.in_flight() > 0 {
                    let Some(tickets) = handled.recv().await else {
                        return;
                    };
                    tickets.into_iter().for_each(|t| marks.done(t));
                    if let Some(seq) = marks.advance() {
                        let _ = self.checkpoint.send((self.shard.clone(), seq));
                    }
                }
                return;
            }
            if records.is_empty() {
                tokio::select! {
                    Some(tickets) = handled.recv() => tickets.into_iter().for_each(|t| marks.done(t)),
                    () = tokio::time::sleep(IDLE_POLL) => {}
                }
            } else if records.len() < usize::try_from(READ_LIMIT).unwrap_or(usize::MAX) {
                // Caught up: the next records are at most a poll away, as with the mapping
                // (which polls each shard 4 times a second); asking again at once would only
                // load the endpoint with GetRecords calls that find one or two records each.
                tokio::time::sleep(CAUGHT_UP_POLL).await;
            }
        }
    }

    async fn iterator(&self, from: &Start) -> Result<Option<String>, String> {
        let request = self
            .poller
            .client
            .get_shard_iterator()
            .stream_arn(&self.poller.stream_arn)
            .shard_id(&self.shard);
        let request = match from {
            Start::After(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            Start::At(kind) => request.shard_iterator_type(kind.clone()),
        };
        let answer = request
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        Ok(answer.shard_iterator().map(str::to_owned))
    }

    /// Records each record in the watermark; the ones that pass the filters, to hand on.
    fn select(&self, records: &[Record], marks: &mut Watermark) -> Batch {
        let (mut tickets, mut items) = (Vec::new(), Vec::new());
        for one in records {
            let Some(seq) = record::sequence_number(one) else {
                continue;
            };
            let lambda = record::lambda_record(one, &self.poller.stream_arn, &self.poller.region);
            let passes = filter::passes(&self.poller.filters, &lambda);
            let counts = !record::partition_key(one, "pk").is_some_and(is_checkpoint_key);
            let ticket = marks.read(seq, passes, counts);
            if passes {
                tickets.push(ticket);
                items.push(StreamItem {
                    lambda,
                    item: record::new_image(one),
                    sequence_number: seq.to_owned(),
                });
            }
        }
        (tickets, items)
    }

    /// Hands `items` on in batches, each on its own task once a batch slot is free.
    async fn hand_on(
        &self,
        tickets: Vec<u64>,
        items: Vec<StreamItem>,
        done: &mpsc::UnboundedSender<Vec<u64>>,
    ) {
        let size = self.poller.batch_size.max(1);
        for (tickets, batch) in tickets.chunks(size).zip(items.chunks(size)) {
            let Ok(permit) = self.batches.clone().acquire_owned().await else {
                return;
            };
            let (tickets, batch) = (tickets.to_vec(), batch.to_vec());
            let (sink, done) = (self.sink.clone(), done.clone());
            let retries = self.poller.max_retries;
            tokio::spawn(async move {
                handle_with_retries(sink.as_ref(), batch, retries).await;
                drop(permit);
                let _ = done.send(tickets);
            });
        }
    }
}

/// Hands `batch` to `sink`, then its failed records again (1 s, 2 s, 4 s … up to 30 s apart)
/// up to `retries` times; what still fails is logged with its sequence numbers.
async fn handle_with_retries(sink: &dyn StreamSink, mut batch: Vec<StreamItem>, retries: u32) {
    let mut wait = Duration::from_secs(1);
    for attempt in 0..=retries {
        let failed = sink.handle(&batch).await;
        if failed.is_empty() {
            return;
        }
        batch = failed
            .into_iter()
            .filter_map(|i| batch.get(i).cloned())
            .collect();
        if attempt < retries {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }
    let sequence_numbers: Vec<&str> = batch.iter().map(|i| i.sequence_number.as_str()).collect();
    tracing::error!(
        ?sequence_numbers,
        retries,
        "stream records failed past the mapping's retries: their events were not delivered"
    );
}
