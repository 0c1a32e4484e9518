//! paygate's metric records, by name: what each counts, its dimensions and its units. A
//! dashboard and the alarms reference these names and dimensions exactly; `docs/deploy.md`
//! ("Business metrics") lists them.

use super::emf::{MetricRecord, Unit};
use crate::{Decision, Money, spelling::spelled};

/// Payments created, captured, canceled, expired or refunded (count, value 1 per record).
pub const PAYMENT_EVENTS: &str = "PaymentEvents";
/// The amount of each payment event, in minor units of its currency.
pub const PAYMENT_AMOUNT: &str = "PaymentAmount";
/// DynamoDB HTTP calls made while handling one request or invocation.
pub const DYNAMODB_ROUND_TRIPS: &str = "DynamoDbRoundTrips";
/// Webhook delivery attempts, by outcome (count, value 1 per record).
pub const WEBHOOK_DELIVERIES: &str = "WebhookDeliveries";
/// Risk control's decisions on created payments (count, value 1 per record).
pub const RISK_DECISIONS: &str = "RiskDecisions";
/// The risk score of each decision.
pub const RISK_SCORE: &str = "RiskScore";

spelled! {
    /// What happened to a payment: the `Event` dimension of [`PAYMENT_EVENTS`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PaymentEvent {
        /// Created with its funds held (`pending` or `requires_review`), or captured at once
        /// (a one-step payment, which is also `captured`).
        Created => "created",
        /// Captured, whole or in part (the amount captured).
        Captured => "captured",
        /// Canceled by its payer, its hold released.
        Canceled => "canceled",
        /// Its window closed before a capture, its hold released.
        Expired => "expired",
        /// Refunded, whole or in part (the amount of the refund).
        Refunded => "refunded",
    }
}

spelled! {
    /// How one webhook delivery attempt ended: the `Outcome` dimension of
    /// [`WEBHOOK_DELIVERIES`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DeliveryOutcome {
        /// The receiver answered 2xx.
        Delivered => "delivered",
        /// The attempt failed and the delivery goes on: its next attempt is queued, or it was
        /// a manual resend, which leaves the delivery as it stood.
        Failed => "failed",
        /// The schedule's last attempt failed: the delivery ended `failed`.
        Exhausted => "exhausted",
        /// The endpoint is disabled: it answered 410 Gone now, or a queued retry found it
        /// disabled or deleted (no request made). The delivery ended `failed`.
        Disabled => "disabled",
    }
}

impl MetricRecord {
    /// `PaymentEvents` (1) and `PaymentAmount` (`amount` in minor units) of one payment event,
    /// by `Event` and `Currency`, and by `Event` alone.
    pub fn payment_event(event: PaymentEvent, amount: Money) -> Self {
        Self::new(&[&["Event", "Currency"], &["Event"]])
            .dimension("Event", event.as_str())
            .dimension("Currency", amount.currency.code())
            .metric(PAYMENT_EVENTS, Unit::Count, 1)
            .metric(PAYMENT_AMOUNT, Unit::None, amount.amount)
    }

    /// `DynamoDbRoundTrips` of one request or invocation of `function` (its binary name).
    pub fn round_trips(function: &str, count: u64) -> Self {
        Self::new(&[&["Function"]])
            .dimension("Function", function)
            .metric(DYNAMODB_ROUND_TRIPS, Unit::Count, count)
    }

    /// `WebhookDeliveries` (1) of one attempt, by `Outcome`.
    pub fn webhook_delivery(outcome: DeliveryOutcome) -> Self {
        Self::new(&[&["Outcome"]])
            .dimension("Outcome", outcome.as_str())
            .metric(WEBHOOK_DELIVERIES, Unit::Count, 1)
    }

    /// `RiskDecisions` (1) and `RiskScore` of one decision, by `Decision`.
    pub fn risk_decision(decision: Decision, score: u8) -> Self {
        Self::new(&[&["Decision"]])
            .dimension("Decision", decision.as_str())
            .metric(RISK_DECISIONS, Unit::Count, 1)
            .metric(RISK_SCORE, Unit::None, score)
    }
}
