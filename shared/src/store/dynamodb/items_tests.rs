//! Items written and read back are the values they were made from; items written before
//! partial captures and refunds read as what they meant.

use super::*;
use crate::store::dynamodb::{
    attrs::attr_string,
    keys::payment_pk,
    refunds::{refund_from, refund_item},
};
use crate::{
    AccountId, ClientId, EntryId, Money, NewPayment, PaymentId, Refund, RefundReason,
    money::Currency,
};
use time::macros::{date, datetime};

#[test]
fn items_round_trip() {
    let now = datetime!(2026-11-22 10:00:00.123 UTC);
    let owner: ClientId = "alice".parse().unwrap();
    let limits = AccountLimits {
        per_payment: 500,
        daily_outflow: 900,
    };
    let mut account = Account::open(
        AccountId::generate(now),
        owner.clone(),
        Currency::CNY,
        limits,
        now,
    );
    account.outflow = Some(DailyOutflow {
        day: date!(2026 - 11 - 22),
        remaining: 400,
    });
    account.ledger_head = Some(EntryId::generate(now));
    assert_eq!(account_from(&account_item(&account)).unwrap(), account);

    let new = NewPayment {
        client_id: owner.clone(),
        payee: "bob".parse().unwrap(),
        source: account.id,
        destination: AccountId::generate(now),
        amount: Money::new(250, Currency::CNY),
        description: Some("lunch".into()),
    };
    let payment = Payment::pending(new, now, time::Duration::minutes(15)).unwrap();
    let item = payment_item(&payment);
    assert!(item.contains_key("gsi1pk"));
    assert_eq!(payment_from(&item).unwrap(), payment);
    let captured = payment
        .capture(Money::new(200, Currency::CNY), now)
        .unwrap();
    let refunded = captured.refund(Money::new(50, Currency::CNY), now).unwrap();
    assert!(!payment_item(&captured).contains_key("gsi1pk"));
    assert_eq!(payment_from(&payment_item(&refunded)).unwrap(), refunded);
    assert_eq!(
        (refunded.amount_captured, refunded.amount_refunded),
        (200, 50)
    );

    let record = IdempotencyRecord {
        key: IdempotencyKey::new(owner, "k-1").unwrap(),
        fingerprint: Fingerprint::of(&[b"body"]),
        payment_id: PaymentId::generate(now),
        response_status: 201,
        response_body: "{}".into(),
        created_at: now,
        expires_at: now + crate::idempotency::RETENTION,
    };
    assert_eq!(
        idempotency_from(&idempotency_item(&record)).unwrap(),
        record
    );
}

#[test]
fn payments_stored_before_refunds_read_as_what_they_meant() {
    let now = datetime!(2026-11-22 10:00:00.123 UTC);
    let new = NewPayment {
        client_id: "alice".parse().unwrap(),
        payee: "bob".parse().unwrap(),
        source: AccountId::generate(now),
        destination: AccountId::generate(now),
        amount: Money::new(250, Currency::CNY),
        description: None,
    };
    let pending = Payment::pending(new, now, time::Duration::minutes(15)).unwrap();
    let captured = pending.capture(pending.amount, now).unwrap();
    for (payment, captured_amount) in [(&pending, 0), (&captured, 250)] {
        let mut item = payment_item(payment);
        for name in ["payee", "amount_captured", "amount_refunded"] {
            item.remove(name);
        }
        let old = payment_from(&item).unwrap();
        assert_eq!(old.payee, ClientId::system(), "no client acts as its payee");
        assert_eq!(
            (old.amount_captured, old.amount_refunded),
            (captured_amount, 0)
        );
        assert_eq!(old.status(), payment.status());
    }
}

#[test]
fn refunds_and_their_entries_round_trip() {
    let now = datetime!(2026-11-22 10:00:00.123 UTC);
    let payment = PaymentId::generate(now);
    let with_reason = Refund::new(
        payment,
        Money::new(40, Currency::CNY),
        Some(RefundReason::RequestedByCustomer),
        now,
    );
    let without = Refund::new(payment, Money::new(1, Currency::CNY), None, now);
    for refund in [&with_reason, &without] {
        let item = refund_item(refund);
        assert_eq!(refund_from(&item).unwrap(), *refund);
        assert_eq!(item["pk"], attr_string(payment_pk(payment)));
    }
    assert_eq!(
        refund_item(&with_reason)["reason"],
        attr_string("requested_by_customer")
    );
    let entry = LedgerEntry {
        id: EntryId::generate(now),
        account_id: AccountId::generate(now),
        owner: "bob".parse().unwrap(),
        payment_id: payment,
        refund_id: Some(with_reason.id),
        direction: Direction::Debit,
        amount: with_reason.amount,
        balance_after: 60,
        counterparty: AccountId::generate(now),
        created_at: now,
    };
    assert_eq!(entry_from(&entry_item(&entry)).unwrap(), entry);
    let capture_entry = LedgerEntry {
        refund_id: None,
        ..entry
    };
    let item = entry_item(&capture_entry);
    assert!(!item.contains_key("refund_id"));
    assert_eq!(entry_from(&item).unwrap(), capture_entry);
}
