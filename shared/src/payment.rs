//! Payments: a state machine that holds funds while `pending`, then ends exactly once as
//! `succeeded` (captured), `canceled` or `expired` (hold released). Status changes only through
//! the transition methods, which reject every illegal move.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{AccountId, ClientId, Money, PaymentId, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Funds are held on the source account.
    Pending,
    /// Captured: the ledger has a debit and a credit for it.
    Succeeded,
    /// Released by the payer.
    Canceled,
    /// Released because it was not confirmed in time.
    Expired,
}

impl PaymentStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Succeeded,
            Self::Canceled,
            Self::Expired,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Between two customer accounts.
    Transfer,
    /// From the treasury into a customer account: how money enters the system.
    Funding,
}

impl PaymentKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::Funding => "funding",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Transfer, Self::Funding]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Why a hold is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseReason {
    Canceled,
    Expired,
}

/// What a client asks for; validated into a pending [`Payment`].
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub client_id: ClientId,
    pub source: AccountId,
    pub destination: AccountId,
    /// Already validated against the [`crate::AmountPolicy`].
    pub amount: Money,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub kind: PaymentKind,
    /// The client that created it: the owner of the source account.
    pub client_id: ClientId,
    pub source: AccountId,
    pub destination: AccountId,
    pub amount: Money,
    pub description: Option<String>,
    status: PaymentStatus,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
    /// When a pending payment stops being capturable.
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub updated_at: OffsetDateTime,
}

impl Payment {
    /// Longest accepted payment description, in characters.
    pub const MAX_DESCRIPTION_CHARS: usize = 500;

    /// A pending payment that expires `ttl` after `now`.
    ///
    /// # Errors
    /// [`StoreError::SameAccount`] when source and destination are one account.
    pub fn pending(
        new: NewPayment,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<Self, StoreError> {
        if new.source == new.destination {
            return Err(StoreError::SameAccount(new.source));
        }
        Ok(Self {
            id: PaymentId::generate(now),
            kind: PaymentKind::Transfer,
            client_id: new.client_id,
            source: new.source,
            destination: new.destination,
            amount: new.amount,
            description: new.description,
            status: PaymentStatus::Pending,
            created_at: now,
            expires_at: now + ttl,
            updated_at: now,
        })
    }

    /// A funding of `destination` from its currency's treasury, already captured.
    pub fn funding(
        treasury: AccountId,
        destination: AccountId,
        amount: Money,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: PaymentId::generate(now),
            kind: PaymentKind::Funding,
            client_id: ClientId::system(),
            source: treasury,
            destination,
            amount,
            description: None,
            status: PaymentStatus::Succeeded,
            created_at: now,
            expires_at: now,
            updated_at: now,
        }
    }

    /// Rebuilds a stored payment. Only adapters call this: everyone else moves a payment through
    /// the transition methods.
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
    pub(crate) fn restore(
        id: PaymentId,
        kind: PaymentKind,
        client_id: ClientId,
        source: AccountId,
        destination: AccountId,
        amount: Money,
        description: Option<String>,
        status: PaymentStatus,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            kind,
            client_id,
            source,
            destination,
            amount,
            description,
            status,
            created_at,
            expires_at,
            updated_at,
        }
    }

    pub const fn status(&self) -> PaymentStatus {
        self.status
    }

    /// A pending payment whose confirmation window has closed.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.status == PaymentStatus::Pending && now >= self.expires_at
    }

    /// pending → succeeded.
    ///
    /// # Errors
    /// [`StoreError::PaymentExpired`] once the window has closed (the hold must then be
    /// released), [`StoreError::PaymentNotPending`] from any other state.
    pub fn capture(&self, now: OffsetDateTime) -> Result<Self, StoreError> {
        self.ensure_pending()?;
        if self.is_overdue(now) {
            return Err(StoreError::PaymentExpired(self.id));
        }
        Ok(self.moved_to(PaymentStatus::Succeeded, now))
    }

    /// pending → canceled, or pending (overdue) → expired.
    ///
    /// # Errors
    /// [`StoreError::PaymentNotPending`] when already final; expiring a payment that is not yet
    /// overdue is refused with the same error, since nothing about it may change yet.
    pub fn release(&self, reason: ReleaseReason, now: OffsetDateTime) -> Result<Self, StoreError> {
        self.ensure_pending()?;
        match reason {
            ReleaseReason::Canceled => Ok(self.moved_to(PaymentStatus::Canceled, now)),
            ReleaseReason::Expired if self.is_overdue(now) => {
                Ok(self.moved_to(PaymentStatus::Expired, now))
            }
            ReleaseReason::Expired => Err(StoreError::PaymentNotPending(Box::new(self.clone()))),
        }
    }

    fn ensure_pending(&self) -> Result<(), StoreError> {
        if self.status == PaymentStatus::Pending {
            Ok(())
        } else {
            Err(StoreError::PaymentNotPending(Box::new(self.clone())))
        }
    }

    fn moved_to(&self, status: PaymentStatus, now: OffsetDateTime) -> Self {
        Self {
            status,
            updated_at: now,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use time::macros::datetime;

    fn pending(now: OffsetDateTime) -> Payment {
        let new = NewPayment {
            client_id: "alice".parse().unwrap(),
            source: AccountId::generate(now),
            destination: AccountId::generate(now),
            amount: Money::new(100, Currency::CNY),
            description: None,
        };
        Payment::pending(new, now, Duration::minutes(15)).unwrap()
    }

    #[test]
    fn pending_payments_capture_or_release_exactly_once() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let p = pending(now);
        let captured = p.capture(now + Duration::minutes(1)).unwrap();
        assert_eq!(captured.status(), PaymentStatus::Succeeded);
        assert!(matches!(
            captured.capture(now),
            Err(StoreError::PaymentNotPending(_))
        ));
        assert!(matches!(
            captured.release(ReleaseReason::Canceled, now),
            Err(StoreError::PaymentNotPending(_))
        ));
        let canceled = p.release(ReleaseReason::Canceled, now).unwrap();
        assert_eq!(canceled.status(), PaymentStatus::Canceled);
        assert!(matches!(
            canceled.capture(now),
            Err(StoreError::PaymentNotPending(_))
        ));
    }

    #[test]
    fn expiry_closes_the_capture_window() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let p = pending(now);
        let late = now + Duration::minutes(15);
        assert!(matches!(
            p.capture(late),
            Err(StoreError::PaymentExpired(_))
        ));
        assert!(
            p.release(ReleaseReason::Expired, now + Duration::minutes(14))
                .is_err()
        );
        assert_eq!(
            p.release(ReleaseReason::Expired, late).unwrap().status(),
            PaymentStatus::Expired
        );
    }

    #[test]
    fn a_payment_cannot_pay_its_own_source() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let account = AccountId::generate(now);
        let new = NewPayment {
            client_id: "alice".parse().unwrap(),
            source: account,
            destination: account,
            amount: Money::new(1, Currency::CNY),
            description: None,
        };
        assert!(matches!(
            Payment::pending(new, now, Duration::minutes(15)),
            Err(StoreError::SameAccount(_))
        ));
    }
}
