//! Assertions the webhook flows share: which events a client has, and that each reached an
//! endpoint once, verified, exactly as `GET /events/{id}` shows it.

use std::{collections::BTreeMap, time::Duration};

use serde_json::Value;

use super::{
    Client, eventually,
    receiver::{Received, Receiver, assert_all_verified},
    without_deliveries,
};

const WAIT: Duration = Duration::from_secs(60);

/// `(type, id of data.object)` of each event, sorted.
pub fn kinds(events: &[Value]) -> Vec<(String, String)> {
    let mut kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["data"]["object"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    kinds.sort();
    kinds
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = list
        .iter()
        .map(|(t, id)| ((*t).to_owned(), (*id).to_owned()))
        .collect();
    list.sort();
    list
}

/// Registers an endpoint of `client` at `path` of the receiver and gives it the secret.
pub async fn endpoint(
    client: &Client,
    receiver: &Receiver,
    path: &str,
    events: Option<&[&str]>,
) -> String {
    let created = client.register(&receiver.url(path), events).await;
    receiver
        .add_secret(path, "v1", created["secret"].as_str().unwrap())
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Each event `client` has, delivered once to `path`, exactly as `GET /events/{id}` shows it.
pub async fn assert_delivered_once(
    client: &Client,
    receiver: &Receiver,
    path: &str,
    events: &[Value],
) {
    let got = eventually(
        WAIT,
        &format!("{} events at {path}", events.len()),
        || async {
            let got = receiver.received_at(path).await;
            (got.len() >= events.len()).then_some(got)
        },
    )
    .await;
    assert_all_verified(&got);
    let mut by_id: BTreeMap<String, Vec<&Received>> = BTreeMap::new();
    for r in &got {
        by_id
            .entry(r.webhook_id.clone().unwrap())
            .or_default()
            .push(r);
    }
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        by_id.keys().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids
        },
        "{path}: one webhook-id per event, the event's id"
    );
    for id in ids {
        let deliveries = &by_id[id];
        assert_eq!(
            deliveries.len(),
            1,
            "{path}: {id} delivered once: {deliveries:?}"
        );
        let detail = client.event(id).await;
        assert_eq!(
            deliveries[0].json(),
            without_deliveries(&detail),
            "{path}: {id}'s body"
        );
        assert_eq!(deliveries[0].status, Some(200));
    }
}
