//! The `conserve` operations of issue 13: partial captures, and refunds by the payee (partial,
//! full, two at once on one payment with distinct keys, and resent after a lost answer), each
//! answer checked on the wire and remembered, so the audit can hold the store to it.

use std::{collections::HashMap, sync::Mutex};

use hyper::{Method, body::Bytes};
use rand::Rng;
use serde_json::json;

use tokio::task::JoinSet;

use super::{Observed, Worker};
use crate::{
    audit::Snapshot,
    client::{Answer, TransportError},
};

/// A captured payment offered for refunds: `(epoch, payment id, amount captured)`.
type Offer = (u64, String, i64);

/// Captured payments by payee (client index). Workers of the payee refund them; a payment
/// leaves once refunded in full.
#[derive(Debug, Default)]
pub struct Refundable(Mutex<HashMap<usize, Vec<Offer>>>);

impl Refundable {
    fn add(&self, payee: usize, epoch: u64, id: &str, captured: i64) {
        let mut pool = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let payments = pool.entry(payee).or_default();
        if !payments.iter().any(|(_, p, _)| p == id) {
            payments.push((epoch, id.to_owned(), captured));
        }
    }

    fn pick(&self, payee: usize, epoch: u64, rng: &mut impl Rng) -> Option<(String, i64)> {
        let mut pool = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let payments = pool.get_mut(&payee)?;
        payments.retain(|(e, _, _)| *e == epoch);
        if payments.is_empty() {
            return None;
        }
        let (_, id, captured) = &payments[rng.random_range(0..payments.len())];
        Some((id.clone(), *captured))
    }

    fn remove(&self, payee: usize, id: &str) {
        let mut pool = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(payments) = pool.get_mut(&payee) {
            payments.retain(|(_, p, _)| p != id);
        }
    }
}

/// How many refunds a storm sends at once.
const STORM_WIDTH: usize = 4;

/// A refund body: everything left (`None`) or `amount`.
fn refund_body(amount: Option<i64>) -> Bytes {
    Bytes::from(amount.map_or_else(|| "{}".to_owned(), |a| json!({ "amount": a }).to_string()))
}

impl Worker {
    /// A payment this worker's client was paid, captured: offered to its payee's workers.
    pub(super) fn note_captured(&mut self, id: &str, answer: Option<&Answer>) {
        let Some(captured) = answer.and_then(|a| a.json()["amount_captured"].as_i64()) else {
            return;
        };
        let Some(&(_, payee)) = self.created.get(id) else {
            return;
        };
        if captured > 0 {
            self.refundable.add(payee, self.epoch, id, captured);
        }
        if let Some((epoch, earlier)) = self.observed.captures.get(id)
            && *epoch == self.epoch
            && *earlier != captured
        {
            self.observed.violations.push(format!(
                "{id}: answered captured {earlier} and then {captured}"
            ));
        }
        self.observed
            .captures
            .insert(id.to_owned(), (self.epoch, captured));
    }

    /// Captures part of a pending payment's hold (1 ≤ n < held), releasing the rest.
    pub(super) async fn partial_confirm(&mut self) {
        let Some(id) = self.take_pending() else {
            return;
        };
        let held = self.created.get(&id).map_or(1, |(held, _)| *held);
        let amount = (held > 1).then(|| self.rng.random_range(1..held));
        self.settle(&id, "confirm", amount).await;
    }

    /// Something a payee might refund: all that is left (a quarter of the time) or part.
    fn refund_amount(&mut self, captured: i64) -> Option<i64> {
        (self.rng.random_range(0..4) != 0).then(|| self.rng.random_range(1..=(captured / 3).max(1)))
    }

    fn refund_key(&mut self) -> String {
        self.sequence += 1;
        format!("refund-{}-{}-{}", self.run, self.index, self.sequence)
    }

    /// One refund of a payment paid to this worker's client, retried on "not now".
    pub(super) async fn refund(&mut self) {
        let Some((id, captured)) = self.refundable.pick(self.owner, self.epoch, &mut self.rng)
        else {
            return;
        };
        let amount = self.refund_amount(captured);
        let key = self.refund_key();
        self.send_refund(&id, amount, &key).await;
    }

    /// [`STORM_WIDTH`] refunds of one payment at once, each on its own connection with its own
    /// key: half the storms all ask for everything left (at most one may get it), the others
    /// for parts.
    pub(super) async fn refund_storm(&mut self) {
        let Some((id, captured)) = self.refundable.pick(self.owner, self.epoch, &mut self.rng)
        else {
            return;
        };
        let all_left = self.rng.random_bool(0.5);
        let asks: Vec<(String, Option<i64>)> = (0..STORM_WIDTH)
            .map(|_| {
                let amount = if all_left {
                    None
                } else {
                    self.refund_amount(captured)
                };
                (self.refund_key(), amount)
            })
            .collect();
        let path = format!("/v1/payments/{id}/refunds");
        let mut set = JoinSet::new();
        for (i, (key, amount)) in asks.iter().cloned().enumerate() {
            let mut conn = self.conn.fresh();
            let (path, api_key, bearer) = (
                path.clone(),
                self.creds.api_key.clone(),
                self.creds.bearer.clone(),
            );
            set.spawn(async move {
                let headers = [
                    ("x-api-key", api_key.as_str()),
                    ("authorization", bearer.as_str()),
                    ("idempotency-key", key.as_str()),
                    ("content-type", "application/json"),
                ];
                (
                    i,
                    conn.send(Method::POST, &path, &headers, refund_body(amount))
                        .await,
                )
            });
        }
        let answers = set.join_all().await;
        self.stats.refund_storms += 1;
        let mut everything = 0;
        for (i, result) in answers {
            self.stats.note(&result);
            let (key, amount) = &asks[i];
            if matches!(&result, Ok(a) if a.status == 201) {
                everything += 1;
            }
            self.record_refund(&id, *amount, key, result.ok().as_ref());
        }
        if all_left && everything > 1 {
            self.observed.violations.push(format!(
                "{id}: {everything} concurrent refunds of everything left all succeeded"
            ));
        }
    }

    /// A refund whose first answer is lost: resent with the same key, it must name the same
    /// refund, marked replayed.
    pub(super) async fn lost_refund(&mut self) {
        let Some((id, captured)) = self.refundable.pick(self.owner, self.epoch, &mut self.rng)
        else {
            return;
        };
        let amount = self.refund_amount(captured);
        let key = self.refund_key();
        let path = format!("/v1/payments/{id}/refunds");
        let first = self
            .send_on(false, Method::POST, &path, Some(&key), refund_body(amount))
            .await;
        self.stats.lost_refunds += 1;
        self.stats.retries += 1;
        let first = first.ok().filter(|a| a.status == 201);
        if let Some(answer) = &first {
            self.record_refund(&id, amount, &key, Some(answer));
        }
        let second = self.send_refund(&id, amount, &key).await;
        if let (Some(_), Some(second)) = (&first, &second)
            && second.status == 201
            && !second.replayed
        {
            self.observed.violations.push(format!(
                "refund key {key}: resent and answered 201 without Idempotent-Replayed"
            ));
        }
    }

    /// Sends a refund until it has a final answer (at most 5 times, the same key each time).
    async fn send_refund(&mut self, id: &str, amount: Option<i64>, key: &str) -> Option<Answer> {
        let path = format!("/v1/payments/{id}/refunds");
        let mut attempt = 0;
        loop {
            let result: Result<Answer, TransportError> = self
                .send_on(false, Method::POST, &path, Some(key), refund_body(amount))
                .await;
            if Self::retryable(&result) && attempt < 4 {
                attempt += 1;
                self.stats.retries += 1;
                self.backoff(attempt).await;
                continue;
            }
            let answer = result.ok();
            self.record_refund(id, amount, key, answer.as_ref());
            return answer;
        }
    }

    /// Checks a refund's answer and remembers what a 201 said.
    fn record_refund(&mut self, id: &str, amount: Option<i64>, key: &str, answer: Option<&Answer>) {
        let Some(answer) = answer else {
            return;
        };
        let code = answer.field("code");
        match (answer.status, code.as_deref()) {
            (201, _) => {
                let body = answer.json();
                let refund = body["id"].as_str().unwrap_or_default().to_owned();
                let refunded = body["amount"].as_i64().unwrap_or(0);
                let shape = body["object"] == "refund"
                    && body["payment_id"] == id
                    && body["status"] == "succeeded"
                    && refund.starts_with("re_")
                    && amount.is_none_or(|a| a == refunded);
                if !shape {
                    self.observed
                        .violations
                        .push(format!("refund of {id} ({amount:?}) answered {body}"));
                }
                match self.observed.refund_keys.get(key) {
                    Some((epoch, first)) if *epoch == self.epoch && *first != refund => {
                        self.observed.violations.push(format!(
                            "refund key {key}: answered {first} and then {refund}"
                        ));
                    }
                    _ => {
                        self.observed
                            .refund_keys
                            .insert(key.to_owned(), (self.epoch, refund.clone()));
                    }
                }
                self.observed
                    .refunds
                    .insert(refund, (self.epoch, id.to_owned(), refunded));
                if amount.is_none() {
                    self.refundable.remove(self.owner, id);
                }
            }
            // Nothing left to refund: no use offering it again.
            (422, Some("refund_exceeds_payment")) if amount.is_none() => {
                self.refundable.remove(self.owner, id);
            }
            (409, Some("payment_not_captured")) | (403 | 404, _) => {
                self.observed.violations.push(format!(
                    "refund of {id}, captured and paid to this client, answered {} {:?}",
                    answer.status, code
                ))
            }
            _ => {}
        }
    }
}

/// What the workers were told against what the store holds (observations of `epoch` only).
pub(super) fn compare(snapshot: &Snapshot, observed: &Observed, epoch: u64) -> Vec<String> {
    let mut violations = Vec::new();
    let refunds: HashMap<&str, (&str, i64)> = snapshot
        .refunds
        .iter()
        .map(|r| (r.id.as_str(), (r.payment.as_str(), r.amount)))
        .collect();
    for (id, (e, payment, amount)) in &observed.refunds {
        if *e != epoch {
            continue;
        }
        match refunds.get(id.as_str()) {
            Some(stored) if *stored == (payment.as_str(), *amount) => {}
            Some((p, a)) => violations.push(format!(
                "refund {id}: answered {amount} of {payment}, stored {a} of {p}"
            )),
            None => violations.push(format!(
                "refund {id}: answered {amount} of {payment}, not stored"
            )),
        }
    }
    let captured: HashMap<&str, i64> = snapshot
        .payments
        .iter()
        .map(|p| (p.id.as_str(), p.captured))
        .collect();
    for (id, (e, amount)) in &observed.captures {
        if *e == epoch && captured.get(id.as_str()) != Some(amount) {
            violations.push(format!(
                "{id}: answered captured {amount}, stored {:?}",
                captured.get(id.as_str())
            ));
        }
    }
    violations
}
