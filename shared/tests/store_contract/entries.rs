//! Entries: newest-first pages, filters and account-bound cursors.

#[allow(unused_imports)]
use super::*;

// 8. Entries.

pub(crate) async fn entries_page_newest_first_with_filters_and_cursors(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 0, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let at = |m: i64| T0 + minutes(m);

    let e1 = s.fund(a, cny(1_000), at(0)).await.unwrap();
    let e2 = s.fund(a, cny(500), at(1)).await.unwrap();
    let e3 = one_step(transfer(&alice, a, b, cny(200), at(2)));
    must_create(s, &e3, at(2)).await;
    let e4 = transfer(&alice, a, b, cny(100), at(3));
    must_create(s, &e4, at(3)).await;
    s.capture(&e4, e4.amount, at(4)).await.unwrap();
    let e5 = s.fund(a, cny(50), at(5)).await.unwrap();
    let e6 = one_step(transfer(&bob, b, a, cny(120), at(6)));
    must_create(s, &e6, at(6)).await;
    let e7 = one_step(transfer(&alice, a, b, cny(30), at(7)));
    must_create(s, &e7, at(7)).await;

    // (payment, direction, amount, balance_after, created_at), newest first.
    let expected: Vec<(PaymentId, Direction, i64, i64, OffsetDateTime)> = vec![
        (e7.id, Direction::Debit, 30, 1_340, at(7)),
        (e6.id, Direction::Credit, 120, 1_370, at(6)),
        (e5.id, Direction::Credit, 50, 1_250, at(5)),
        (e4.id, Direction::Debit, 100, 1_200, at(4)),
        (e3.id, Direction::Debit, 200, 1_300, at(2)),
        (e2.id, Direction::Credit, 500, 1_500, at(1)),
        (e1.id, Direction::Credit, 1_000, 1_000, at(0)),
    ];
    let summary =
        |entries: &[LedgerEntry]| -> Vec<(PaymentId, Direction, i64, i64, OffsetDateTime)> {
            entries
                .iter()
                .map(|e| {
                    (
                        e.payment_id,
                        e.direction,
                        e.amount.amount,
                        e.balance_after,
                        e.created_at,
                    )
                })
                .collect()
        };

    // Pages of 3, 3 and 1, chained through encoded cursors.
    let mut query = EntryQuery::first(3);
    let mut pages = Vec::new();
    loop {
        let page = s.entries(a, &query).await.expect("entries page");
        let cursor = page.next_cursor;
        pages.push(page.entries);
        let Some(cursor) = cursor else { break };
        assert_eq!(cursor.account, a);
        assert_eq!(
            Some(cursor.after),
            pages.last().unwrap().last().map(|e| e.id)
        );
        assert_eq!(EntryCursor::decode(&cursor.encode(), b), Err(InvalidCursor));
        query.after = Some(
            EntryCursor::decode(&cursor.encode(), a)
                .expect("decode")
                .after,
        );
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    let all: Vec<LedgerEntry> = pages.concat();
    assert_eq!(summary(&all), expected);
    for pair in all.windows(2) {
        assert!(pair[0].id > pair[1].id, "ids strictly decrease: {pair:?}");
        assert_eq!(
            pair[0].balance_after,
            pair[1].balance_after + pair[0].signed_amount()
        );
    }
    assert!(
        all.iter()
            .all(|e| e.account_id == a && e.amount.currency == Currency::CNY)
    );
    assert_eq!(assert_balance_chain(&all), 1_340);
    let a_now = account(s, a).await;
    assert_eq!(
        (a_now.balance, a_now.available, a_now.ledger_head),
        (1_340, 1_340, Some(all[0].id))
    );
    assert_eq!(all_entries(s, a).await, all);

    // The page size is exact: a full last page has no cursor; one short of it has one.
    let page = s.entries(a, &EntryQuery::first(7)).await.unwrap();
    assert_eq!(
        (page.entries.clone(), page.next_cursor),
        (all.clone(), None)
    );
    let page = s.entries(a, &EntryQuery::first(6)).await.unwrap();
    assert_eq!(page.entries, all[..6].to_vec());
    let cursor = page.next_cursor.expect("a seventh entry remains");
    assert_eq!(cursor.after, all[5].id);
    let rest = s
        .entries(
            a,
            &EntryQuery {
                after: Some(cursor.after),
                ..EntryQuery::first(6)
            },
        )
        .await;
    assert_eq!(
        rest.map(|p| (p.entries, p.next_cursor)),
        Ok((all[6..].to_vec(), None))
    );

    // Time windows: `from` inclusive, `to` exclusive.
    let window = |from: Option<i64>, to: Option<i64>, limit| EntryQuery {
        limit,
        after: None,
        from: from.map(at),
        to: to.map(at),
    };
    let page = s.entries(a, &window(Some(2), Some(5), 10)).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[3..5].to_vec(), None)
    );
    let page = s.entries(a, &window(Some(5), None, 10)).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[..3].to_vec(), None)
    );
    let page = s.entries(a, &window(None, Some(1), 10)).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[6..].to_vec(), None)
    );
    let page = s.entries(a, &window(Some(3), Some(4), 10)).await.unwrap();
    assert_eq!(
        (page.entries, page.next_cursor),
        (vec![], None),
        "nothing posted at 10:03"
    );
    let page = s.entries(a, &window(Some(5), Some(2), 10)).await.unwrap();
    assert_eq!(
        (page.entries, page.next_cursor),
        (vec![], None),
        "an empty window"
    );

    // Windows page too, and the cursor is exact at the window's edge.
    let page = s.entries(a, &window(Some(2), Some(5), 1)).await.unwrap();
    assert_eq!(summary(&page.entries), expected[3..4].to_vec());
    let cursor = page.next_cursor.expect("one more inside the window");
    let next = EntryQuery {
        after: Some(cursor.after),
        ..window(Some(2), Some(5), 1)
    };
    let page = s.entries(a, &next).await.unwrap();
    assert_eq!(
        (summary(&page.entries), page.next_cursor),
        (expected[4..5].to_vec(), None)
    );

    // The counterparty's side mirrors it.
    let b_entries = all_entries(s, b).await;
    assert_eq!(
        summary(&b_entries),
        vec![
            (e7.id, Direction::Credit, 30, 210, at(7)),
            (e6.id, Direction::Debit, 120, 180, at(6)),
            (e4.id, Direction::Credit, 100, 300, at(4)),
            (e3.id, Direction::Credit, 200, 200, at(2)),
        ]
    );
    assert!(b_entries.iter().all(|e| e.counterparty == a));

    // An account with no entries.
    let empty = open_funded(s, &alice, GENEROUS, 0, T0).await;
    let page = s
        .entries(empty, &EntryQuery::first(EntryQuery::DEFAULT_LIMIT))
        .await
        .unwrap();
    assert_eq!((page.entries, page.next_cursor), (vec![], None));
    let unknown = AccountId::generate(T0);
    let page = s.entries(unknown, &EntryQuery::first(5)).await.unwrap();
    assert_eq!((page.entries, page.next_cursor), (vec![], None));
}
