//! The local notifier's event sources on moto, below the delivery code: the transactions
//! table's stream hands on exactly the records the template's filter selects, retries a failed
//! record, and resumes from its checkpoint after a restart (nothing lost, nothing before the
//! checkpoint again); the retry queue is created as the template declares it, a message is
//! deleted only once its job succeeded, and one that keeps failing moves to the dead-letter
//! queue.
//!
//! Needs moto: `PAYGATE_TEST_DYNAMODB_ENDPOINT` (`bash tests/run.sh -- -p paygate-local`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message, QueueAttributeName};
use paygate_local::{
    aws::sdk_config,
    notify::{
        self, NotifySources,
        queue::{self, RetryQueues},
        sink::{JobSink, StreamItem, StreamSink},
    },
};
use paygate_template::{StoreTables, Template, create_store_tables};

fn moto() -> String {
    std::env::var("PAYGATE_TEST_DYNAMODB_ENDPOINT").expect(
        "PAYGATE_TEST_DYNAMODB_ENDPOINT is not set: these tests need moto; run them with \
         `bash tests/run.sh -- -p paygate-local`",
    )
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Records the `pk#sk` of every stream record handed to it; fails each key listed in
/// `fail_once` the first time it sees it.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
    fail_once: Mutex<Vec<String>>,
}

impl Recorder {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn key_of(item: &StreamItem) -> String {
    let image = &item.lambda["dynamodb"]["NewImage"];
    format!(
        "{}#{}",
        image["pk"]["S"].as_str().unwrap_or("?"),
        image["sk"]["S"].as_str().unwrap_or("?")
    )
}

#[async_trait]
impl StreamSink for Recorder {
    async fn handle(&self, batch: &[StreamItem]) -> Vec<usize> {
        let mut failed = Vec::new();
        for (index, item) in batch.iter().enumerate() {
            let key = key_of(item);
            self.seen.lock().unwrap().push(key.clone());
            let mut fail_once = self.fail_once.lock().unwrap();
            if let Some(at) = fail_once.iter().position(|k| *k == key) {
                fail_once.remove(at);
                failed.push(index);
            }
        }
        failed
    }
}

async fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(found) = check() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}")
}

async fn put(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str, sk: &str, kind: &str) {
    let item: HashMap<String, AttributeValue> = [("pk", pk), ("sk", sk), ("type", kind)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
        .collect();
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .expect("PutItem");
}

/// Fresh tables from the template on moto, and a poller of the transactions table's stream.
struct Fixture {
    dynamodb: aws_sdk_dynamodb::Client,
    tables: [String; 2],
    transactions: String,
    poller: Arc<notify::stream::StreamPoller>,
}

impl Fixture {
    async fn new(prefix: &str) -> Self {
        let names = unique(prefix);
        let (accounts, transactions) =
            (format!("{names}-accounts"), format!("{names}-transactions"));
        let config = sdk_config(&moto(), "us-east-1").await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let template = Template::bundled().expect("template");
        create_store_tables(
            &dynamodb,
            &template,
            StoreTables {
                accounts: &accounts,
                transactions: &transactions,
            },
        )
        .await
        .expect("tables");
        let sources = NotifySources::of(&template).expect("the notifier's sources");
        let poller = Arc::new(
            notify::stream_poller(&config, &sources, &transactions, "us-east-1")
                .await
                .expect("the stream"),
        );
        Self {
            dynamodb,
            tables: [accounts, transactions.clone()],
            transactions,
            poller,
        }
    }

    async fn drop_tables(&self) {
        for table in &self.tables {
            let _ = self.dynamodb.delete_table().table_name(table).send().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_hands_on_outbox_records_and_resumes_from_its_checkpoint() {
    let fx = Fixture::new("ntf").await;
    let (dynamodb, transactions, poller) = (&fx.dynamodb, &fx.transactions, fx.poller.clone());
    let first = Arc::new(Recorder::default());
    first
        .fail_once
        .lock()
        .unwrap()
        .push("EVENT#evt_2#EVENT".into());
    let running = tokio::spawn(poller.clone().run(first.clone()));

    put(dynamodb, transactions, "EVENT#evt_1", "EVENT", "event").await;
    put(dynamodb, transactions, "PAY#pay_1", "PAY", "payment").await;
    put(dynamodb, transactions, "EVENT#evt_2", "EVENT", "event").await;
    put(
        dynamodb,
        transactions,
        "EVENT#evt_1",
        "DELIVERY#we_1",
        "delivery",
    )
    .await;
    put(dynamodb, transactions, "EVENT#evt_1", "RESEND#01", "resend").await;
    // A MODIFY of an event item is not an outbox record.
    put(dynamodb, transactions, "EVENT#evt_1", "EVENT", "event").await;

    let seen = until("the outbox records, evt_2 twice", || {
        let seen = first.seen();
        (seen.len() >= 4).then_some(seen)
    })
    .await;
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "EVENT#evt_1#EVENT",
            "EVENT#evt_1#RESEND#01",
            "EVENT#evt_2#EVENT",
            "EVENT#evt_2#EVENT"
        ],
        "only INSERTs of event and resend items; the failed one handed on again: {seen:?}"
    );
    // The checkpoint passes the last record once everything before it is handled.
    let checkpoints = poller.checkpoints.clone();
    let mut saved = HashMap::new();
    for _ in 0..100 {
        saved = checkpoints.load().await.expect("the checkpoint");
        if !saved.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(saved.len(), 1, "one shard on moto: {saved:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.abort();
    let _ = running.await;

    // Written while no poller runs: the next one delivers it, and nothing from before.
    put(dynamodb, transactions, "EVENT#evt_3", "EVENT", "event").await;
    let second = Arc::new(Recorder::default());
    let restarted = tokio::spawn(poller.clone().run(second.clone()));
    until("evt_3 after the restart", || {
        second
            .seen()
            .contains(&"EVENT#evt_3#EVENT".to_owned())
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        second.seen(),
        ["EVENT#evt_3#EVENT"],
        "resumed after the checkpoint"
    );
    restarted.abort();
    fx.drop_tables().await;
}

/// A cancelled transaction (an outbox event beside a write whose condition fails, as a payment
/// that loses a race) puts nothing on the stream, and the stream goes on: the records written
/// after it arrive. (moto restores a copy of the table on a cancellation; served by
/// tests/scripts/moto_server.py, the copy keeps the shard a reader's iterator holds.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_transaction_leaves_no_record_and_the_stream_goes_on() {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    let fx = Fixture::new("ntx").await;
    let (dynamodb, transactions, poller) = (&fx.dynamodb, &fx.transactions, fx.poller.clone());
    let recorder = Arc::new(Recorder::default());
    let running = tokio::spawn(poller.clone().run(recorder.clone()));

    put(dynamodb, transactions, "EVENT#evt_1", "EVENT", "event").await;
    until("evt_1", || (!recorder.seen().is_empty()).then_some(())).await;
    put(dynamodb, transactions, "PAY#pay_1", "PAY", "payment").await;
    let item = |pk: &str, sk: &str, kind: &str| -> HashMap<String, AttributeValue> {
        [("pk", pk), ("sk", sk), ("type", kind)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
            .collect()
    };
    let put_op = |item: HashMap<String, AttributeValue>, condition: Option<&str>| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(transactions)
                    .set_item(Some(item))
                    .set_condition_expression(condition.map(str::to_owned))
                    .build()
                    .expect("a put"),
            )
            .build()
    };
    let cancelled = dynamodb
        .transact_write_items()
        .transact_items(put_op(item("EVENT#evt_lost", "EVENT", "event"), None))
        .transact_items(put_op(
            item("PAY#pay_1", "PAY", "payment"),
            Some("attribute_not_exists(pk)"),
        ))
        .send()
        .await;
    assert!(cancelled.is_err(), "the condition fails: {cancelled:?}");
    put(dynamodb, transactions, "EVENT#evt_2", "EVENT", "event").await;

    until("evt_2 after the cancelled transaction", || {
        recorder
            .seen()
            .contains(&"EVENT#evt_2#EVENT".to_owned())
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        recorder.seen(),
        ["EVENT#evt_1#EVENT", "EVENT#evt_2#EVENT"],
        "nothing of the cancelled transaction"
    );
    running.abort();
    fx.drop_tables().await;
}

/// Counts the messages handed to it by body; fails every message whose body says `fail`, and
/// a body listed in `fail_once` the first time.
#[derive(Default)]
struct Jobs {
    seen: Mutex<Vec<String>>,
    fail_once: Mutex<Vec<String>>,
}

#[async_trait]
impl JobSink for Jobs {
    async fn handle(&self, batch: &[Message]) -> Vec<usize> {
        let mut failed = Vec::new();
        for (index, message) in batch.iter().enumerate() {
            let body = message.body().unwrap_or_default().to_owned();
            self.seen.lock().unwrap().push(body.clone());
            let mut fail_once = self.fail_once.lock().unwrap();
            if body == "fail" {
                failed.push(index);
            } else if let Some(at) = fail_once.iter().position(|b| *b == body) {
                fail_once.remove(at);
                failed.push(index);
            }
        }
        failed
    }
}

async fn depth(client: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let answer = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes");
    let number = |name| {
        answer
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (
        number(QueueAttributeName::ApproximateNumberOfMessages),
        number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_queue_deletes_a_job_only_once_handled() {
    let config = sdk_config(&moto(), "us-east-1").await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let template = Template::bundled().expect("template");
    let sources = NotifySources::of(&template).expect("the notifier's sources");
    let name = unique("retry");
    let RetryQueues {
        url,
        arn,
        dead_letter_url,
    } = queue::create(&sqs, &name, &sources.queue)
        .await
        .expect("the queues");
    assert!(arn.ends_with(&name), "{arn}");
    let dead_letter_url = dead_letter_url.expect("the template's redrive");
    // Created again at the next start: the same queues.
    let again = queue::create(&sqs, &name, &sources.queue)
        .await
        .expect("again");
    assert_eq!(again.url, url);

    let jobs = Arc::new(Jobs::default());
    jobs.fail_once.lock().unwrap().push("flaky".into());
    let consumer = tokio::spawn(queue::consume(
        sqs.clone(),
        url.clone(),
        (10, Duration::from_secs(1)),
        jobs.clone(),
    ));
    for body in ["ok", "flaky", "fail"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .expect("SendMessage");
    }
    // `fail` is received as often as the redrive allows (5), then sits in the dead-letter
    // queue; `flaky` twice; `ok` once.
    let count = |body: &str| {
        jobs.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|b| *b == body)
            .count()
    };
    for _ in 0..300 {
        if depth(&sqs, &dead_letter_url).await.0 == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(depth(&sqs, &dead_letter_url).await, (1, 0));
    assert_eq!(depth(&sqs, &url).await, (0, 0), "ok and flaky deleted");
    assert_eq!((count("ok"), count("flaky"), count("fail")), (1, 2, 5));
    consumer.abort();
    for queue in [&url, &dead_letter_url] {
        let _ = sqs.delete_queue().queue_url(queue).send().await;
    }
}
