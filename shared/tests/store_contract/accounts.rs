//! Accounts: creation, reads, unique ids.

#[allow(unused_imports)]
use super::*;

// 1. Accounts.

pub(crate) async fn accounts_round_trip_and_ids_are_unique(fx: Fixture) {
    let s = fx.store();
    let alice = client("alice");
    let limits = AccountLimits {
        per_payment: 50_000,
        daily_outflow: 200_000,
    };
    let opened = Account::open(
        AccountId::generate(T0),
        alice.clone(),
        Currency::CNY,
        limits,
        T0,
    );
    assert_eq!(s.create_account(&opened).await, Ok(()));
    assert_eq!(s.account(opened.id).await, Ok(Some(opened.clone())));

    let frozen = Account {
        status: AccountStatus::Frozen,
        ..Account::open(
            AccountId::generate(T0),
            alice.clone(),
            Currency::USD,
            GENEROUS,
            T0,
        )
    };
    assert_eq!(s.create_account(&frozen).await, Ok(()));
    assert_eq!(s.account(frozen.id).await, Ok(Some(frozen.clone())));

    // The same id again, even with other contents, is refused and changes nothing.
    let impostor = Account {
        owner: client("mallory"),
        balance: 1_000_000,
        available: 1_000_000,
        ..opened.clone()
    };
    assert_eq!(
        s.create_account(&impostor).await,
        Err(StoreError::DuplicateId(opened.id.to_string()))
    );
    assert_eq!(s.account(opened.id).await, Ok(Some(opened.clone())));
    // The owner is the one first written, however often it is asked for.
    for _ in 0..2 {
        assert_eq!(s.account_owner(opened.id).await, Ok(Some(alice.clone())));
        assert_eq!(s.account_owner(frozen.id).await, Ok(Some(alice.clone())));
    }

    assert_eq!(s.account(AccountId::generate(T0)).await, Ok(None));
    let later = AccountId::generate(T0);
    assert_eq!(s.account_owner(later).await, Ok(None));
    // A missing account is not remembered as missing: once created, its owner is found.
    let created_later = Account::open(later, client("bob"), Currency::CNY, GENEROUS, T0);
    assert_eq!(s.create_account(&created_later).await, Ok(()));
    assert_eq!(s.account_owner(later).await, Ok(Some(client("bob"))));
    assert_eq!(
        s.account(treasury()).await,
        Ok(None),
        "no treasury before any funding"
    );
}
