use serde_json::json;
use time::macros::datetime;
use ulid::Ulid;

use super::*;
use crate::Currency;

const NOW: OffsetDateTime = datetime!(2026-11-30 12:00 UTC);

fn old_account(n: u128) -> AccountId {
    // Opened in 2025: not new.
    AccountId::from_ulid(Ulid::from_parts(1_735_689_600_000, n))
}

fn subject(amount: i64, payee: &ClientId) -> RiskSubject<'_> {
    RiskSubject {
        source: old_account(1),
        destination: old_account(2),
        payee,
        amount: Money::new(amount, Currency::CNY),
    }
}

#[test]
fn rules_parse_and_name_the_bad_field() {
    let rules = RiskRules::from_value(&json!({
        "review_amount": 50_000,
        "max_payments_per_hour": 10,
        "blocked_clients": ["mallory"],
    }))
    .unwrap();
    assert_eq!(rules.review_amount, Some(50_000));
    assert_eq!(rules.velocity().per_hour, Some(10));
    assert_eq!(RiskRules::from_value(&rules.to_value()).unwrap(), rules);
    for (doc, field) in [
        (json!({"review_amount": 0}), "review_amount"),
        (json!({"review_amount": 1.5}), "review_amount"),
        (
            json!({"max_payments_per_day": "10"}),
            "max_payments_per_day",
        ),
        (json!({"max_amount_per_hour": -1}), "max_amount_per_hour"),
        (json!({"blocked_accounts": ["pay_01"]}), "blocked_accounts"),
        (json!({"blocked_clients": "x"}), "blocked_clients"),
        (json!({"review_amont": 5}), "review_amont"),
        (json!([]), "(rules)"),
    ] {
        let error = RiskRules::from_value(&doc).unwrap_err();
        assert_eq!(error.field, field, "{doc}: {error}");
    }
    assert_eq!(
        RiskRules::from_json("{").unwrap_err().field,
        "(rules)",
        "not JSON"
    );
}

#[test]
fn no_rules_allow_everything_with_an_explained_score() {
    let payee: ClientId = "bob".parse().unwrap();
    let a = assess(
        &RiskRules::default(),
        subject(1_000_000, &payee),
        false,
        NOW,
    );
    assert_eq!(a, RiskAssessment::allowed());
    let a = assess(&RiskRules::default(), subject(1, &payee), true, NOW);
    assert_eq!(
        (a.decision, a.score, a.reasons),
        (Decision::Allow, 30, vec![RiskReason::NewPayee])
    );
}

#[test]
fn decline_beats_review_beats_allow() {
    let payee: ClientId = "bob".parse().unwrap();
    let mut rules = RiskRules {
        review_amount: Some(10_000),
        new_payee_max_amount: Some(2_000),
        ..RiskRules::default()
    };
    let decide = |rules: &RiskRules, amount, new_payee| {
        assess(rules, subject(amount, &payee), new_payee, NOW).decision
    };
    assert_eq!(decide(&rules, 9_999, false), Decision::Allow);
    assert_eq!(decide(&rules, 10_000, false), Decision::Review);
    assert_eq!(decide(&rules, 2_000, true), Decision::Allow);
    assert_eq!(decide(&rules, 2_001, true), Decision::Review);
    rules.blocked_clients.insert(payee.clone());
    assert_eq!(decide(&rules, 1, false), Decision::Decline);
    let a = assess(&rules, subject(10_000, &payee), true, NOW);
    assert_eq!(
        a.reasons,
        [
            RiskReason::BlockedClients,
            RiskReason::ReviewAmount,
            RiskReason::NewPayeeMaxAmount,
            RiskReason::LargeAmount,
            RiskReason::NewPayee
        ]
    );
    let blocked = RiskRules {
        blocked_accounts: [old_account(2)].into(),
        ..RiskRules::default()
    };
    assert_eq!(decide(&blocked, 1, false), Decision::Decline);
}

#[test]
fn the_score_adds_amount_new_payee_and_account_age() {
    let payee: ClientId = "bob".parse().unwrap();
    let rules = RiskRules {
        review_amount: Some(10_000),
        ..RiskRules::default()
    };
    let score = |amount, new_payee| assess(&rules, subject(amount, &payee), new_payee, NOW).score;
    assert_eq!(score(0, false), 0);
    assert_eq!(score(5_000, false), 25);
    assert_eq!(score(20_000, false), 50);
    assert_eq!(score(5_000, true), 55);
    let fresh = RiskSubject {
        source: AccountId::generate(NOW - Duration::hours(2)),
        ..subject(20_000, &payee)
    };
    let a = assess(&rules, fresh, true, NOW);
    assert_eq!(a.score, 100);
    assert!(a.reasons.contains(&RiskReason::NewAccount));
    let week = RiskSubject {
        source: AccountId::generate(NOW - Duration::days(3)),
        ..subject(0, &payee)
    };
    assert_eq!(assess(&rules, week, false, NOW).score, 10);
}
