//! Where the stream poller resumes after a restart: per shard, the sequence number up to which
//! every record has been handled, kept in one item of the transactions table
//! (`pk = <CONSUMER>#<stream arn>`, `sk = CHECKPOINT`: `NOTIFIER` for the notifier, `POSTER`
//! for the poster, one item each). Records are handled concurrently and finish
//! in any order, so the checkpoint is a low watermark: it passes a record only once that record
//! and every one before it are done. A crash repeats the records after it (the engine skips
//! what was already delivered) and loses none.

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::{Client, error::DisplayErrorContext, types::AttributeValue};

/// The records of one shard read and not yet passed by the watermark, in stream order.
#[derive(Debug, Default)]
pub struct Watermark {
    pending: VecDeque<Pending>,
    next_ticket: u64,
}

#[derive(Debug)]
struct Pending {
    ticket: u64,
    sequence_number: String,
    done: bool,
    /// Whether passing it is worth a checkpoint write: not for the records of the checkpoint
    /// item itself (each write makes one, and would otherwise call for the next write).
    counts: bool,
}

impl Watermark {
    /// Records `sequence_number` as read; `Some(ticket)` to hand to [`Watermark::done`] once it
    /// is handled, `None` when it needs no handling (filtered out: done already).
    pub fn read(&mut self, sequence_number: &str, needs_handling: bool, counts: bool) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.pending.push_back(Pending {
            ticket,
            sequence_number: sequence_number.to_owned(),
            done: !needs_handling,
            counts,
        });
        ticket
    }

    /// Marks a record handled.
    pub fn done(&mut self, ticket: u64) {
        if let Some(front) = self.pending.front().map(|p| p.ticket)
            && let Some(pending) = ticket
                .checked_sub(front)
                .and_then(|i| self.pending.get_mut(usize::try_from(i).ok()?))
        {
            pending.done = true;
        }
    }

    /// Moves past every leading handled record: the new checkpoint when it passed one that
    /// counts.
    pub fn advance(&mut self) -> Option<String> {
        let mut passed = None;
        let mut counted = false;
        while self.pending.front().is_some_and(|p| p.done) {
            let Some(front) = self.pending.pop_front() else {
                break;
            };
            counted |= front.counts;
            passed = Some(front.sequence_number);
        }
        if counted { passed } else { None }
    }

    /// Records read and not yet passed.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

/// The checkpoint item of one stream.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    client: Client,
    table: String,
    stream_arn: String,
    consumer: &'static str,
}

const SHARDS: &str = "shards";

/// The consumers of the transactions table's stream that keep a checkpoint in it.
pub const CONSUMERS: [&str; 2] = ["NOTIFIER", "POSTER"];

/// Whether `pk` is the partition key of any consumer's checkpoint item: passing such a record
/// is no reason to write a checkpoint (each write makes one record, and with two consumers each
/// one's writes would otherwise make the other write, forever).
pub fn is_checkpoint_key(pk: &str) -> bool {
    CONSUMERS
        .iter()
        .any(|c| pk.strip_prefix(c).is_some_and(|rest| rest.starts_with('#')))
}

impl Checkpoints {
    /// The checkpoint of `consumer` (one of [`CONSUMERS`]).
    pub fn new(client: Client, table: &str, stream_arn: &str, consumer: &'static str) -> Self {
        debug_assert!(CONSUMERS.contains(&consumer));
        Self {
            client,
            table: table.to_owned(),
            stream_arn: stream_arn.to_owned(),
            consumer,
        }
    }

    fn key(&self) -> [(String, AttributeValue); 2] {
        [
            ("pk".to_owned(), AttributeValue::S(self.partition_key())),
            ("sk".to_owned(), AttributeValue::S("CHECKPOINT".to_owned())),
        ]
    }

    /// The sequence number each shard was handled up to (empty on the first start).
    ///
    /// # Errors
    /// DynamoDB's refusal, as text.
    pub async fn load(&self) -> Result<HashMap<String, String>, String> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key().into_iter().collect()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("GetItem {}: {}", self.table, DisplayErrorContext(&e)))?;
        let Some(AttributeValue::M(shards)) = item.item().and_then(|i| i.get(SHARDS)) else {
            return Ok(HashMap::new());
        };
        Ok(shards
            .iter()
            .filter_map(|(shard, seq)| Some((shard.clone(), seq.as_s().ok()?.clone())))
            .collect())
    }

    /// Writes every shard's position.
    ///
    /// # Errors
    /// DynamoDB's refusal, as text.
    pub async fn save(&self, shards: &HashMap<String, String>) -> Result<(), String> {
        let positions = shards
            .iter()
            .map(|(shard, seq)| (shard.clone(), AttributeValue::S(seq.clone())))
            .collect();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(
                self.key()
                    .into_iter()
                    .chain([(SHARDS.to_owned(), AttributeValue::M(positions))])
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| format!("PutItem {}: {}", self.table, DisplayErrorContext(&e)))?;
        Ok(())
    }

    /// The partition key of the checkpoint item.
    pub fn partition_key(&self) -> String {
        format!("{}#{}", self.consumer, self.stream_arn)
    }
}

#[cfg(test)]
mod tests {
    use super::Watermark;

    #[test]
    fn the_watermark_passes_a_record_only_when_all_before_it_are_done() {
        let mut marks = Watermark::default();
        let first = marks.read("1", true, true);
        let _skipped = marks.read("2", false, true);
        let third = marks.read("3", true, true);
        assert_eq!(marks.advance(), None, "nothing done yet");
        marks.done(third);
        assert_eq!(marks.advance(), None, "the first is still in flight");
        assert_eq!(marks.in_flight(), 3);
        marks.done(first);
        assert_eq!(marks.advance().as_deref(), Some("3"));
        assert_eq!(marks.in_flight(), 0);
        marks.done(first);
        assert_eq!(
            marks.advance(),
            None,
            "a late or repeated ticket changes nothing"
        );
    }

    #[test]
    fn every_consumers_checkpoint_items_are_recognised() {
        use super::is_checkpoint_key;
        assert!(is_checkpoint_key("NOTIFIER#arn:aws:dynamodb:x"));
        assert!(is_checkpoint_key("POSTER#arn:aws:dynamodb:x"));
        assert!(!is_checkpoint_key("POSTERS#x"));
        assert!(!is_checkpoint_key("EVENT#evt_1"));
        assert!(!is_checkpoint_key("UNPOSTED#acc_1#0"));
    }

    #[test]
    fn passing_only_its_own_checkpoint_records_is_no_reason_to_write() {
        let mut marks = Watermark::default();
        marks.read("1", false, false);
        assert_eq!(marks.advance(), None);
        marks.read("2", false, false);
        marks.read("3", false, true);
        assert_eq!(marks.advance().as_deref(), Some("3"));
    }
}
