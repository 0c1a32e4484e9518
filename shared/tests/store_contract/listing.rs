//! Listings: a client's payments as payer and as payee (filters, time windows, cursors bound to
//! their query), and its accounts; checked page by page against a model of what was written.

#[allow(unused_imports)]
use super::*;

use paygate_shared::{PaymentCursor, PaymentPage, PaymentQuery, payment::Party};

// 10. Listings.

/// Every payment the case wrote, as it stands now.
#[derive(Default)]
pub(crate) struct Book(Vec<Payment>);

impl Book {
    pub(crate) fn record(&mut self, payment: Payment) -> Payment {
        self.0.retain(|p| p.id != payment.id);
        self.0.push(payment.clone());
        payment
    }

    /// What `query` must list across all its pages: written out plainly, newest first.
    pub(crate) fn expected(&self, query: &PaymentQuery) -> Vec<Payment> {
        let mut listed: Vec<Payment> = self
            .0
            .iter()
            .filter(|p| match query.role {
                Party::Payer => p.client_id == query.client,
                Party::Payee => p.payee == query.client,
            })
            .filter(|p| query.statuses.is_empty() || query.statuses.contains(&p.status()))
            .filter(|p| match (query.account, query.role) {
                (None, _) => true,
                (Some(a), Party::Payer) => p.source == a,
                (Some(a), Party::Payee) => p.destination == a,
            })
            .filter(|p| query.from.is_none_or(|from| p.created_at >= from))
            .filter(|p| query.to.is_none_or(|to| p.created_at < to))
            .cloned()
            .collect();
        listed.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.id)));
        listed
    }
}

/// Every page of `query`, following each cursor through its encoded text.
pub(crate) async fn pages(store: &dyn Store, query: &PaymentQuery) -> Vec<Vec<Payment>> {
    let mut query = query.clone();
    let mut pages = Vec::new();
    loop {
        let page = store.payments(&query).await.expect("a page of payments");
        assert!(page.payments.len() <= query.page_size(), "{query:?}");
        pages.push(page.payments);
        let Some(cursor) = page.next_cursor else {
            return pages;
        };
        let text = cursor.encode();
        query.after = Some(PaymentCursor::decode(&text, &query).expect("its own cursor"));
        assert!(pages.len() <= 200, "the listing does not end: {query:?}");
    }
}

/// Pages of `query` must be exactly the model's payments, cut every `limit`.
async fn assert_pages(store: &dyn Store, book: &Book, query: PaymentQuery) {
    let expected = book.expected(&query);
    let mut cut: Vec<Vec<Payment>> = expected
        .chunks(query.page_size())
        .map(<[Payment]>::to_vec)
        .collect();
    if cut.is_empty() {
        cut.push(Vec::new());
    }
    let ids = |pages: &[Vec<Payment>]| -> Vec<Vec<PaymentId>> {
        pages
            .iter()
            .map(|page| page.iter().map(|p| p.id).collect())
            .collect()
    };
    let got = pages(store, &query).await;
    assert_eq!(ids(&got), ids(&cut), "{query:?}");
    assert_eq!(got.concat(), expected, "{query:?}");
}

pub(crate) async fn payments_list_for_each_party_with_filters_and_bound_cursors(fx: Fixture) {
    let s = fx.store();
    let (alice, bob, carol) = (client("alice"), client("bob"), client("carol"));
    let mut book = Book::default();
    let at = |m: i64| T0 + minutes(m);
    let open = async |owner: &ClientId, book: &mut Book| {
        let id = open_funded(s, owner, GENEROUS, 0, at(-60)).await;
        book.record(s.fund(id, cny(10_000), at(-60)).await.expect("fund"));
        id
    };
    let (a1, a2, b1, c1) = (
        open(&alice, &mut book).await,
        open(&alice, &mut book).await,
        open(&bob, &mut book).await,
        open(&carol, &mut book).await,
    );
    let pay = async |book: &mut Book, who: &ClientId, from, to, amount, m| {
        let p = transfer(who, from, to, cny(amount), at(m));
        must_create(s, &p, p.created_at).await;
        book.record(p)
    };
    let p1 = pay(&mut book, &alice, a1, b1, 100, 1).await;
    let p2 = pay(&mut book, &alice, a2, b1, 200, 2).await;
    book.record(s.capture(&p2, p2.amount, at(3)).await.expect("capture"));
    let _p3 = pay(&mut book, &bob, b1, a1, 300, 3).await;
    let p4 = pay(&mut book, &alice, a1, c1, 400, 4).await;
    book.record(
        s.release(&p4, ReleaseReason::Canceled, at(5))
            .await
            .unwrap(),
    );
    let p5 = one_step(transfer(&alice, a1, a2, cny(500), at(5)));
    must_create(s, &p5, p5.created_at).await;
    book.record(p5);
    let _p6 = pay(&mut book, &carol, c1, b1, 600, 6).await;
    // Two in the same millisecond: the id decides.
    let _p7 = pay(&mut book, &alice, a2, b1, 700, 7).await;
    let _p8 = pay(&mut book, &alice, a2, b1, 800, 7).await;
    let p9 = one_step(transfer(&bob, b1, a2, cny(900), at(8)));
    must_create(s, &p9, p9.created_at).await;
    book.record(p9);
    let p10 = pay(&mut book, &alice, a1, b1, 1_000, 9).await;
    book.record(
        s.release(&p10, ReleaseReason::Expired, at(30))
            .await
            .unwrap(),
    );
    assert_eq!(book.0.iter().filter(|p| p.id == p1.id).count(), 1);

    use PaymentStatus::*;
    let base = |client: &ClientId, role, limit| PaymentQuery {
        limit,
        ..PaymentQuery::first(client.clone(), role)
    };
    for (client, role) in [
        (&alice, Party::Payer),
        (&alice, Party::Payee),
        (&bob, Party::Payer),
        (&bob, Party::Payee),
        (&carol, Party::Payee),
    ] {
        for limit in [1, 2, 3, PaymentQuery::DEFAULT_LIMIT] {
            assert_pages(s, &book, base(client, role, limit)).await;
        }
        for statuses in [
            vec![Pending, Canceled],
            vec![Succeeded],
            vec![Expired, Pending, Expired],
            vec![Canceled],
        ] {
            let q = PaymentQuery {
                statuses,
                ..base(client, role, 2)
            };
            assert_pages(s, &book, q).await;
        }
        for account in [a1, a2, b1, c1] {
            let q = PaymentQuery {
                account: Some(account),
                ..base(client, role, 2)
            };
            assert_pages(s, &book, q).await;
        }
        // `from` inclusive, `to` exclusive, alone and with the other filters.
        for (from, to) in [(Some(3), Some(7)), (Some(7), None), (None, Some(2))] {
            let window = PaymentQuery {
                from: from.map(at),
                to: to.map(at),
                ..base(client, role, 2)
            };
            assert_pages(s, &book, window.clone()).await;
            let narrowed = PaymentQuery {
                statuses: vec![Succeeded, Pending],
                account: Some(a2),
                ..window
            };
            assert_pages(s, &book, narrowed).await;
        }
    }
    // A sanity check of the model itself, so the comparisons above compare something: alice
    // pays 7 and receives 3 (fundings are the system's, listed on neither side).
    let counts = |role| book.expected(&base(&alice, role, 1)).len();
    assert_eq!((counts(Party::Payer), counts(Party::Payee)), (7, 3));

    // A cursor resumes only the query that issued it.
    let first = base(&alice, Party::Payer, 2);
    let page = s.payments(&first).await.unwrap();
    let cursor = page.next_cursor.expect("alice pays more than twice");
    let text = cursor.encode();
    let others = [
        base(&bob, Party::Payer, 2),
        base(&alice, Party::Payee, 2),
        PaymentQuery {
            statuses: vec![Pending],
            ..first.clone()
        },
        PaymentQuery {
            account: Some(a1),
            ..first.clone()
        },
        PaymentQuery {
            from: Some(at(0)),
            ..first.clone()
        },
        PaymentQuery {
            to: Some(at(60)),
            ..first.clone()
        },
    ];
    for other in others {
        assert_eq!(
            PaymentCursor::decode(&text, &other),
            Err(InvalidCursor),
            "{other:?}"
        );
        let smuggled = PaymentQuery {
            after: Some(cursor),
            ..other
        };
        assert_eq!(
            s.payments(&smuggled).await,
            Err(StoreError::InvalidCursor(InvalidCursor)),
            "{smuggled:?}"
        );
    }
    let resumed = PaymentQuery {
        after: Some(cursor),
        limit: 50,
        ..first.clone()
    };
    let rest = s.payments(&resumed).await.unwrap();
    assert_eq!(
        rest.payments,
        book.expected(&first)[2..].to_vec(),
        "another limit"
    );
    assert_eq!(rest.next_cursor, None);
    // An empty window lists nothing.
    let empty = PaymentQuery {
        from: Some(at(5)),
        to: Some(at(5)),
        ..first
    };
    assert_eq!(s.payments(&empty).await, Ok(PaymentPage::empty()));
}
