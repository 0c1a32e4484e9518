//! `create-account`, `fund` and `show-account`: customer accounts and the money put into them.
//! Amounts are integer minor units throughout; `--amount-decimal` is parsed exactly, in the
//! account's own currency.

use paygate_shared::{
    Account, AccountId, AccountLimits, ClientId, Money, PaymentId,
    config::PaymentSettings,
    store::{AccountStore, ClientStore, LedgerStore},
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{
    AdminError,
    cli::{CreateAccount, Fund},
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
    pub per_payment_limit: i64,
    pub daily_limit: i64,
    #[serde(with = "paygate_shared::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            account_id: a.id,
            owner: a.owner.clone(),
            kind: a.kind.as_str(),
            currency: a.currency.code(),
            status: a.status.as_str(),
            balance: a.balance,
            available: a.available,
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
pub async fn fund<S: AccountStore + LedgerStore>(
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
    let after = read(store, account.id).await?;
    Ok(Funded {
        payment_id: payment.id,
        account_id: after.id,
        amount: amount.amount,
        currency: amount.currency.code(),
        balance: after.balance,
        available: after.available,
    })
}

/// One account, as it stands.
///
/// # Errors
/// [`AdminError::NotFound`] for an unknown account.
pub async fn show_account(
    store: &dyn AccountStore,
    id: AccountId,
) -> Result<AccountView, AdminError> {
    Ok(AccountView::from(&read(store, id).await?))
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
}
