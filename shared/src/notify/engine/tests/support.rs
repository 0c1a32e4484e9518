//! What the engine's tests run on: a small in-test store of events, deliveries and endpoints
//! (keeping `record_delivery`'s "never fewer attempts" rule), a transparent sealer, a queue
//! that records what it is given, and a scripted HTTP receiver on 127.0.0.1.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::Notify,
};

use crate::{
    ClientId, Event, EventId, IdempotencyRecord, StoreError, WebhookEndpointId,
    event::{Delivery, EventPage, EventQuery},
    notify::{DeliveryJob, NotifyError, RetryQueue},
    store::{EndpointOutcome, EventStore, WebhookStore},
    webhook::{EndpointStatus, SecretSealer, WebhookEndpoint, WebhookError, WebhookSecret},
};

/// Events, deliveries and endpoints in maps; counts `disable_endpoint` calls.
#[derive(Default)]
pub struct FakeStore {
    pub events: Mutex<HashMap<EventId, Event>>,
    pub deliveries: Mutex<HashMap<(EventId, WebhookEndpointId), Delivery>>,
    pub endpoints: Mutex<Vec<WebhookEndpoint>>,
    pub disabled: Mutex<Vec<WebhookEndpointId>>,
}

impl FakeStore {
    pub fn delivery(&self, event: EventId, endpoint: WebhookEndpointId) -> Option<Delivery> {
        self.deliveries
            .lock()
            .unwrap()
            .get(&(event, endpoint))
            .cloned()
    }
}

#[async_trait]
impl EventStore for FakeStore {
    async fn events(&self, _: &EventQuery) -> Result<EventPage, StoreError> {
        unreachable!("the notifier never lists events")
    }

    async fn event(&self, id: EventId) -> Result<Option<(Event, Vec<Delivery>)>, StoreError> {
        let Some(event) = self.events.lock().unwrap().get(&id).cloned() else {
            return Ok(None);
        };
        let deliveries = self.deliveries.lock().unwrap();
        let of_event = deliveries.values().filter(|d| d.event_id == id);
        Ok(Some((event, of_event.cloned().collect())))
    }

    async fn record_delivery(
        &self,
        delivery: &Delivery,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut deliveries = self.deliveries.lock().unwrap();
        let key = (delivery.event_id, delivery.endpoint_id);
        if deliveries
            .get(&key)
            .is_some_and(|d| d.attempts.len() >= delivery.attempts.len())
        {
            return Ok(false);
        }
        deliveries.insert(key, delivery.clone());
        Ok(true)
    }

    async fn request_resend(
        &self,
        _: &Event,
        _: Option<WebhookEndpointId>,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        unreachable!("the notifier never requests resends")
    }
}

#[async_trait]
impl WebhookStore for FakeStore {
    async fn create_endpoint(
        &self,
        _: &WebhookEndpoint,
        _: &IdempotencyRecord,
        _: OffsetDateTime,
    ) -> Result<EndpointOutcome, StoreError> {
        unreachable!("the notifier never creates endpoints")
    }

    async fn endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let endpoints = self.endpoints.lock().unwrap();
        Ok(endpoints
            .iter()
            .find(|e| e.id == id && &e.owner == owner)
            .cloned())
    }

    async fn endpoints_of(&self, owner: &ClientId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let endpoints = self.endpoints.lock().unwrap();
        Ok(endpoints
            .iter()
            .filter(|e| &e.owner == owner)
            .cloned()
            .collect())
    }

    async fn rotate_secret(
        &self,
        _: &WebhookEndpoint,
        _: OffsetDateTime,
    ) -> Result<WebhookEndpoint, StoreError> {
        unreachable!("the notifier never rotates secrets")
    }

    async fn disable_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut endpoints = self.endpoints.lock().unwrap();
        for endpoint in endpoints
            .iter_mut()
            .filter(|e| e.id == id && &e.owner == owner)
        {
            endpoint.status = EndpointStatus::Disabled;
        }
        self.disabled.lock().unwrap().push(id);
        Ok(())
    }

    async fn delete_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut endpoints = self.endpoints.lock().unwrap();
        let before = endpoints.len();
        endpoints.retain(|e| !(e.id == id && &e.owner == owner));
        Ok(endpoints.len() < before)
    }
}

/// "Seals" by prefixing the endpoint id, so a secret opened for another endpoint fails.
pub struct PlainSealer;

impl SecretSealer for PlainSealer {
    fn seal(
        &self,
        secret: &WebhookSecret,
        endpoint: WebhookEndpointId,
    ) -> Result<String, WebhookError> {
        Ok(format!("{endpoint}:{}", secret.expose()))
    }

    fn open(
        &self,
        sealed: &str,
        endpoint: WebhookEndpointId,
    ) -> Result<WebhookSecret, WebhookError> {
        let prefix = format!("{endpoint}:");
        sealed
            .strip_prefix(&prefix)
            .map(|s| WebhookSecret::new(s.to_owned()))
            .ok_or_else(|| WebhookError::Sealing("foreign".to_owned()))
    }
}

/// Records every job; refuses them all when `failing`.
#[derive(Default)]
pub struct RecordingQueue {
    pub jobs: Mutex<Vec<DeliveryJob>>,
    pub failing: std::sync::atomic::AtomicBool,
}

impl RecordingQueue {
    pub fn take(&self) -> Vec<DeliveryJob> {
        std::mem::take(&mut *self.jobs.lock().unwrap())
    }
}

#[async_trait]
impl RetryQueue for RecordingQueue {
    async fn schedule(&self, job: &DeliveryJob, _: OffsetDateTime) -> Result<(), NotifyError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(NotifyError::Queue("refused by the test".to_owned()));
        }
        self.jobs.lock().unwrap().push(job.clone());
        Ok(())
    }
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// A receiver on 127.0.0.1: each path answers the statuses scripted for it in turn (then
/// 200); a path scripted with 0 holds its answer until `release` is notified.
pub struct Receiver {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub arrived: Arc<Notify>,
    pub release: Arc<Notify>,
}

impl Receiver {
    pub async fn start(script: &[(&str, &[&'static str])]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let scripts: HashMap<String, VecDeque<&'static str>> = script
            .iter()
            .map(|(path, answers)| ((*path).to_owned(), answers.iter().copied().collect()))
            .collect();
        let scripts = Arc::new(Mutex::new(scripts));
        let (received, arrived, release) = (
            Arc::default(),
            Arc::new(Notify::new()),
            Arc::new(Notify::new()),
        );
        let this = Self {
            port,
            received: Arc::clone(&received),
            arrived: Arc::clone(&arrived),
            release: Arc::clone(&release),
        };
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let (scripts, received, arrived, release) = (
                    scripts.clone(),
                    received.clone(),
                    arrived.clone(),
                    release.clone(),
                );
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut tcp).await else {
                        return;
                    };
                    let answer = scripts
                        .lock()
                        .unwrap()
                        .get_mut(&request.path)
                        .and_then(VecDeque::pop_front)
                        .unwrap_or("200 OK");
                    received.lock().unwrap().push(request);
                    arrived.notify_one();
                    if answer == "hold" {
                        release.notified().await;
                    }
                    let answer = if answer == "hold" { "200 OK" } else { answer };
                    let _ = tcp
                        .write_all(
                            format!("HTTP/1.1 {answer}\r\ncontent-length: 0\r\n\r\n").as_bytes(),
                        )
                        .await;
                });
            }
        });
        this
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(tcp: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut bytes = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        bytes.extend_from_slice(&chunk[..n]);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8(bytes[..end].to_vec()).ok()?;
        let mut lines = head.split("\r\n");
        let path = lines.next()?.split(' ').nth(1)?.to_owned();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        let length: usize = headers.get("content-length")?.parse().ok()?;
        if bytes.len() >= end + 4 + length {
            let body = String::from_utf8(bytes[end + 4..end + 4 + length].to_vec()).ok()?;
            return Some(Received {
                path,
                headers,
                body,
            });
        }
    }
}

/// Log lines written while a test's subscriber is the default, as text.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

pub fn capture_logs() -> Logs {
    Logs::default()
}

impl Logs {
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let logs = self.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .without_time()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || logs.clone())
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
