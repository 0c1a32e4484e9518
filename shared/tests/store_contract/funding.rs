//! Funding: money enters only from the treasury, double-entry.

#[allow(unused_imports)]
use super::*;

// 2. Funding.

/// A funding payment as `Payment::funding` makes it (its id aside).
fn assert_funding(p: &Payment, destination: AccountId, amount: i64, at: OffsetDateTime) {
    let expected = Payment::funding(treasury(), destination, cny(amount), at);
    assert_eq!(
        p.id.ulid().timestamp_ms(),
        expected.id.ulid().timestamp_ms(),
        "id time of {p:?}"
    );
    assert_eq!(
        (
            p.kind,
            p.status(),
            &p.client_id,
            p.source,
            p.destination,
            p.amount,
            &p.description
        ),
        (
            PaymentKind::Funding,
            PaymentStatus::Succeeded,
            &ClientId::system(),
            treasury(),
            destination,
            cny(amount),
            &None
        )
    );
    assert_eq!((p.created_at, p.expires_at, p.updated_at), (at, at, at));
}

pub(crate) async fn funding_moves_money_out_of_the_treasury(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let a = open_account(
        s,
        &alice,
        Currency::CNY,
        GENEROUS,
        AccountStatus::Active,
        T0,
    )
    .await;
    let b = open_account(
        s,
        &client("bob"),
        Currency::CNY,
        GENEROUS,
        AccountStatus::Active,
        T0,
    )
    .await;

    let first = s.fund(a.id, cny(1_000), T0).await.expect("fund a");
    assert_funding(&first, a.id, 1_000, T0);
    assert_eq!(s.payment(first.id).await, Ok(Some(first.clone())));

    let t1 = T0 + minutes(1);
    let second = s.fund(b.id, cny(250), t1).await.expect("fund b");
    assert_funding(&second, b.id, 250, t1);
    assert_ne!(first.id, second.id);
    assert_eq!(s.payment(second.id).await, Ok(Some(second.clone())));

    // The customer side: one credit each.
    let a_entries = all_entries(s, a.id).await;
    assert_eq!(a_entries.len(), 1);
    let credit_a = &a_entries[0];
    assert_eq!(
        credit_a,
        &LedgerEntry {
            id: credit_a.id,
            account_id: a.id,
            owner: alice.clone(),
            payment_id: first.id,
            refund_id: None,
            direction: Direction::Credit,
            amount: cny(1_000),
            balance_after: 1_000,
            counterparty: treasury(),
            created_at: T0,
        }
    );
    let b_entries = all_entries(s, b.id).await;
    assert_eq!(b_entries.len(), 1);
    let credit_b = &b_entries[0];
    assert_eq!(
        credit_b,
        &LedgerEntry {
            id: credit_b.id,
            account_id: b.id,
            owner: client("bob"),
            payment_id: second.id,
            refund_id: None,
            direction: Direction::Credit,
            amount: cny(250),
            balance_after: 250,
            counterparty: treasury(),
            created_at: t1,
        }
    );
    assert_eq!(
        account(s, a.id).await,
        Account {
            balance: 1_000,
            available: 1_000,
            ledger_head: Some(credit_a.id),
            ..a.clone()
        }
    );
    assert_eq!(
        account(s, b.id).await,
        Account {
            balance: 250,
            available: 250,
            ledger_head: Some(credit_b.id),
            ..b.clone()
        }
    );

    // The treasury side: created on first use, one debit per funding, newest first.
    let t_entries = all_entries(s, treasury()).await;
    assert_eq!(t_entries.len(), 2);
    assert_eq!(
        t_entries[0],
        LedgerEntry {
            id: t_entries[0].id,
            account_id: treasury(),
            owner: ClientId::system(),
            payment_id: second.id,
            refund_id: None,
            direction: Direction::Debit,
            amount: cny(250),
            balance_after: -1_250,
            counterparty: b.id,
            created_at: t1,
        }
    );
    assert_eq!(
        t_entries[1],
        LedgerEntry {
            id: t_entries[1].id,
            account_id: treasury(),
            owner: ClientId::system(),
            payment_id: first.id,
            refund_id: None,
            direction: Direction::Debit,
            amount: cny(1_000),
            balance_after: -1_000,
            counterparty: a.id,
            created_at: T0,
        }
    );
    let treasury_account = account(s, treasury()).await;
    assert_eq!(
        treasury_account,
        Account {
            balance: -1_250,
            available: -1_250,
            ledger_head: Some(t_entries[0].id),
            ..Account::treasury(Currency::CNY, T0)
        }
    );
    assert_eq!(
        treasury_account.balance + 1_000 + 250,
        0,
        "money is conserved"
    );

    // Refused fundings change nothing anywhere.
    let frozen = open_account(
        s,
        &alice,
        Currency::CNY,
        GENEROUS,
        AccountStatus::Frozen,
        T0,
    )
    .await;
    let missing = AccountId::generate(T0);
    let snapshot = async || {
        (
            account(s, a.id).await,
            account(s, treasury()).await,
            all_entries(s, a.id).await,
            all_entries(s, treasury()).await,
            account(s, frozen.id).await,
        )
    };
    let before = snapshot().await;
    let t2 = T0 + minutes(2);
    let refusals = [
        (a.id, cny(0), StoreError::Money(MoneyError::NotPositive)),
        (a.id, cny(-5), StoreError::Money(MoneyError::NotPositive)),
        (
            a.id,
            usd(100),
            StoreError::Account(AccountError::CurrencyMismatch {
                account: a.id,
                account_currency: Currency::CNY,
                payment_currency: Currency::USD,
            }),
        ),
        (
            missing,
            cny(100),
            StoreError::Account(AccountError::NotFound(missing)),
        ),
        (
            treasury(),
            cny(100),
            StoreError::Account(AccountError::NotFound(treasury())),
        ),
        (
            frozen.id,
            cny(100),
            StoreError::Account(AccountError::Inactive {
                account: frozen.id,
                status: AccountStatus::Frozen,
            }),
        ),
    ];
    for (target, amount, expected) in refusals {
        assert_eq!(
            s.fund(target, amount, t2).await,
            Err(expected),
            "funding {target} {amount}"
        );
        assert_eq!(
            snapshot().await,
            before,
            "a refused funding of {target} changed state"
        );
    }
    assert_eq!(s.account(missing).await, Ok(None));
    assert_eq!(
        s.account(Account::treasury_id(Currency::USD)).await,
        Ok(None),
        "a refused USD funding must not create the USD treasury"
    );
}
