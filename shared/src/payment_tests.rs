//! Unit tests of the payment state machine: captures (whole and partial), releases, refunds.

use super::*;
use crate::money::Currency;
use time::macros::datetime;

fn pending(now: OffsetDateTime) -> Payment {
    let new = NewPayment {
        client_id: "alice".parse().unwrap(),
        payee: "bob".parse().unwrap(),
        source: AccountId::generate(now),
        destination: AccountId::generate(now),
        amount: Money::new(100, Currency::CNY),
        description: None,
    };
    Payment::pending(new, now, Duration::minutes(15)).unwrap()
}

#[test]
fn pending_payments_capture_or_release_exactly_once() {
    let now = datetime!(2026-11-22 10:00 UTC);
    let p = pending(now);
    let captured = p.capture(p.amount, now + Duration::minutes(1)).unwrap();
    assert_eq!(captured.status(), PaymentStatus::Succeeded);
    assert!(matches!(
        captured.capture(captured.amount, now),
        Err(PaymentError::NotPending(_))
    ));
    assert!(matches!(
        captured.release(ReleaseReason::Canceled, now),
        Err(PaymentError::NotPending(_))
    ));
    let canceled = p.release(ReleaseReason::Canceled, now).unwrap();
    assert_eq!(canceled.status(), PaymentStatus::Canceled);
    assert!(matches!(
        canceled.capture(canceled.amount, now),
        Err(PaymentError::NotPending(_))
    ));
}

#[test]
fn expiry_closes_the_capture_window() {
    let now = datetime!(2026-11-22 10:00 UTC);
    let p = pending(now);
    let late = now + Duration::minutes(15);
    assert!(matches!(
        p.capture(p.amount, late),
        Err(PaymentError::Expired(_))
    ));
    assert!(
        p.release(ReleaseReason::Expired, now + Duration::minutes(14))
            .is_err()
    );
    assert_eq!(
        p.release(ReleaseReason::Expired, late).unwrap().status(),
        PaymentStatus::Expired
    );
}

#[test]
fn a_payment_cannot_pay_its_own_source() {
    let now = datetime!(2026-11-22 10:00 UTC);
    let account = AccountId::generate(now);
    let new = NewPayment {
        client_id: "alice".parse().unwrap(),
        payee: "bob".parse().unwrap(),
        source: account,
        destination: account,
        amount: Money::new(1, Currency::CNY),
        description: None,
    };
    assert!(matches!(
        Payment::pending(new, now, Duration::minutes(15)),
        Err(PaymentError::SameAccount(_))
    ));
}

#[test]
fn partial_captures_take_one_to_the_held_amount() {
    let now = datetime!(2026-11-22 10:00 UTC);
    let p = pending(now);
    let cny = |n| Money::new(n, Currency::CNY);
    let captured = p.capture(cny(40), now).unwrap();
    assert_eq!(
        (
            captured.amount,
            captured.amount_captured,
            captured.amount_refunded
        ),
        (cny(100), 40, 0)
    );
    assert_eq!(captured.refundable(), 40);
    assert_eq!(p.capture(cny(100), now).unwrap().amount_captured, 100);
    assert_eq!(
        p.capture(cny(101), now),
        Err(PaymentError::CaptureExceedsHold {
            id: p.id,
            held: cny(100)
        })
    );
    for bad in [cny(0), cny(-1), Money::new(50, Currency::USD)] {
        assert!(matches!(
            p.capture(bad, now),
            Err(PaymentError::InvalidAmount(_))
        ));
    }
    assert_eq!(p.refundable(), 0, "nothing to refund before the capture");
}

#[test]
fn refunds_add_up_to_what_was_captured() {
    let now = datetime!(2026-11-22 10:00 UTC);
    let p = pending(now);
    let cny = |n| Money::new(n, Currency::CNY);
    assert_eq!(p.refund(cny(1), now), Err(PaymentError::NotCaptured(p.id)));
    let canceled = p.release(ReleaseReason::Canceled, now).unwrap();
    assert_eq!(
        canceled.refund(cny(1), now),
        Err(PaymentError::NotCaptured(p.id))
    );
    let captured = p.capture(cny(70), now).unwrap();
    let later = now + Duration::minutes(3);
    let once = captured.refund(cny(30), later).unwrap();
    assert_eq!((once.amount_refunded, once.refundable()), (30, 40));
    assert_eq!(once.updated_at, later);
    assert_eq!(
        once.refund(cny(41), later),
        Err(PaymentError::RefundExceedsPayment {
            id: p.id,
            left: cny(40)
        })
    );
    let all = once.refund(cny(40), later).unwrap();
    assert_eq!((all.amount_refunded, all.refundable()), (70, 0));
    assert_eq!(
        all.refund(cny(1), later),
        Err(PaymentError::RefundExceedsPayment {
            id: p.id,
            left: cny(0)
        })
    );
    assert!(matches!(
        captured.refund(cny(0), later),
        Err(PaymentError::InvalidAmount(_))
    ));
    assert_eq!(all.status(), PaymentStatus::Succeeded);
}

#[test]
fn parties_are_the_payer_and_the_payee() {
    let p = pending(datetime!(2026-11-22 10:00 UTC));
    let (alice, bob, carol): (ClientId, ClientId, ClientId) = (
        "alice".parse().unwrap(),
        "bob".parse().unwrap(),
        "carol".parse().unwrap(),
    );
    assert_eq!(p.party(&alice), Some(Party::Payer));
    assert_eq!(p.party(&bob), Some(Party::Payee));
    assert_eq!(p.party(&carol), None);
    assert!(p.is_payer(&alice) && !p.is_payee(&alice) && p.is_party(&alice));
    assert!(p.is_payee(&bob) && !p.is_payer(&bob) && p.is_party(&bob));
    assert!(!p.is_party(&carol));
    assert_eq!(Party::parse("payee"), Some(Party::Payee));
}
