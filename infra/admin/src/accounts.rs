//! `create-account`, `fund`, `show-account` and `set-posting`: customer accounts, the money
//! put into them, and how credits reach them.
//! Amounts are integer minor units throughout; `--amount-decimal` is parsed exactly, in the
//! account's own currency.

use paygate_shared::{
    Account, AccountId, AccountLimits, ClientId, Money, PaymentId,
    config::PaymentSettings,
    store::{AccountStore, Balance, ClientStore, LedgerStore, PostingStore},
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{
    AdminError,
    cli::{CreateAccount, Fund, SetPosting},
};

/// An account as the operator sees it (amounts in minor units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub account_id: AccountId,
    pub owner: ClientId,
    pub kind: &'static str,
    pub currency: &'static str,
    pub status: &'static str,
    pub balance: i64,
    pub available: i64,
    /// `immediate` or `batched`.
    pub posting: &'static str,
    /// Captured and not yet posted (batched accounts).
    pub incoming: i64,
    pub per_payment_limit: i64,
    pub daily_limit: i64,
    #[serde(with = "paygate_shared::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self::from(&Balance {
            account: a.clone(),
            incoming: 0,
        })
    }
}

impl From<&Balance> for AccountView {
    fn from(shown: &Balance) -> Self {
        let a = &shown.account;
        Self {
            account_id: a.id,
            owner: a.owner.clone(),
            kind: a.kind.as_str(),
            currency: a.currency.code(),
            status: a.status.as_str(),
            balance: a.balance,
            available: a.available,
            posting: a.posting.as_str(),
            incoming: shown.incoming,
            per_payment_limit: a.limits.per_payment,
            daily_limit: a.limits.daily_outflow,
            created_at: a.created_at,
        }
    }
}

/// What `fund` prints: the funding payment and the account as read right after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Funded {
    pub payment_id: PaymentId,
    pub account_id: AccountId,
    pub amount: i64,
    pub currency: &'static str,
    pub balance: i64,
    pub available: i64,
    /// Funding into a batched account is incoming until the poster posts it.
    pub incoming: i64,
}

/// Opens an empty account for an existing client.
///
/// # Errors
/// [`AdminError::NotFound`] for an owner that is not a registered client,
/// [`AdminError::Invalid`] for the reserved system owner.
pub async fn create_account<S: AccountStore + ClientStore>(
    store: &S,
    args: CreateAccount,
    now: OffsetDateTime,
) -> Result<AccountView, AdminError> {
    if args.owner.is_system() {
        return Err(AdminError::Invalid(format!(
            "{} owns only the treasury accounts, which funding creates",
            ClientId::SYSTEM
        )));
    }
    if store.client(&args.owner).await?.is_none() {
        return Err(AdminError::NotFound(format!(
            "client {} does not exist (create it with create-client first)",
            args.owner
        )));
    }
    let defaults = PaymentSettings::default().default_limits;
    let limits = AccountLimits {
        per_payment: args.per_payment_limit.unwrap_or(defaults.per_payment),
        daily_outflow: args.daily_limit.unwrap_or(defaults.daily_outflow),
    };
    let account = Account::open(
        AccountId::generate(now),
        args.owner,
        args.currency,
        limits,
        now,
    );
    store.create_account(&account).await?;
    Ok(AccountView::from(&account))
}

/// Funds an account from its currency's treasury.
///
/// # Errors
/// [`AdminError::NotFound`] for an unknown account, [`AdminError::Invalid`] for an amount
/// that is not positive or does not parse in the account's currency; the store's refusals
/// (an inactive account, a treasury) as they are.
pub async fn fund<S: AccountStore + LedgerStore + PostingStore>(
    store: &S,
    args: Fund,
    now: OffsetDateTime,
) -> Result<Funded, AdminError> {
    let account = read(store, args.account).await?;
    let amount = match (args.amount, args.amount_decimal.as_deref()) {
        (Some(minor), _) => Money::new(minor, account.currency),
        (None, Some(decimal)) => Money::parse_decimal(decimal.trim(), account.currency)
            .map_err(|e| AdminError::Invalid(e.to_string()))?,
        (None, None) => {
            return Err(AdminError::Invalid(
                "give --amount or --amount-decimal".into(),
            ));
        }
    };
    if amount.amount <= 0 {
        return Err(AdminError::Invalid(format!(
            "the amount must be positive, not {}",
            amount.to_decimal_string()
        )));
    }
    let payment = store.fund(account.id, amount, now).await?;
    let after = show_account(store, account.id).await?;
    Ok(Funded {
        payment_id: payment.id,
        account_id: after.account_id,
        amount: amount.amount,
        currency: amount.currency.code(),
        balance: after.balance,
        available: after.available,
        incoming: after.incoming,
    })
}

/// One account, as it stands, with what it has incoming.
///
/// # Errors
/// [`AdminError::NotFound`] for an unknown account.
pub async fn show_account<S: PostingStore>(
    store: &S,
    id: AccountId,
) -> Result<AccountView, AdminError> {
    let shown = store
        .balance(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("account {id} was not found")))?;
    Ok(AccountView::from(&shown))
}

/// Sets how credits reach an account (switching to `immediate` posts what waited first).
///
/// # Errors
/// [`AdminError::NotFound`] for an unknown account or a treasury.
pub async fn set_posting<S: PostingStore>(
    store: &S,
    args: SetPosting,
    now: OffsetDateTime,
) -> Result<AccountView, AdminError> {
    match store.set_posting(args.account, args.mode, now).await {
        Err(paygate_shared::StoreError::Account(paygate_shared::AccountError::NotFound(id))) => {
            return Err(AdminError::NotFound(format!(
                "account {id} was not found (treasuries have no posting mode)"
            )));
        }
        other => other?,
    };
    show_account(store, args.account).await
}

async fn read<S: AccountStore + ?Sized>(store: &S, id: AccountId) -> Result<Account, AdminError> {
    store
        .account(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("account {id} was not found")))
}

#[cfg(test)]
mod tests {
    use paygate_shared::{
        client::{ClientRecord, ClientStatus, SecretHash},
        money::Currency,
        store::memory::MemoryStore,
    };
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    async fn store_with_alice() -> MemoryStore {
        let store = MemoryStore::new();
        let alice = ClientRecord {
            client_id: "alice".parse().unwrap(),
            secret_hash: SecretHash::new("pgs_x", 1),
            scopes: vec!["payments:read".into()],
            status: ClientStatus::Active,
            operator: false,
            risk: None,
            created_at: NOW,
        };
        store.create_client(&alice).await.unwrap();
        store
    }

    fn open(owner: &str) -> CreateAccount {
        CreateAccount {
            owner: owner.parse().unwrap(),
            currency: Currency::CNY,
            per_payment_limit: Some(500),
            daily_limit: None,
        }
    }

    fn fund_args(account: AccountId, minor: Option<i64>, decimal: Option<&str>) -> Fund {
        Fund {
            account,
            amount: minor,
            amount_decimal: decimal.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn accounts_open_empty_for_known_clients_only() {
        let store = store_with_alice().await;
        let view = create_account(&store, open("alice"), NOW).await.unwrap();
        assert_eq!(
            (view.balance, view.available, view.currency, view.kind),
            (0, 0, "CNY", "customer")
        );
        assert_eq!(
            (view.per_payment_limit, view.daily_limit),
            (500, 50_000_000)
        );
        assert_eq!(show_account(&store, view.account_id).await.unwrap(), view);

        let bob = create_account(&store, open("bob"), NOW).await.err();
        assert!(matches!(bob, Some(AdminError::NotFound(_))), "{bob:?}");
        let system = create_account(&store, open("paygate-system"), NOW)
            .await
            .err();
        assert!(matches!(system, Some(AdminError::Invalid(_))), "{system:?}");
    }

    #[tokio::test]
    async fn funding_in_minor_or_decimal_units_reports_the_new_balance() {
        let store = store_with_alice().await;
        let id = create_account(&store, open("alice"), NOW)
            .await
            .unwrap()
            .account_id;
        let first = fund(&store, fund_args(id, Some(12_345), None), NOW)
            .await
            .unwrap();
        assert_eq!(
            (first.amount, first.balance, first.available),
            (12_345, 12_345, 12_345)
        );
        let second = fund(&store, fund_args(id, None, Some("0.55")), NOW)
            .await
            .unwrap();
        assert_eq!((second.amount, second.balance), (55, 12_400));
        assert_ne!(first.payment_id, second.payment_id);

        for (minor, decimal) in [(Some(0), None), (Some(-5), None), (None, Some("1.234"))] {
            let err = fund(&store, fund_args(id, minor, decimal), NOW).await.err();
            assert!(matches!(err, Some(AdminError::Invalid(_))), "{err:?}");
        }
        let unknown = fund(
            &store,
            fund_args(AccountId::generate(NOW), Some(1), None),
            NOW,
        )
        .await
        .err();
        assert!(
            matches!(unknown, Some(AdminError::NotFound(_))),
            "{unknown:?}"
        );
        assert_eq!(show_account(&store, id).await.unwrap().balance, 12_400);
    }

    #[tokio::test]
    async fn a_batched_account_shows_what_is_incoming_until_switched_back() {
        use paygate_shared::PostingMode;
        let store = store_with_alice().await;
        let id = create_account(&store, open("alice"), NOW)
            .await
            .unwrap()
            .account_id;
        let args = |mode| SetPosting { account: id, mode };
        let batched = set_posting(&store, args(PostingMode::Batched), NOW)
            .await
            .unwrap();
        assert_eq!((batched.posting, batched.incoming), ("batched", 0));
        fund(&store, fund_args(id, Some(300), None), NOW)
            .await
            .unwrap();
        let shown = show_account(&store, id).await.unwrap();
        assert_eq!((shown.balance, shown.incoming), (0, 300));
        let immediate = set_posting(&store, args(PostingMode::Immediate), NOW)
            .await
            .unwrap();
        assert_eq!(
            (immediate.posting, immediate.balance, immediate.incoming),
            ("immediate", 300, 0)
        );
        let missing = SetPosting {
            account: AccountId::generate(NOW),
            mode: PostingMode::Batched,
        };
        let err = set_posting(&store, missing, NOW).await.err();
        assert!(matches!(err, Some(AdminError::NotFound(_))), "{err:?}");
    }
}
