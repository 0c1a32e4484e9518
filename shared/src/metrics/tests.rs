//! Each record's exact line, and the handle's sinks.

use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::{Decision, money::Currency};

const AT: OffsetDateTime = datetime!(2025-11-30 10:53:20 UTC);
const AT_MILLIS: i64 = 1_764_500_000_000;

fn parsed(line: &str) -> Value {
    serde_json::from_str(line).expect("one JSON object")
}

#[test]
fn a_risk_decision_is_the_line_it_always_was() {
    // The line `risk::decision_metric` wrote before the metrics module, byte for byte.
    assert_eq!(
        MetricRecord::risk_decision(Decision::Review, 42).to_line("paygate/test", AT),
        r#"{"_aws":{"Timestamp":1764500000000,"CloudWatchMetrics":[{"Namespace":"paygate/test","Dimensions":[["Decision"]],"Metrics":[{"Name":"RiskDecisions","Unit":"Count"},{"Name":"RiskScore","Unit":"None"}]}]},"Decision":"review","RiskDecisions":1,"RiskScore":42}"#
    );
}

#[test]
fn a_payment_event_counts_it_and_its_amount_by_event_and_currency() {
    let line =
        MetricRecord::payment_event(PaymentEvent::Captured, Money::new(1_250, Currency::EUR))
            .to_line("paygate/prod", AT);
    assert_eq!(
        parsed(&line),
        json!({
            "_aws": {
                "Timestamp": AT_MILLIS,
                "CloudWatchMetrics": [{
                    "Namespace": "paygate/prod",
                    "Dimensions": [["Event", "Currency"], ["Event"]],
                    "Metrics": [
                        {"Name": "PaymentEvents", "Unit": "Count"},
                        {"Name": "PaymentAmount", "Unit": "None"}
                    ]
                }]
            },
            "Event": "captured",
            "Currency": "EUR",
            "PaymentEvents": 1,
            "PaymentAmount": 1_250
        })
    );
    assert!(line.starts_with(r#"{"_aws":{"Timestamp":1764500000000,"#));
    assert!(line.ends_with(
        r#""Event":"captured","Currency":"EUR","PaymentEvents":1,"PaymentAmount":1250}"#
    ));
    assert_eq!(
        PaymentEvent::SPELLINGS,
        ["created", "captured", "canceled", "expired", "refunded"]
    );
}

#[test]
fn round_trips_are_counted_by_function() {
    let line = MetricRecord::round_trips("pay", 3).to_line("paygate", AT);
    assert_eq!(
        parsed(&line),
        json!({
            "_aws": {
                "Timestamp": AT_MILLIS,
                "CloudWatchMetrics": [{
                    "Namespace": "paygate",
                    "Dimensions": [["Function"]],
                    "Metrics": [{"Name": "DynamoDbRoundTrips", "Unit": "Count"}]
                }]
            },
            "Function": "pay",
            "DynamoDbRoundTrips": 3
        })
    );
}

#[test]
fn a_webhook_delivery_is_counted_by_outcome() {
    let line = MetricRecord::webhook_delivery(DeliveryOutcome::Exhausted).to_line("paygate", AT);
    assert_eq!(
        parsed(&line),
        json!({
            "_aws": {
                "Timestamp": AT_MILLIS,
                "CloudWatchMetrics": [{
                    "Namespace": "paygate",
                    "Dimensions": [["Outcome"]],
                    "Metrics": [{"Name": "WebhookDeliveries", "Unit": "Count"}]
                }]
            },
            "Outcome": "exhausted",
            "WebhookDeliveries": 1
        })
    );
    assert_eq!(
        DeliveryOutcome::SPELLINGS,
        ["delivered", "failed", "exhausted", "disabled"]
    );
}

#[test]
fn records_cloudwatch_would_refuse_are_told_apart() {
    assert!(
        MetricRecord::payment_event(PaymentEvent::Created, Money::new(1, Currency::USD)).is_valid()
    );
    assert!(!MetricRecord::new(&[&["Event"]]).is_valid(), "no metric");
    let unvalued = MetricRecord::new(&[&["Event"]]).metric("PaymentEvents", Unit::Count, 1);
    assert!(!unvalued.is_valid(), "a dimension without a value");
    let twice =
        MetricRecord::new(&[])
            .dimension("Event", "created")
            .metric("Event", Unit::Count, 1);
    assert!(!twice.is_valid(), "a name used twice");
    let wide: Vec<&'static str> = (0..31).map(|i| &*format!("D{i}").leak()).collect();
    let mut record = MetricRecord::new(&[&wide]);
    for name in &wide {
        record = record.dimension(name, "x");
    }
    assert!(
        !record.metric("M", Unit::Count, 1).is_valid(),
        "31 dimensions"
    );
}

#[test]
fn the_namespace_comes_from_the_environment() {
    let env = |value: Option<&str>| {
        let value = value.map(str::to_owned);
        Env(move |name: &str| {
            (name == "PAYGATE_METRICS_NAMESPACE")
                .then(|| value.clone())
                .flatten()
        })
    };
    assert_eq!(
        Metrics::from_env(&env(None)).unwrap().namespace(),
        "paygate"
    );
    assert_eq!(
        Metrics::from_env(&env(Some(" "))).unwrap().namespace(),
        "paygate"
    );
    assert_eq!(
        Metrics::from_env(&env(Some("paygate/prod-eu")))
            .unwrap()
            .namespace(),
        "paygate/prod-eu"
    );
    assert!(Metrics::from_env(&env(Some("AWS/Lambda"))).is_err());
    assert!(Metrics::from_env(&env(Some("pay{gate}"))).is_err());
}

#[test]
fn a_handle_writes_each_record_once_to_its_sink() {
    let (metrics, captured) = Metrics::capture("paygate/test");
    metrics.payment_event(PaymentEvent::Refunded, Money::new(5, Currency::JPY), AT);
    metrics.round_trips("refund", 2, AT);
    let lines = captured.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        MetricRecord::payment_event(PaymentEvent::Refunded, Money::new(5, Currency::JPY))
            .to_line("paygate/test", AT)
    );
    assert_eq!(captured.with_metric(PAYMENT_EVENTS).len(), 1);
    assert_eq!(
        captured.with_metric(DYNAMODB_ROUND_TRIPS)[0]["Function"],
        "refund"
    );
}
