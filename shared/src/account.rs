//! Accounts: who owns them, what they hold, and the rules a hold must pass.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use ulid::Ulid;

use crate::{AccountId, ClientId, EntryId, Money, money::Currency, spelling::spelled};

spelled! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AccountStatus {
        Active => "active",
        Frozen => "frozen",
        Closed => "closed",
    }
}

spelled! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AccountKind {
        /// A client's account: never overdrawn, subject to limits.
        Customer => "customer",
        /// The per-currency system account that funding is posted from. Its balance is the
        /// negative of all money in circulation in that currency.
        Treasury => "treasury",
    }
}

spelled! {
    /// How credits reach an account's balance.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum PostingMode {
        /// Each credit moves the balance in the same write as its debit (the default).
        #[default]
        Immediate => "immediate",
        /// Credits wait as unposted credits and a poster applies them in batches, so that many
        /// payments into one busy account do not all rewrite its item
        /// ([`crate::unposted`]).
        Batched => "batched",
    }
}

/// The rules an account enforces on money moving out of or into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// Missing, or owned by someone else: the two are indistinguishable on purpose.
    #[error("account {0} was not found")]
    NotFound(AccountId),
    #[error("account {account} is {status}")]
    Inactive {
        account: AccountId,
        status: AccountStatus,
    },
    #[error(
        "account {account} holds {account_currency}, not {payment_currency}",
        account_currency = account_currency.code(),
        payment_currency = payment_currency.code()
    )]
    CurrencyMismatch {
        account: AccountId,
        account_currency: Currency,
        payment_currency: Currency,
    },
    #[error("account {account} has {available} available, {requested} requested")]
    InsufficientFunds {
        account: AccountId,
        available: i64,
        requested: i64,
    },
    #[error("account {account} accepts payments of at most {limit}, {requested} requested")]
    PerPaymentLimitExceeded {
        account: AccountId,
        limit: i64,
        requested: i64,
    },
    #[error("account {account} has {remaining} of its daily outflow left, {requested} requested")]
    DailyLimitExceeded {
        account: AccountId,
        remaining: i64,
        requested: i64,
    },
}

/// Risk limits on money leaving an account, in its currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLimits {
    /// The largest single payment.
    pub per_payment: i64,
    /// The most that may be held or paid out per UTC day.
    pub daily_outflow: i64,
}

/// How much of the daily outflow limit is left on a given UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyOutflow {
    pub day: Date,
    pub remaining: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub owner: ClientId,
    pub kind: AccountKind,
    pub currency: Currency,
    pub status: AccountStatus,
    /// Posted balance: the sum of the account's ledger entries.
    pub balance: i64,
    /// `balance` minus the funds held by pending payments.
    pub available: i64,
    pub limits: AccountLimits,
    /// Today's remaining outflow, once anything has gone out today.
    pub outflow: Option<DailyOutflow>,
    /// The newest ledger entry: the next entry's id must sort after it, and captures use it as
    /// the optimistic-concurrency token that makes `balance_after` exact.
    pub ledger_head: Option<EntryId>,
    /// Whether credits post at once or in batches. Debits are always immediate.
    #[serde(default)]
    pub posting: PostingMode,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl Account {
    /// A new, empty, active customer account.
    pub fn open(
        id: AccountId,
        owner: ClientId,
        currency: Currency,
        limits: AccountLimits,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            owner,
            kind: AccountKind::Customer,
            currency,
            status: AccountStatus::Active,
            balance: 0,
            available: 0,
            limits,
            outflow: None,
            ledger_head: None,
            posting: PostingMode::Immediate,
            created_at: now,
        }
    }

    /// The treasury account of `currency`, as it is before any funding.
    pub fn treasury(currency: Currency, now: OffsetDateTime) -> Self {
        let unlimited = AccountLimits {
            per_payment: i64::MAX,
            daily_outflow: i64::MAX,
        };
        let id = Self::treasury_id(currency);
        Self {
            kind: AccountKind::Treasury,
            ..Self::open(id, ClientId::system(), currency, unlimited, now)
        }
    }

    /// Treasury ids are fixed per currency (the ULID is the ISO 4217 numeric code), so every
    /// process finds the same treasury without a lookup.
    pub fn treasury_id(currency: Currency) -> AccountId {
        AccountId::from_ulid(Ulid::from_parts(0, u128::from(currency.numeric())))
    }

    pub fn balance_money(&self) -> Money {
        Money::new(self.balance, self.currency)
    }

    pub fn available_money(&self) -> Money {
        Money::new(self.available, self.currency)
    }

    /// What is left of the daily outflow limit on `day`.
    pub fn outflow_remaining(&self, day: Date) -> i64 {
        match self.outflow {
            Some(outflow) if outflow.day == day => outflow.remaining,
            _ => self.limits.daily_outflow,
        }
    }

    /// Checks that `client` may hold `amount` on this account on `day`. The DynamoDB adapter
    /// expresses the same rules as condition expressions and calls this to explain a failure.
    ///
    /// # Errors
    /// The first rule broken, in the order a client would want to hear them.
    pub fn check_hold(
        &self,
        client: &ClientId,
        amount: Money,
        day: Date,
    ) -> Result<(), AccountError> {
        if self.owner != *client || self.kind != AccountKind::Customer {
            return Err(AccountError::NotFound(self.id));
        }
        self.check_usable(amount.currency)?;
        if amount.amount > self.limits.per_payment {
            return Err(AccountError::PerPaymentLimitExceeded {
                account: self.id,
                limit: self.limits.per_payment,
                requested: amount.amount,
            });
        }
        if amount.amount > self.available {
            return Err(AccountError::InsufficientFunds {
                account: self.id,
                available: self.available,
                requested: amount.amount,
            });
        }
        let remaining = self.outflow_remaining(day);
        if amount.amount > remaining {
            return Err(AccountError::DailyLimitExceeded {
                account: self.id,
                remaining,
                requested: amount.amount,
            });
        }
        Ok(())
    }

    /// Checks that this account, the source of a payment `client` makes, is the client's and
    /// usable in `currency`: what a declined payment (which holds nothing) is still held to.
    ///
    /// # Errors
    /// Not found (another owner, or a treasury), inactive, or currency mismatch.
    pub fn check_party(&self, client: &ClientId, currency: Currency) -> Result<(), AccountError> {
        if self.owner != *client {
            return Err(AccountError::NotFound(self.id));
        }
        self.check_receive(currency)
    }

    /// Checks that this account, the destination of a payment to `payee`, belongs to `payee`
    /// and can receive a payment in `currency`.
    ///
    /// # Errors
    /// Not found (another owner, or a treasury), inactive, or currency mismatch.
    pub fn check_payee(&self, payee: &ClientId, currency: Currency) -> Result<(), AccountError> {
        if self.owner != *payee {
            return Err(AccountError::NotFound(self.id));
        }
        self.check_receive(currency)
    }

    /// Checks that this account, a payee's, can pay `amount` back: a refund draws on
    /// `available` (money not held elsewhere), and is not subject to the outflow limits, which
    /// govern payments a client starts, not money it returns.
    ///
    /// # Errors
    /// Not found (a treasury), inactive, currency mismatch, or insufficient funds.
    pub fn check_refund(&self, amount: Money) -> Result<(), AccountError> {
        self.check_receive(amount.currency)?;
        if amount.amount > self.available {
            return Err(AccountError::InsufficientFunds {
                account: self.id,
                available: self.available,
                requested: amount.amount,
            });
        }
        Ok(())
    }

    /// Checks that this account can receive a payment in `currency`.
    ///
    /// # Errors
    /// Not found (treasuries take no payments), inactive, or currency mismatch.
    pub fn check_receive(&self, currency: Currency) -> Result<(), AccountError> {
        if self.kind != AccountKind::Customer {
            return Err(AccountError::NotFound(self.id));
        }
        self.check_usable(currency)
    }

    fn check_usable(&self, currency: Currency) -> Result<(), AccountError> {
        if self.status != AccountStatus::Active {
            return Err(AccountError::Inactive {
                account: self.id,
                status: self.status,
            });
        }
        if self.currency != currency {
            return Err(AccountError::CurrencyMismatch {
                account: self.id,
                account_currency: self.currency,
                payment_currency: currency,
            });
        }
        Ok(())
    }

    /// Places a hold of `amount` (already checked) on `day`.
    pub(crate) fn apply_hold(&mut self, amount: i64, day: Date) {
        self.available -= amount;
        let remaining = self.outflow_remaining(day) - amount;
        self.outflow = Some(DailyOutflow { day, remaining });
    }

    /// Releases a hold placed on `hold_day`; the outflow budget comes back only on that same day.
    pub(crate) fn apply_release(&mut self, amount: i64, hold_day: Date, today: Date) {
        self.available += amount;
        if let Some(outflow) = self
            .outflow
            .as_mut()
            .filter(|o| o.day == hold_day && hold_day == today)
        {
            outflow.remaining += amount;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn account(available: i64) -> Account {
        let now = datetime!(2026-11-22 10:00 UTC);
        let limits = AccountLimits {
            per_payment: 500,
            daily_outflow: 800,
        };
        let mut a = Account::open(
            AccountId::generate(now),
            "alice".parse().unwrap(),
            Currency::CNY,
            limits,
            now,
        );
        a.balance = available;
        a.available = available;
        a
    }

    #[test]
    fn hold_rules_report_the_broken_rule() {
        let day = date!(2026 - 11 - 22);
        let a = account(1_000);
        let alice: ClientId = "alice".parse().unwrap();
        let cny = |n| Money::new(n, Currency::CNY);
        assert_eq!(a.check_hold(&alice, cny(500), day), Ok(()));
        assert!(matches!(
            a.check_hold(&"mallory".parse().unwrap(), cny(1), day),
            Err(AccountError::NotFound(_))
        ));
        assert!(matches!(
            a.check_hold(&alice, Money::new(1, Currency::USD), day),
            Err(AccountError::CurrencyMismatch { .. })
        ));
        assert!(matches!(
            a.check_hold(&alice, cny(501), day),
            Err(AccountError::PerPaymentLimitExceeded { limit: 500, .. })
        ));
        assert!(matches!(
            account(100).check_hold(&alice, cny(101), day),
            Err(AccountError::InsufficientFunds {
                available: 100,
                requested: 101,
                ..
            })
        ));
        let mut spent = a.clone();
        spent.apply_hold(500, day);
        assert!(matches!(
            spent.check_hold(&alice, cny(301), day),
            Err(AccountError::DailyLimitExceeded { remaining: 300, .. })
        ));
        assert_eq!(
            spent.check_hold(&alice, cny(301), date!(2026 - 11 - 23)),
            Ok(())
        );
        let mut frozen = a;
        frozen.status = AccountStatus::Frozen;
        assert!(matches!(
            frozen.check_hold(&alice, cny(1), day),
            Err(AccountError::Inactive {
                status: AccountStatus::Frozen,
                ..
            })
        ));
    }

    #[test]
    fn release_restores_the_budget_only_on_the_hold_day() {
        let day = date!(2026 - 11 - 22);
        let mut a = account(1_000);
        a.apply_hold(300, day);
        a.apply_release(300, day, day);
        assert_eq!((a.available, a.outflow_remaining(day)), (1_000, 800));
        a.apply_hold(300, day);
        a.apply_release(300, day, date!(2026 - 11 - 23));
        assert_eq!((a.available, a.outflow_remaining(day)), (1_000, 500));
    }

    #[test]
    fn treasury_ids_are_fixed_per_currency() {
        let now = datetime!(2026-11-22 10:00 UTC);
        assert_eq!(
            Account::treasury_id(Currency::CNY),
            Account::treasury(Currency::CNY, now).id
        );
        assert_ne!(
            Account::treasury_id(Currency::CNY),
            Account::treasury_id(Currency::USD)
        );
        assert_eq!(
            Account::treasury_id(Currency::CNY).to_string(),
            "acc_0000000000000000000000004W"
        );
    }
}
