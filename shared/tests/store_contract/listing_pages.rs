//! Listings, continued: what a filtered page examines, the limits' bounds, a client's accounts,
//! and the one round trip each page costs on DynamoDB.

#[allow(unused_imports)]
use super::*;

use paygate_shared::{
    AccountCursor, AccountPage, AccountQuery, PaymentQuery, listing::PaymentPosition,
    payment::Party,
};

use super::listing::{Book, pages};

/// `n` pending payments of alice from a fresh account, one a minute from T0; the oldest is
/// canceled. Returns the book and alice's account.
async fn many_payments(s: &dyn Store, n: i64) -> (Book, AccountId) {
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 1_000_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let mut book = Book::default();
    for m in 0..n {
        let p = transfer(&alice, a, b, cny(1), T0 + minutes(m));
        must_create(s, &p, p.created_at).await;
        book.record(p);
    }
    let oldest = book.expected(&PaymentQuery::first(alice, Party::Payer))[..]
        .last()
        .cloned()
        .expect("payments");
    book.record(
        s.release(&oldest, ReleaseReason::Canceled, T0 + minutes(n))
            .await
            .unwrap(),
    );
    (book, a)
}

pub(crate) async fn payment_pages_are_bounded_and_filtered_pages_resume(fx: Fixture) {
    let s = fx.store();
    let (book, a) = many_payments(s, 101).await;
    let alice = client("alice");
    let all = book.expected(&PaymentQuery::first(alice.clone(), Party::Payer));
    assert_eq!(all.len(), 101);
    let query = |limit, statuses: Vec<PaymentStatus>| PaymentQuery {
        limit,
        statuses,
        ..PaymentQuery::first(alice.clone(), Party::Payer)
    };

    // Limits outside 1..=100 are held to it.
    for (limit, size) in [(0, 1), (1, 1), (100, 100), (101, 100), (u16::MAX, 100)] {
        let page = s.payments(&query(limit, vec![])).await.unwrap();
        assert_eq!(page.payments, all[..size].to_vec(), "limit {limit}");
        let cursor = page.next_cursor.expect("more remain");
        assert_eq!(cursor.position, PaymentPosition::of(&all[size - 1]));
    }
    let sizes = |pages: Vec<Vec<Payment>>| pages.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(sizes(pages(s, &query(100, vec![])).await), [100, 1]);
    assert_eq!(pages(s, &query(100, vec![])).await.concat(), all);

    // Filtered: a page examines at most 10 payments per payment it may hold (300 at most), so
    // the one canceled payment, the oldest, comes after pages that found nothing.
    let canceled = vec![all[100].clone()];
    assert_eq!(canceled[0].status(), PaymentStatus::Canceled);
    let got = pages(s, &query(1, vec![PaymentStatus::Canceled])).await;
    assert_eq!(sizes(got.clone()), [0, 0, 0, 0, 0, 1], "20 examined a page");
    assert_eq!(got.concat(), canceled);
    let got = pages(s, &query(9, vec![PaymentStatus::Canceled])).await;
    assert_eq!(sizes(got.clone()), [0, 1], "100 examined a page");
    let got = pages(s, &query(100, vec![PaymentStatus::Canceled])).await;
    assert_eq!(got, [canceled], "one page examines them all");
    // The account filter alike; pending ones fill their pages.
    let by_account = PaymentQuery {
        account: Some(a),
        statuses: vec![PaymentStatus::Pending],
        ..query(40, vec![])
    };
    let got = pages(s, &by_account).await;
    assert_eq!(sizes(got.clone()), [40, 40, 20]);
    assert_eq!(got.concat(), all[..100].to_vec());
    assert_eq!(book.expected(&by_account), all[..100].to_vec());
}

pub(crate) async fn accounts_list_an_owners_customer_accounts_in_pages(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a1 = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let usd = open_account(
        s,
        &alice,
        Currency::USD,
        GENEROUS,
        AccountStatus::Active,
        T0,
    )
    .await;
    let frozen = open_account(
        s,
        &alice,
        Currency::CNY,
        GENEROUS,
        AccountStatus::Frozen,
        T0,
    )
    .await;
    let b1 = open_funded(s, &bob, GENEROUS, 0, T0).await;
    // A hold: the listing shows both balances as they stand.
    must_create(s, &transfer(&alice, a1, b1, cny(300), T0), T0).await;
    let mut expected = Vec::new();
    for id in [a1, usd.id, frozen.id] {
        expected.push(account(s, id).await);
    }
    expected.sort_by_key(|a| a.id);
    assert_eq!(
        expected
            .iter()
            .find(|a| a.id == a1)
            .map(|a| (a.balance, a.available)),
        Some((1_000, 700))
    );

    let first = s
        .accounts_of(&alice, &AccountQuery::first(2))
        .await
        .unwrap();
    assert_eq!(first.accounts, expected[..2].to_vec());
    let cursor = first.next_cursor.expect("a third account");
    assert_eq!(
        (cursor.owner.clone(), cursor.after),
        (alice.clone(), expected[1].id)
    );
    let text = cursor.encode();
    assert_eq!(AccountCursor::decode(&text, &bob), Err(InvalidCursor));
    let next = AccountQuery {
        limit: 2,
        after: Some(AccountCursor::decode(&text, &alice).unwrap()),
    };
    let rest = s.accounts_of(&alice, &next).await.unwrap();
    assert_eq!(
        (rest.accounts, rest.next_cursor),
        (expected[2..].to_vec(), None)
    );
    // Bob's listing refuses alice's cursor, and shows only his.
    assert_eq!(
        s.accounts_of(&bob, &next).await,
        Err(StoreError::InvalidCursor(InvalidCursor))
    );
    let bobs = s
        .accounts_of(&bob, &AccountQuery::first(100))
        .await
        .unwrap();
    assert_eq!(
        (bobs.accounts, bobs.next_cursor),
        (vec![account(s, b1).await], None)
    );
    // Exactly full: no cursor. Limits are held to 1..=100.
    let all = s
        .accounts_of(&alice, &AccountQuery::first(3))
        .await
        .unwrap();
    assert_eq!((all.accounts, all.next_cursor), (expected.clone(), None));
    let one = s
        .accounts_of(&alice, &AccountQuery::first(0))
        .await
        .unwrap();
    assert_eq!(one.accounts, expected[..1].to_vec());
    assert!(one.next_cursor.is_some());
    // The treasury is nobody's account to list; a client with none lists nothing.
    let system = s
        .accounts_of(&ClientId::system(), &AccountQuery::first(100))
        .await;
    assert_eq!(
        system,
        Ok(AccountPage {
            accounts: vec![],
            next_cursor: None
        })
    );
    assert!(account(s, treasury()).await.balance < 0);
    let nobody = s
        .accounts_of(&client("carol"), &AccountQuery::first(5))
        .await;
    assert_eq!(
        nobody,
        Ok(AccountPage {
            accounts: vec![],
            next_cursor: None
        })
    );
}

pub(crate) async fn listing_pages_cost_one_round_trip(fx: Fixture) {
    let s = fx.store();
    let count = || {
        fx.round_trips()
            .expect("a DynamoDB fixture counts round trips")
    };
    let (book, a) = many_payments(s, 30).await;
    let alice = client("alice");
    let mut measured = Vec::new();
    let mut query = PaymentQuery {
        limit: 10,
        ..PaymentQuery::first(alice.clone(), Party::Payer)
    };
    for name in ["first page", "second page", "last page"] {
        let before = count();
        let page = s.payments(&query).await.unwrap();
        measured.push((name, count() - before));
        query.after = page.next_cursor;
    }
    let filtered = [
        PaymentQuery {
            statuses: vec![PaymentStatus::Canceled, PaymentStatus::Pending],
            account: Some(a),
            from: Some(T0),
            to: Some(T0 + minutes(20)),
            ..PaymentQuery::first(alice.clone(), Party::Payer)
        },
        PaymentQuery::first(client("bob"), Party::Payee),
    ];
    for q in &filtered {
        let before = count();
        let page = s.payments(q).await.unwrap();
        measured.push(("filtered or payee page", count() - before));
        assert_eq!(
            page.payments,
            book.expected(q)[..page.payments.len()].to_vec()
        );
        assert!(!page.payments.is_empty());
    }
    let before = count();
    let page = s
        .accounts_of(&alice, &AccountQuery::first(20))
        .await
        .unwrap();
    measured.push(("accounts page", count() - before));
    assert_eq!(page.accounts.len(), 1);
    assert!(
        measured.iter().all(|(_, n)| *n == 1),
        "one round trip per page: {measured:?}"
    );
    let empty = PaymentQuery {
        from: Some(T0 + minutes(5)),
        to: Some(T0),
        ..PaymentQuery::first(alice, Party::Payer)
    };
    let before = count();
    assert_eq!(s.payments(&empty).await.map(|p| p.payments.len()), Ok(0));
    assert_eq!(count() - before, 0, "an empty window asks nothing");
}
