//! The real `infra/template.yaml`: it parses, it declares exactly the two tables of
//! `docs/data-model.md`, and the names the DynamoDB adapter queries by are the template's.

use paygate_shared::store::dynamodb::schema::{
    EVENTS_INDEX, OWNER_INDEX, PAYEE_INDEX, PAYER_INDEX, PENDING_INDEX, POSTING_INDEX,
    REVIEW_INDEX, TTL_ATTRIBUTE,
};
use paygate_template::{
    ACCOUNTS_TABLE, AttributeType, BillingMode, Projection, StreamViewType, TRANSACTIONS_TABLE,
    Table, Template,
};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");

fn real() -> Template {
    Template::from_path(PATH).unwrap_or_else(|e| panic!("infra/template.yaml: {e}"))
}

fn table<'a>(template: &'a Template, logical_id: &str) -> &'a Table {
    template
        .table(logical_id)
        .unwrap_or_else(|| panic!("the template declares {logical_id}"))
}

/// `(name, type)` of every attribute definition.
fn attributes(table: &Table) -> Vec<(&str, AttributeType)> {
    table
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), a.kind))
        .collect()
}

#[test]
fn the_bundled_template_is_the_file() {
    assert_eq!(
        Template::bundled().expect("the bundled template parses"),
        real()
    );
}

#[test]
fn exactly_the_two_tables_of_the_data_model() {
    let template = real();
    let ids: Vec<&str> = template
        .tables()
        .iter()
        .map(|t| t.logical_id.as_str())
        .collect();
    assert_eq!(ids, [ACCOUNTS_TABLE, TRANSACTIONS_TABLE]);

    let accounts = table(&template, ACCOUNTS_TABLE);
    assert_eq!(accounts.billing_mode, BillingMode::PayPerRequest);
    assert_eq!(accounts.key.names(), ("pk", None));
    assert_eq!(
        attributes(accounts),
        [
            ("pk", AttributeType::String),
            ("owner", AttributeType::String),
            ("posting", AttributeType::String)
        ]
    );
    assert_eq!(accounts.global_indexes.len(), 2);
    let by_owner = &accounts.global_indexes[0];
    assert_eq!(by_owner.name, "accounts-by-owner");
    assert_eq!(by_owner.key.names(), ("owner", Some("pk")));
    assert_eq!(by_owner.projection, Projection::All);
    // Sparse and keys only: a balance change writes nothing to it.
    let by_posting = &accounts.global_indexes[1];
    assert_eq!(by_posting.name, "accounts-by-posting");
    assert_eq!(by_posting.key.names(), ("posting", Some("pk")));
    assert_eq!(by_posting.projection, Projection::KeysOnly);
    assert!(accounts.local_indexes.is_empty());
    assert_eq!(accounts.ttl_attribute, None);

    let transactions = table(&template, TRANSACTIONS_TABLE);
    assert_eq!(transactions.billing_mode, BillingMode::PayPerRequest);
    assert_eq!(transactions.key.names(), ("pk", Some("sk")));
    assert_eq!(
        attributes(transactions),
        [
            ("pk", AttributeType::String),
            ("sk", AttributeType::String),
            ("gsi1pk", AttributeType::String),
            ("gsi1sk", AttributeType::String),
            ("payer", AttributeType::String),
            ("payer_sk", AttributeType::String),
            ("payee", AttributeType::String),
            ("payee_sk", AttributeType::String),
            ("recipient", AttributeType::String),
            ("recipient_sk", AttributeType::String),
            ("review_pk", AttributeType::String),
            ("review_sk", AttributeType::String),
        ]
    );
    assert_eq!(transactions.global_indexes.len(), 5);
    let pending = &transactions.global_indexes[0];
    assert_eq!(pending.name, "pending-by-expiry");
    assert_eq!(pending.key.names(), ("gsi1pk", Some("gsi1sk")));
    assert_eq!(pending.projection, Projection::All);
    for (index, (name, hash, range)) in transactions.global_indexes[1..].iter().zip([
        ("payments-by-payer", "payer", "payer_sk"),
        ("payments-by-payee", "payee", "payee_sk"),
        ("events-by-recipient", "recipient", "recipient_sk"),
        ("payments-in-review", "review_pk", "review_sk"),
    ]) {
        assert_eq!(index.name, name);
        assert_eq!(index.key.names(), (hash, Some(range)));
        // A page returns whole payments from the index alone: one round trip.
        assert_eq!(index.projection, Projection::All, "{name}");
    }
    assert!(transactions.local_indexes.is_empty());
    assert_eq!(transactions.ttl_attribute.as_deref(), Some("expire_at"));
    // The outbox: the notifier reads event items off the stream.
    assert_eq!(transactions.stream, Some(StreamViewType::NewImage));
    assert_eq!(accounts.stream, None);
}

#[test]
fn the_adapters_index_and_ttl_names_are_the_templates() {
    let template = real();
    for index in [OWNER_INDEX, POSTING_INDEX] {
        assert!(
            table(&template, ACCOUNTS_TABLE)
                .global_index(index)
                .is_some(),
            "{ACCOUNTS_TABLE} has the GSI {index}"
        );
    }
    assert!(
        table(&template, TRANSACTIONS_TABLE)
            .global_index(PENDING_INDEX)
            .is_some(),
        "{TRANSACTIONS_TABLE} has the GSI {PENDING_INDEX}"
    );
    for index in [PAYER_INDEX, PAYEE_INDEX, EVENTS_INDEX, REVIEW_INDEX] {
        assert!(
            table(&template, TRANSACTIONS_TABLE)
                .global_index(index)
                .is_some(),
            "{TRANSACTIONS_TABLE} has the GSI {index}"
        );
    }
    assert_eq!(
        table(&template, TRANSACTIONS_TABLE)
            .ttl_attribute
            .as_deref(),
        Some(TTL_ATTRIBUTE)
    );
}

#[test]
fn the_notifier_reads_the_event_items_of_the_transactions_stream_and_its_retry_queue() {
    use paygate_template::{Source, StreamViewType};
    let template = real();
    assert_eq!(
        table(&template, TRANSACTIONS_TABLE).stream,
        Some(StreamViewType::NewImage),
        "the outbox's records carry the new item"
    );
    assert_eq!(table(&template, ACCOUNTS_TABLE).stream, None);
    let notify: Vec<_> = template
        .event_sources()
        .iter()
        .filter(|s| s.binary.as_deref() == Some("notify"))
        .collect();
    let [stream, retries] = notify.as_slice() else {
        panic!("two event sources of notify: {notify:?}")
    };
    let Source::DynamoDbStream(from) = &stream.source else {
        panic!("the first is the stream: {stream:?}")
    };
    assert_eq!(from.table, TRANSACTIONS_TABLE);
    assert!(from.bisect_on_error && stream.report_batch_item_failures);
    assert!(from.maximum_retry_attempts.is_some() && from.on_failure.is_some());
    // Only INSERTs of event and resend items invoke the function.
    let [filter] = stream.filters.as_slice() else {
        panic!("one filter: {:?}", stream.filters)
    };
    let pattern: serde_json::Value = serde_json::from_str(filter).expect("a JSON pattern");
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["event", "resend"]}}}})
    );
    let Source::Sqs { queue } = &retries.source else {
        panic!("the second is the retry queue: {retries:?}")
    };
    assert!(retries.report_batch_item_failures);
    let queue = template.queue(queue).expect("the retry queue is declared");
    let dead_letter = queue.dead_letter.as_ref().expect("a dead-letter queue");
    assert!(template.queue(&dead_letter.queue).is_some());
    // A job being handled is not received again: the visibility timeout exceeds the
    // function's timeout (60 s).
    assert!(
        queue.visibility_timeout_s.is_some_and(|s| s > 60),
        "{queue:?}"
    );
    assert_eq!(
        template.parameter_default("WebhookRetrySchedule"),
        Some("5s,5m,30m,2h,5h,10h,10h")
    );
    assert!(template.other_events().is_empty());
}

#[test]
fn the_poster_reads_the_credit_items_of_the_transactions_stream_and_sweeps_every_minute() {
    use paygate_template::Source;
    let template = real();
    let post: Vec<_> = template
        .event_sources()
        .iter()
        .filter(|s| s.binary.as_deref() == Some("post"))
        .collect();
    let [stream] = post.as_slice() else {
        panic!("one stream event source of post: {post:?}")
    };
    let Source::DynamoDbStream(from) = &stream.source else {
        panic!("the transactions stream: {stream:?}")
    };
    assert_eq!(from.table, TRANSACTIONS_TABLE);
    assert!(from.bisect_on_error && stream.report_batch_item_failures);
    assert!(from.maximum_retry_attempts.is_some() && from.on_failure.is_some());
    let [filter] = stream.filters.as_slice() else {
        panic!("one filter: {:?}", stream.filters)
    };
    let pattern: serde_json::Value = serde_json::from_str(filter).expect("a JSON pattern");
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": [paygate_shared::store::dynamodb::UNPOSTED_CREDIT_TYPE]}}}})
    );
    let sweeps: Vec<_> = template
        .schedules()
        .iter()
        .filter(|s| s.binary.as_deref() == Some("post"))
        .collect();
    let [sweep] = sweeps.as_slice() else {
        panic!("one schedule of post: {sweeps:?}")
    };
    assert!(sweep.enabled);
    assert_eq!(sweep.expression, "rate(1 minute)");
}

#[test]
fn waf_guards_the_stage_with_a_rate_per_source_ip_and_the_managed_rules() {
    use paygate_template::{AggregateKey, RateRule, WafAction, WafStatement};
    let template = real();
    let acl = template
        .api_web_acl()
        .expect("a web ACL associated with the API's stage");
    assert_eq!(acl.logical_id, "ApiWebAcl");
    assert_eq!(acl.default_action, WafAction::Allow);
    // The parameters' defaults: WafRateLimit and WafRateWindowSeconds.
    assert_eq!(
        acl.rate_rules,
        [RateRule {
            name: "RatePerSourceIp".into(),
            priority: 0,
            limit: 20_000,
            window_seconds: 300,
            aggregate_key: AggregateKey::Ip,
            action: WafAction::Block,
            scoped_down: false,
        }]
    );
    let managed: Vec<(&str, u64)> = acl
        .other_rules
        .iter()
        .map(|rule| match &rule.statement {
            WafStatement::ManagedRuleGroup { vendor, name } => {
                assert_eq!((vendor.as_str(), name), ("AWS", &rule.name));
                (name.as_str(), rule.priority)
            }
            WafStatement::Other(kind) => panic!("only managed rule groups, not {kind}"),
        })
        .collect();
    assert_eq!(
        managed,
        [
            ("AWSManagedRulesAmazonIpReputationList", 1),
            ("AWSManagedRulesKnownBadInputsRuleSet", 2),
            ("AWSManagedRulesCommonRuleSet", 3),
        ]
    );
    assert_eq!(template.web_acls().len(), 1);
}
