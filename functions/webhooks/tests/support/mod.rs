//! The webhooks function in-process over the in-memory store, with a sealer whose key lives in
//! the test, and the requests a client makes.

// Each test binary uses its own part of it.
#![allow(dead_code)]

use std::sync::Arc;

use paygate_shared::{
    WebhookEndpointId,
    notify::ssrf::UrlPolicy,
    store::{NotificationStore, Store, memory::MemoryStore},
    webhook::{AesGcmSealer, SecretSealer, WebhookEndpoint, WebhookSecret},
    wiring::WebhookDeps,
};
use paygate_testkit::{Answer, Event, TestApi, answer};
use serde_json::{Value, json};

/// Every scope but `webhooks:manage`.
pub const OTHER_SCOPES: &str = "payments:write payments:read accounts:read";
pub const MANAGE: &str = "webhooks:manage";

pub struct World {
    pub api: TestApi,
    /// The store, when it is the in-memory one (its outbox is readable).
    pub memory: Arc<MemoryStore>,
    pub notifications: Arc<dyn NotificationStore>,
    pub sealer: Arc<AesGcmSealer>,
    pub deps: WebhookDeps,
}

impl World {
    /// On a fresh in-memory store.
    pub fn new() -> Self {
        let memory = Arc::new(MemoryStore::new());
        Self::on(memory.clone(), memory)
    }

    /// On `store` (`memory` is only read by the tests that need the in-memory outbox).
    pub fn on<S: Store + NotificationStore + 'static>(
        store: Arc<S>,
        memory: Arc<MemoryStore>,
    ) -> Self {
        let api = TestApi::with_store(store.clone());
        let sealer = Arc::new(AesGcmSealer::generate());
        let deps = WebhookDeps {
            api: api.deps.clone(),
            sealer: sealer.clone(),
            policy: UrlPolicy {
                allow_loopback_http: true,
            },
            notifications: store.clone(),
        };
        Self {
            api,
            memory,
            notifications: store,
            sealer,
            deps,
        }
    }

    pub fn token(&self, client: &str) -> String {
        self.api.token(client, MANAGE)
    }

    pub async fn send(&self, event: Event) -> Answer {
        answer(paygate_webhooks::handle(&self.deps, event.request()).await)
    }

    /// `POST /webhook_endpoints` as `client` under `key`.
    pub async fn create(&self, client: &str, key: &str, body: &Value) -> Answer {
        self.send(
            Event::new("POST", "/webhook_endpoints", "/webhook_endpoints")
                .bearer(&self.token(client))
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// Creates an endpoint of `client` at `url` under a fresh key; its id and secret.
    pub async fn endpoint(&self, client: &str, url: &str) -> (String, String) {
        let key = format!("key-{}", ulid::Ulid::new());
        let created = self.create(client, &key, &json!({"url": url})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        (
            created.body["id"].as_str().unwrap().to_owned(),
            created.body["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// `method path` (under the route `resource`) as `client`.
    pub async fn call(
        &self,
        client: &str,
        method: &'static str,
        resource: &'static str,
        path: &str,
    ) -> Answer {
        self.send(Event::new(method, resource, path).bearer(&self.token(client)))
            .await
    }

    pub async fn show(&self, client: &str, id: &str) -> Answer {
        let path = format!("/webhook_endpoints/{id}");
        self.call(client, "GET", "/webhook_endpoints/{endpoint_id}", &path)
            .await
    }

    pub async fn list(&self, client: &str) -> Answer {
        self.call(client, "GET", "/webhook_endpoints", "/webhook_endpoints")
            .await
    }

    pub async fn delete(&self, client: &str, id: &str) -> Answer {
        let path = format!("/webhook_endpoints/{id}");
        self.call(client, "DELETE", "/webhook_endpoints/{endpoint_id}", &path)
            .await
    }

    pub async fn rotate(&self, client: &str, id: &str) -> Answer {
        let path = format!("/webhook_endpoints/{id}/rotate_secret");
        let resource = "/webhook_endpoints/{endpoint_id}/rotate_secret";
        self.call(client, "POST", resource, &path).await
    }

    /// The endpoint as stored.
    pub async fn stored(&self, client: &str, id: &str) -> Option<WebhookEndpoint> {
        let id: WebhookEndpointId = id.parse().unwrap();
        self.notifications
            .endpoint(&client.parse().unwrap(), id)
            .await
            .unwrap()
    }

    /// The secrets that sign for the endpoint now, opened, newest first.
    pub async fn signing(&self, client: &str, id: &str) -> Vec<String> {
        let endpoint = self.stored(client, id).await.expect("stored");
        let now = paygate_testkit::NowUtc::now_utc(self.api.clock.as_ref());
        endpoint
            .signing_secrets(now)
            .map(|s| {
                let secret: WebhookSecret = self.sealer.open(&s.sealed, endpoint.id).unwrap();
                secret.expose().to_owned()
            })
            .collect()
    }
}
