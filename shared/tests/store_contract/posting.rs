//! Batched credit posting: a credit into a batched account waits as an unposted credit (the
//! account's item untouched), shows as `incoming`, cannot be spent, and is posted in key order
//! with exact balances, exactly once however many posters race or repeat.

#[allow(unused_imports)]
use super::*;

use paygate_shared::{
    PostingMode,
    store::{Balance, Posted},
    unposted::MAX_BATCH_CREDITS,
};

/// Opens a batched CNY account for `owner`, funded with `posted` (the funding posted, so it is
/// balance, not incoming).
async fn open_batched(s: &dyn Store, owner: &ClientId, posted: i64) -> AccountId {
    let id = open_funded(s, owner, GENEROUS, posted, T0).await;
    let account = s
        .set_posting(id, PostingMode::Batched, T0)
        .await
        .expect("set_posting");
    assert_eq!(account.posting, PostingMode::Batched);
    assert_eq!(account.balance, posted);
    id
}

async fn incoming(s: &dyn Store, id: AccountId) -> i64 {
    s.balance(id)
        .await
        .expect("balance")
        .expect("the account exists")
        .incoming
}

/// Posts everything waiting, `max` per write; returns how many were posted.
async fn drain(s: &dyn Store, id: AccountId, max: usize, at: OffsetDateTime) -> usize {
    let mut posted = 0;
    loop {
        let done = s.post_credits(id, max, at).await.expect("post_credits");
        posted += done.credits;
        if !done.more {
            return posted;
        }
    }
}

pub(crate) async fn batched_credits_wait_as_incoming_and_post_in_order(fx: Fixture) {
    let s = fx.store();
    let (alice, bob, merchant) = (client("alice"), client("bob"), client("merchant"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_batched(s, &bob, 0).await;
    let m = open_batched(s, &merchant, 100).await;
    let m0 = account(s, m).await;

    // A funding, a one-step payment, a capture and a refund into batched accounts: each debits
    // its source at once, and none writes the account credited.
    let t1 = T0 + minutes(1);
    s.fund(m, cny(40), t1).await.expect("fund");
    let pay = one_step(transfer(&alice, a, m, cny(300), T0 + minutes(2)));
    must_create(s, &pay, pay.created_at).await;
    let held = transfer(&alice, a, m, cny(200), T0 + minutes(3));
    must_create(s, &held, held.created_at).await;
    let captured = s
        .capture(&held, cny(150), T0 + minutes(4))
        .await
        .expect("capture");
    let to_bob = one_step(transfer(&alice, a, b, cny(10), T0 + minutes(5)));
    must_create(s, &to_bob, to_bob.created_at).await;
    assert_eq!(
        account(s, m).await,
        m0,
        "the batched account's item is untouched"
    );
    assert_eq!(all_entries(s, m).await.len(), 1, "only the opening funding");
    let a1 = account(s, a).await;
    assert_eq!((a1.balance, a1.available), (540, 540));
    assert_eq!(
        s.balance(m).await,
        Ok(Some(Balance {
            account: m0.clone(),
            incoming: 490
        }))
    );
    let waiting = s.unposted(m, 10).await.expect("unposted");
    assert_eq!(
        waiting
            .iter()
            .map(|c| (c.payment_id, c.amount.amount, c.counterparty))
            .collect::<Vec<_>>(),
        vec![
            (waiting[0].payment_id, 40, treasury()),
            (pay.id, 300, a),
            (held.id, 150, a)
        ],
        "oldest capture first"
    );
    assert_eq!(waiting[2].captured_at, T0 + minutes(4));

    // Two per write: the two oldest, with exact balances after the head.
    let at = T0 + minutes(6);
    let first = s.post_credits(m, 2, at).await.expect("post");
    assert_eq!(
        first,
        Posted {
            credits: 2,
            oldest: Some(t1),
            more: true
        }
    );
    let entries = all_entries(s, m).await;
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.payment_id, e.direction, e.amount.amount, e.balance_after))
            .collect::<Vec<_>>()[..2],
        [
            (pay.id, Direction::Credit, 300, 440),
            (waiting[0].payment_id, Direction::Credit, 40, 140),
        ]
    );
    assert_eq!(entries[0].counterparty, a);
    assert_eq!(entries[0].owner, merchant);
    assert_eq!(entries[0].created_at, at);
    let m1 = account(s, m).await;
    assert_eq!((m1.balance, m1.available), (440, 440));
    assert_eq!(m1.ledger_head, Some(entries[0].id));
    assert_eq!(incoming(s, m).await, 150);

    // The refund of the capture comes out of the posted balance: the payer is immediate, so it
    // posts at once; bob's credit waits for his poster.
    let (refund, outcome) = refund_as(s, &captured, 50, "r1", "50", at).await;
    assert!(
        matches!(outcome, Ok(RefundOutcome::Created { .. })),
        "{outcome:?}"
    );
    assert_eq!(account(s, a).await.balance, 590);

    assert_eq!(drain(s, m, MAX_BATCH_CREDITS, at).await, 1);
    assert_eq!(drain(s, b, MAX_BATCH_CREDITS, at).await, 1);
    let entries = all_entries(s, m).await;
    assert_eq!(assert_balance_chain(&entries), 540);
    assert_eq!(
        (entries[0].payment_id, entries[0].direction),
        (held.id, Direction::Credit),
        "posted after the refund's debit"
    );
    assert_eq!(entries[1].refund_id, Some(refund.id), "the refund's debit");
    let m2 = account(s, m).await;
    assert_eq!(
        (m2.balance, m2.available, incoming(s, m).await),
        (540, 540, 0)
    );
    assert_eq!(assert_balance_chain(&all_entries(s, b).await), 10);

    // Nothing waits: a repeated or redelivered post writes nothing.
    let before = (account(s, m).await, all_entries(s, m).await);
    assert_eq!(
        s.post_credits(m, 5, at).await,
        Ok(Posted {
            credits: 0,
            oldest: None,
            more: false
        })
    );
    assert_eq!((account(s, m).await, all_entries(s, m).await), before);

    // Money is conserved: the treasury's funding and everything else sums to zero.
    let treasury_balance = account(s, treasury()).await.balance;
    let sum =
        account(s, a).await.balance + account(s, b).await.balance + account(s, m).await.balance;
    assert_eq!(sum + treasury_balance, 0);
}

pub(crate) async fn incoming_credits_cannot_be_spent_or_refunded(fx: Fixture) {
    let s = fx.store();
    let (alice, merchant) = (client("alice"), client("merchant"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let m = open_batched(s, &merchant, 100).await;
    let pay = one_step(transfer(&alice, a, m, cny(500), T0));
    must_create(s, &pay, T0).await;
    let shown = s.balance(m).await.expect("balance").expect("exists");
    assert_eq!(
        (
            shown.account.balance,
            shown.incoming,
            shown.account.available
        ),
        (100, 500, 100)
    );

    // 600 is on its way, 100 is spendable.
    let out = one_step(transfer(&merchant, m, a, cny(200), T0 + minutes(1)));
    let refused = create(s, &out, "out", "out", out.created_at).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Account(AccountError::InsufficientFunds {
                available: 100,
                requested: 200,
                ..
            }))
        ),
        "{refused:?}"
    );
    let (_, refund) = refund_as(s, &pay, 200, "r", "200", T0 + minutes(1)).await;
    assert!(
        matches!(
            refund,
            Err(StoreError::Account(AccountError::InsufficientFunds { .. }))
        ),
        "{refund:?}"
    );
    assert_eq!(account(s, m).await.balance, 100);
    assert_eq!(incoming(s, m).await, 500);

    // Once posted, both go through.
    assert_eq!(drain(s, m, MAX_BATCH_CREDITS, T0 + minutes(2)).await, 1);
    let out = one_step(transfer(&merchant, m, a, cny(200), T0 + minutes(3)));
    must_create(s, &out, out.created_at).await;
    let (_, refund) = refund_as(s, &pay, 200, "r2", "200", T0 + minutes(3)).await;
    assert!(
        matches!(refund, Ok(RefundOutcome::Created { .. })),
        "{refund:?}"
    );
    let m1 = account(s, m).await;
    assert_eq!((m1.balance, m1.available), (200, 200));
    assert_eq!(assert_balance_chain(&all_entries(s, m).await), 200);
}

pub(crate) async fn racing_posters_post_each_credit_exactly_once(fx: Fixture) {
    let s = fx.shared();
    let (alice, merchant) = (client("alice"), client("merchant"));
    let a = open_funded(&*s, &alice, GENEROUS, 10_000, T0).await;
    let m = open_batched(&*s, &merchant, 0).await;
    let mut payments = Vec::new();
    for i in 0..24 {
        let p = one_step(transfer(
            &alice,
            a,
            m,
            cny(i + 1),
            T0 + Duration::milliseconds(i),
        ));
        must_create(&*s, &p, p.created_at).await;
        payments.push(p.id);
    }
    let mut racers = tokio::task::JoinSet::new();
    for racer in 0..4 {
        let s = Arc::clone(&s);
        racers.spawn(async move {
            let mut posted = 0;
            loop {
                match s.post_credits(m, 3 + racer, T0 + minutes(1)).await {
                    Ok(Posted { credits: 0, .. }) => return posted,
                    Ok(done) => posted += done.credits,
                    Err(StoreError::Conflict) => {}
                    Err(e) => panic!("post_credits: {e}"),
                }
            }
        });
    }
    let mut posted = 0;
    while let Some(n) = racers.join_next().await {
        posted += n.expect("a poster");
    }
    assert_eq!(posted, 24, "each credit posted by exactly one poster");
    let entries = all_entries(&*s, m).await;
    assert_eq!(assert_balance_chain(&entries), 300);
    let mut credited: Vec<PaymentId> = entries.iter().map(|e| e.payment_id).collect();
    credited.sort();
    payments.sort();
    assert_eq!(credited, payments, "one credit entry per payment");
    let m1 = account(&*s, m).await;
    assert_eq!((m1.balance, m1.available), (300, 300));
    assert_eq!(m1.ledger_head, Some(entries[0].id));
    assert_eq!(incoming(&*s, m).await, 0);
}

pub(crate) async fn switching_posting_modes_keeps_every_credit(fx: Fixture) {
    let s = fx.store();
    let (alice, merchant) = (client("alice"), client("merchant"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let m = open_batched(s, &merchant, 0).await;
    let other = open_batched(s, &merchant, 0).await;
    let mut listed = s
        .batched_accounts(None, 10)
        .await
        .expect("batched_accounts");
    listed.retain(|id| [m, other].contains(id));
    let mut expected = vec![m, other];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(
        !s.batched_accounts(Some(expected[0]), 10)
            .await
            .expect("batched_accounts")
            .contains(&expected[0]),
        "only accounts after `after`"
    );

    for i in 0..3 {
        let p = one_step(transfer(&alice, a, m, cny(10), T0 + minutes(i)));
        must_create(s, &p, p.created_at).await;
    }
    assert_eq!(incoming(s, m).await, 30);
    // Back to immediate: what waited is posted, and new credits post at once.
    let switched = s
        .set_posting(m, PostingMode::Immediate, T0 + minutes(5))
        .await
        .expect("set_posting");
    assert_eq!(
        (switched.posting, switched.balance, switched.available),
        (PostingMode::Immediate, 30, 30)
    );
    assert_eq!(incoming(s, m).await, 0);
    let p = one_step(transfer(&alice, a, m, cny(5), T0 + minutes(6)));
    must_create(s, &p, p.created_at).await;
    assert_eq!(account(s, m).await.balance, 35);
    assert!(
        !s.batched_accounts(None, 100)
            .await
            .expect("list")
            .contains(&m)
    );

    // And batched again.
    s.set_posting(m, PostingMode::Batched, T0 + minutes(7))
        .await
        .expect("set_posting");
    let p = one_step(transfer(&alice, a, m, cny(7), T0 + minutes(8)));
    must_create(s, &p, p.created_at).await;
    assert_eq!((account(s, m).await.balance, incoming(s, m).await), (35, 7));
    assert_eq!(drain(s, m, 1, T0 + minutes(9)).await, 1);
    assert_eq!(assert_balance_chain(&all_entries(s, m).await), 42);

    // Neither a treasury nor a missing account has a posting mode to set.
    for id in [treasury(), AccountId::generate(T0)] {
        assert_eq!(
            s.set_posting(id, PostingMode::Batched, T0).await,
            Err(StoreError::Account(AccountError::NotFound(id)))
        );
    }
}

/// A poster dies after its first batch (its write durable, the rest not started), and the
/// stream hands the whole batch of records to the next one: it posts what is left, and only
/// that, each credit once, the balances exact and in key order.
pub(crate) async fn a_poster_that_dies_between_batches_loses_and_repeats_nothing(fx: Fixture) {
    let s = fx.store();
    let (alice, merchant) = (client("alice"), client("merchant"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let m = open_batched(s, &merchant, 0).await;
    let mut payments = Vec::new();
    for i in 0..7 {
        let p = one_step(transfer(&alice, a, m, cny(10 * (i + 1)), T0 + minutes(i)));
        must_create(s, &p, p.created_at).await;
        payments.push(p.id);
    }
    // What the stream delivers: every credit, whole.
    let records = s.unposted(m, 100).await.expect("unposted");
    assert_eq!(records.len(), 7);

    // The first batch is written; then the poster dies.
    let first = s
        .post_known(m, &records[..3], T0 + minutes(10))
        .await
        .expect("the first batch");
    assert_eq!(
        (first.credits, first.oldest),
        (3, Some(records[0].captured_at))
    );
    let m1 = account(s, m).await;
    assert_eq!(
        (m1.balance, incoming(s, m).await),
        (10 + 20 + 30, 40 + 50 + 60 + 70)
    );
    assert_eq!(assert_balance_chain(&all_entries(s, m).await), 60);

    // The next poster gets all seven records again: the three posted are skipped.
    let second = s
        .post_known(m, &records, T0 + minutes(11))
        .await
        .expect("the redelivered batch");
    assert_eq!((second.credits, second.more), (4, false));
    assert_eq!(
        s.post_known(m, &records, T0 + minutes(12)).await,
        Ok(Posted {
            credits: 0,
            oldest: None,
            more: false
        }),
        "a third delivery posts nothing"
    );
    let entries = all_entries(s, m).await;
    assert_eq!(assert_balance_chain(&entries), 280);
    // Newest first: the credits were posted in key (capture) order.
    let credited: Vec<PaymentId> = entries.iter().rev().map(|e| e.payment_id).collect();
    assert_eq!(credited, payments, "one credit entry per payment, in order");
    let m2 = account(s, m).await;
    assert_eq!(
        (m2.balance, m2.available, incoming(s, m).await),
        (280, 280, 0)
    );
    assert_eq!(account(s, a).await.balance, 1_000 - 280);
}
