//! Cursor binding and the reference semantics of a page.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use time::{Duration, macros::datetime};

use super::*;
use crate::{
    EntryCursor, EntryId, InvalidCursor, Money, NewPayment, ReleaseReason, money::Currency,
};

const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

fn client(name: &str) -> ClientId {
    name.parse().unwrap()
}

fn query(role: Party) -> PaymentQuery {
    PaymentQuery {
        statuses: vec![PaymentStatus::Pending, PaymentStatus::Succeeded],
        account: Some(AccountId::generate(T0)),
        from: Some(T0),
        to: Some(T0 + Duration::hours(1)),
        ..PaymentQuery::first(client("alice"), role)
    }
}

#[test]
fn payment_cursors_round_trip_whatever_the_limit_or_status_order() {
    let q = query(Party::Payer);
    let cursor = PaymentCursor::at(
        &q,
        PaymentPosition::new(T0 + Duration::milliseconds(1_234), PaymentId::generate(T0)),
    );
    let text = cursor.encode();
    assert_eq!(PaymentCursor::decode(&text, &q), Ok(cursor));
    let same = PaymentQuery {
        limit: 7,
        after: Some(cursor),
        statuses: vec![
            PaymentStatus::Succeeded,
            PaymentStatus::Pending,
            PaymentStatus::Succeeded,
        ],
        // Sub-millisecond digits are not part of the listing: times compare as stored.
        from: q.from.map(|t| t + Duration::nanoseconds(300)),
        ..q.clone()
    };
    assert_eq!(PaymentCursor::decode(&text, &same), Ok(cursor));
}

#[test]
fn payment_cursors_are_bound_to_client_role_and_every_filter() {
    let q = query(Party::Payer);
    let text = PaymentCursor::at(&q, PaymentPosition::new(T0, PaymentId::generate(T0))).encode();
    let others = [
        PaymentQuery {
            client: client("bob"),
            ..q.clone()
        },
        PaymentQuery {
            role: Party::Payee,
            ..q.clone()
        },
        PaymentQuery {
            statuses: vec![PaymentStatus::Pending],
            ..q.clone()
        },
        PaymentQuery {
            statuses: Vec::new(),
            ..q.clone()
        },
        PaymentQuery {
            statuses: vec![
                PaymentStatus::Pending,
                PaymentStatus::Succeeded,
                PaymentStatus::Canceled,
            ],
            ..q.clone()
        },
        PaymentQuery {
            account: None,
            ..q.clone()
        },
        PaymentQuery {
            account: Some(AccountId::generate(T0)),
            ..q.clone()
        },
        PaymentQuery {
            from: None,
            ..q.clone()
        },
        PaymentQuery {
            from: Some(T0 + Duration::milliseconds(1)),
            ..q.clone()
        },
        PaymentQuery {
            to: None,
            ..q.clone()
        },
        PaymentQuery {
            to: Some(T0),
            ..q.clone()
        },
    ];
    for other in &others {
        assert_eq!(
            PaymentCursor::decode(&text, other),
            Err(InvalidCursor),
            "{other:?}"
        );
    }
}

#[test]
fn malformed_or_foreign_cursors_are_refused() {
    let q = query(Party::Payee);
    let text = PaymentCursor::at(&q, PaymentPosition::new(T0, PaymentId::generate(T0))).encode();
    // Another binding of the right shape.
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(&text).unwrap()).unwrap();
    let mut parts: Vec<String> = raw.split(':').map(str::to_owned).collect();
    let first = if parts[1].starts_with('0') { "1" } else { "0" };
    parts[1].replace_range(..1, first);
    assert_eq!(
        PaymentCursor::decode(&URL_SAFE_NO_PAD.encode(parts.join(":")), &q),
        Err(InvalidCursor)
    );
    let entry = EntryCursor {
        account: AccountId::generate(T0),
        after: EntryId::generate(T0),
    }
    .encode();
    let account = AccountCursor {
        owner: client("alice"),
        after: AccountId::generate(T0),
    }
    .encode();
    let truncated = &text[..text.len() - 4];
    for bad in [
        "",
        "!!!",
        entry.as_str(),
        account.as_str(),
        truncated,
        &URL_SAFE_NO_PAD.encode("pay1:00:1:pay_x"),
        &URL_SAFE_NO_PAD.encode(format!("{raw}:extra")),
    ] {
        assert_eq!(PaymentCursor::decode(bad, &q), Err(InvalidCursor), "{bad}");
    }
}

#[test]
fn account_cursors_are_bound_to_their_owner() {
    let cursor = AccountCursor {
        owner: client("alice"),
        after: AccountId::generate(T0),
    };
    let text = cursor.encode();
    assert_eq!(
        AccountCursor::decode(&text, &client("alice")),
        Ok(cursor.clone())
    );
    assert_eq!(
        AccountCursor::decode(&text, &client("bob")),
        Err(InvalidCursor)
    );
    let payment = PaymentCursor::at(
        &query(Party::Payer),
        PaymentPosition::new(T0, PaymentId::generate(T0)),
    )
    .encode();
    for bad in ["", "%%", payment.as_str()] {
        assert_eq!(
            AccountCursor::decode(bad, &client("alice")),
            Err(InvalidCursor),
            "{bad}"
        );
    }
}

#[test]
fn limits_are_clamped_and_filters_widen_what_a_page_examines() {
    let mut q = PaymentQuery::first(client("alice"), Party::Payer);
    for (limit, size) in [
        (0, 1),
        (1, 1),
        (20, 20),
        (100, 100),
        (101, 100),
        (u16::MAX, 100),
    ] {
        q.limit = limit;
        assert_eq!(q.page_size(), size, "limit {limit}");
        assert_eq!(q.examine_limit(), size + 1, "unfiltered, limit {limit}");
        assert_eq!(AccountQuery::first(limit).page_size(), size);
    }
    q.limit = 2;
    q.statuses = vec![PaymentStatus::Expired];
    assert_eq!(q.examine_limit(), 30);
    q.limit = 100;
    assert_eq!(q.examine_limit(), PaymentQuery::MAX_EXAMINED);
}

/// Payments of alice (payer) from `source`, one a minute from T0, every fifth one canceled.
fn payments(n: i64) -> (AccountId, Vec<Payment>) {
    let source = AccountId::generate(T0);
    let list = (0..n)
        .map(|i| {
            let at = T0 + Duration::minutes(i);
            let new = NewPayment {
                client_id: client("alice"),
                payee: client("bob"),
                source,
                destination: AccountId::generate(T0),
                amount: Money::new(100 + i, Currency::CNY),
                description: None,
            };
            let p = Payment::pending(new, at, Duration::minutes(15)).unwrap();
            if i % 5 == 0 {
                p.release(ReleaseReason::Canceled, at).unwrap()
            } else {
                p
            }
        })
        .collect();
    (source, list)
}

fn amounts(page: &PaymentPage) -> Vec<i64> {
    page.payments.iter().map(|p| p.amount.amount).collect()
}

#[test]
fn pages_walk_newest_first_within_the_time_range() {
    let (_, all) = payments(10);
    let mut q = PaymentQuery {
        from: Some(T0 + Duration::minutes(2)),
        to: Some(T0 + Duration::minutes(8)),
        limit: 4,
        ..PaymentQuery::first(client("alice"), Party::Payer)
    };
    let first = select_payments(&q, &all);
    assert_eq!(amounts(&first), [107, 106, 105, 104]);
    let cursor = first.next_cursor.expect("a second page");
    assert_eq!(cursor.position, PaymentPosition::of(&all[4]));
    q.after = Some(cursor);
    let second = select_payments(&q, &all);
    assert_eq!(amounts(&second), [103, 102]);
    assert_eq!(second.next_cursor, None);
    // The other side of the same payments: bob's, not alice's.
    let payee = PaymentQuery::first(client("alice"), Party::Payee);
    assert_eq!(select_payments(&payee, &all), PaymentPage::empty());
    let bob = PaymentQuery {
        limit: 100,
        ..PaymentQuery::first(client("bob"), Party::Payee)
    };
    assert_eq!(select_payments(&bob, &all).payments.len(), 10);
}

#[test]
fn filtered_pages_examine_a_bounded_run_and_resume_after_it() {
    let (source, all) = payments(40);
    // Canceled: minutes 35, 30, ..., 0. One per page, 30 examined at most per page.
    let mut q = PaymentQuery {
        statuses: vec![PaymentStatus::Canceled],
        account: Some(source),
        limit: 2,
        ..PaymentQuery::first(client("alice"), Party::Payer)
    };
    let first = select_payments(&q, &all);
    assert_eq!(amounts(&first), [135, 130]);
    assert_eq!(
        first.next_cursor.map(|c| c.position),
        Some(PaymentPosition::of(&all[30]))
    );
    q.limit = 1;
    q.after = first.next_cursor;
    // Examines minutes 29..=10 (20 payments): 25, 20, 15, 10 match; one fits.
    let second = select_payments(&q, &all);
    assert_eq!(amounts(&second), [125]);
    assert_eq!(q.check_cursor(), Ok(()));
    q.after = second.next_cursor;
    q.account = None;
    assert_eq!(
        q.check_cursor(),
        Err(InvalidCursor),
        "a cursor of another query"
    );
    q.account = Some(AccountId::generate(T0));
    q.after = None;
    // No payment matches: pages may come back empty but still lead on, then end.
    let mut pages = 0;
    loop {
        let page = select_payments(&q, &all);
        assert!(page.payments.is_empty());
        pages += 1;
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 2, "40 payments, 20 examined a page");
}
