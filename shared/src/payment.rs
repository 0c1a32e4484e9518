//! Payments: a state machine that holds funds while `pending`, then ends exactly once as
//! `succeeded` (captured, possibly for less than was held), `canceled` or `expired` (hold
//! released). A succeeded payment can then be refunded, in parts, up to what was captured.
//! Status and amounts change only through the transition methods, which reject every illegal
//! move.
//!
//! A payment has two parties: the **payer** (`client_id`, owner of the source account), who may
//! confirm or cancel it, and the **payee** (owner of the destination account), who may refund
//! it. Both may read it.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{
    AccountId, ClientId, Money, MoneyError, PaymentId,
    risk::{Decision, RiskAssessment},
    spelling::spelled,
};

mod error;
mod party;

pub use error::PaymentError;
pub use party::Party;

spelled! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PaymentStatus {
        /// Funds are held on the source account.
        Pending => "pending",
        /// Captured: the ledger has a debit and a credit for it.
        Succeeded => "succeeded",
        /// Released by the payer.
        Canceled => "canceled",
        /// Released because it was not confirmed in time.
        Expired => "expired",
        /// Held like a pending payment, waiting for an operator's review (risk control): it
        /// cannot be confirmed until approved, and expires like a pending one.
        RequiresReview => "requires_review",
        /// Refused by risk control, at creation (nothing was held) or by a review (the hold
        /// was released). Kept for audit.
        Declined => "declined",
    }
}

spelled! {
    /// An operator's decision on a payment in review.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ReviewDecision {
        Approve => "approve",
        Decline => "decline",
    }
}

/// The review a payment received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub decision: ReviewDecision,
    pub note: Option<String>,
    /// The operator client that decided.
    pub reviewer: ClientId,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub reviewed_at: OffsetDateTime,
}

spelled! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PaymentKind {
        /// Between two customer accounts.
        Transfer => "transfer",
        /// From the treasury into a customer account: how money enters the system.
        Funding => "funding",
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
    /// The owner of `destination`, as the caller resolved it; the store verifies it atomically.
    pub payee: ClientId,
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
    /// The payer: the client that created it, owner of the source account.
    pub client_id: ClientId,
    /// The owner of the destination account. Fundings, and payments stored before payees were
    /// recorded, have the system as payee: no client can act as their payee.
    pub payee: ClientId,
    pub source: AccountId,
    pub destination: AccountId,
    /// The amount held (for a one-step payment or a funding, also the amount captured).
    pub amount: Money,
    /// Minor units captured: 0 until captured, then 1 to `amount`.
    pub amount_captured: i64,
    /// Minor units refunded so far: 0 to `amount_captured`.
    pub amount_refunded: i64,
    pub description: Option<String>,
    status: PaymentStatus,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
    /// When a pending payment stops being capturable.
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub updated_at: OffsetDateTime,
    /// What risk control decided when it was created.
    pub risk: RiskAssessment,
    /// Created with `confirm: true` and sent to review: an approval captures it at once.
    pub capture_on_approval: bool,
    /// The operator's review, once there was one.
    pub review: Option<ReviewOutcome>,
}

impl Payment {
    /// Longest accepted payment description, in characters.
    pub const MAX_DESCRIPTION_CHARS: usize = 500;

    /// A pending payment that expires `ttl` after `now`.
    ///
    /// # Errors
    /// [`PaymentError::SameAccount`] when source and destination are one account.
    pub fn pending(
        new: NewPayment,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<Self, PaymentError> {
        if new.source == new.destination {
            return Err(PaymentError::SameAccount(new.source));
        }
        Ok(Self {
            id: PaymentId::generate(now),
            kind: PaymentKind::Transfer,
            client_id: new.client_id,
            payee: new.payee,
            source: new.source,
            destination: new.destination,
            amount: new.amount,
            amount_captured: 0,
            amount_refunded: 0,
            description: new.description,
            status: PaymentStatus::Pending,
            created_at: now,
            expires_at: now + ttl,
            updated_at: now,
            risk: RiskAssessment::allowed(),
            capture_on_approval: false,
            review: None,
        })
    }

    /// This new pending payment as risk control `assessed` it: still pending (or, with
    /// `confirm`, captured at once) when allowed, `requires_review` (held, captured on approval
    /// if `confirm`) or `declined` (nothing held; it never expires).
    ///
    /// # Errors
    /// [`PaymentError::NotPending`] unless this is a new pending payment.
    pub fn assessed(
        self,
        risk: RiskAssessment,
        confirm: bool,
        now: OffsetDateTime,
    ) -> Result<Self, PaymentError> {
        self.ensure_pending()?;
        let decision = risk.decision;
        let assessed = Self { risk, ..self };
        Ok(match decision {
            Decision::Allow if confirm => assessed.capture(assessed.amount, now)?,
            Decision::Allow => assessed,
            Decision::Review => Self {
                status: PaymentStatus::RequiresReview,
                capture_on_approval: confirm,
                ..assessed
            },
            Decision::Decline => Self {
                status: PaymentStatus::Declined,
                expires_at: assessed.created_at,
                ..assessed
            },
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
            // A funding is the system's business: no client may refund it.
            payee: ClientId::system(),
            source: treasury,
            destination,
            amount,
            amount_captured: amount.amount,
            amount_refunded: 0,
            description: None,
            status: PaymentStatus::Succeeded,
            created_at: now,
            expires_at: now,
            updated_at: now,
            risk: RiskAssessment::allowed(),
            capture_on_approval: false,
            review: None,
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
        payee: ClientId,
        source: AccountId,
        destination: AccountId,
        amount: Money,
        amount_captured: i64,
        amount_refunded: i64,
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
            payee,
            source,
            destination,
            amount,
            amount_captured,
            amount_refunded,
            description,
            status,
            created_at,
            expires_at,
            updated_at,
            risk: RiskAssessment::allowed(),
            capture_on_approval: false,
            review: None,
        }
    }

    pub const fn status(&self) -> PaymentStatus {
        self.status
    }

    /// Whether its funds are held on the source: pending, or in review.
    pub fn holds_funds(&self) -> bool {
        matches!(
            self.status,
            PaymentStatus::Pending | PaymentStatus::RequiresReview
        )
    }

    /// A hold (pending or in review) whose confirmation window has closed.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.holds_funds() && now >= self.expires_at
    }

    /// requires_review → pending, by an operator's approval (then captured whole at once when
    /// it was created with `confirm: true`); or requires_review → declined, its hold released.
    ///
    /// # Errors
    /// [`PaymentError::NotInReview`] unless in review; [`PaymentError::Expired`] once its window
    /// has closed (the hold must then be released).
    pub fn reviewed(
        &self,
        outcome: ReviewOutcome,
        now: OffsetDateTime,
    ) -> Result<Self, PaymentError> {
        if self.status != PaymentStatus::RequiresReview {
            return Err(PaymentError::NotInReview(Box::new(self.clone())));
        }
        if self.is_overdue(now) {
            return Err(PaymentError::Expired(self.id));
        }
        let decision = outcome.decision;
        let reviewed = Self {
            review: Some(outcome),
            ..self.moved_to(PaymentStatus::Pending, now)
        };
        match decision {
            ReviewDecision::Approve if self.capture_on_approval => {
                reviewed.capture(self.amount, now)
            }
            ReviewDecision::Approve => Ok(reviewed),
            ReviewDecision::Decline => Ok(reviewed.moved_to(PaymentStatus::Declined, now)),
        }
    }

    /// The amount captured, as money.
    pub fn captured_money(&self) -> Money {
        Money::new(self.amount_captured, self.amount.currency)
    }

    /// What is left to refund, in minor units: 0 unless succeeded.
    pub fn refundable(&self) -> i64 {
        match self.status {
            PaymentStatus::Succeeded => self.amount_captured - self.amount_refunded,
            _ => 0,
        }
    }

    /// pending → succeeded, capturing `amount` (1 to the held amount); the rest of the hold
    /// is released with it.
    ///
    /// # Errors
    /// [`PaymentError::NotPending`] from any state but pending, [`PaymentError::Expired`] once
    /// the window has closed (the hold must then be released), [`PaymentError::InvalidAmount`]
    /// for a non-positive amount or another currency, [`PaymentError::CaptureExceedsHold`]
    /// above the held amount.
    pub fn capture(&self, amount: Money, now: OffsetDateTime) -> Result<Self, PaymentError> {
        self.ensure_pending()?;
        if self.is_overdue(now) {
            return Err(PaymentError::Expired(self.id));
        }
        self.check_amount(amount)?;
        if amount.amount > self.amount.amount {
            return Err(PaymentError::CaptureExceedsHold {
                id: self.id,
                held: self.amount,
            });
        }
        Ok(Self {
            amount_captured: amount.amount,
            ..self.moved_to(PaymentStatus::Succeeded, now)
        })
    }

    /// The payment once `amount` more of it is refunded.
    ///
    /// # Errors
    /// [`PaymentError::NotCaptured`] unless succeeded, [`PaymentError::InvalidAmount`] for a
    /// non-positive amount or another currency, [`PaymentError::RefundExceedsPayment`] (with
    /// what is left) above [`Payment::refundable`].
    pub fn refund(&self, amount: Money, now: OffsetDateTime) -> Result<Self, PaymentError> {
        if self.status != PaymentStatus::Succeeded {
            return Err(PaymentError::NotCaptured(self.id));
        }
        self.check_amount(amount)?;
        let left = self.refundable();
        if amount.amount > left {
            return Err(PaymentError::RefundExceedsPayment {
                id: self.id,
                left: Money::new(left, self.amount.currency),
            });
        }
        Ok(Self {
            amount_refunded: self.amount_refunded + amount.amount,
            updated_at: now,
            ..self.clone()
        })
    }

    fn check_amount(&self, amount: Money) -> Result<(), PaymentError> {
        if amount.currency != self.amount.currency {
            return Err(PaymentError::InvalidAmount(MoneyError::CurrencyMismatch {
                expected: self.amount.currency,
                actual: amount.currency,
            }));
        }
        if amount.amount <= 0 {
            return Err(PaymentError::InvalidAmount(MoneyError::NotPositive));
        }
        Ok(())
    }

    /// pending or requires_review → canceled (its payer withdrew it), or → expired once
    /// overdue.
    ///
    /// # Errors
    /// [`PaymentError::NotPending`] when already final; expiring a payment that is not yet
    /// overdue is refused with the same error, since nothing about it may change yet.
    pub fn release(
        &self,
        reason: ReleaseReason,
        now: OffsetDateTime,
    ) -> Result<Self, PaymentError> {
        if !self.holds_funds() {
            return Err(PaymentError::NotPending(Box::new(self.clone())));
        }
        match reason {
            ReleaseReason::Canceled => Ok(self.moved_to(PaymentStatus::Canceled, now)),
            ReleaseReason::Expired if self.is_overdue(now) => {
                Ok(self.moved_to(PaymentStatus::Expired, now))
            }
            ReleaseReason::Expired => Err(PaymentError::NotPending(Box::new(self.clone()))),
        }
    }

    fn ensure_pending(&self) -> Result<(), PaymentError> {
        if self.status == PaymentStatus::Pending {
            Ok(())
        } else {
            Err(PaymentError::NotPending(Box::new(self.clone())))
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
#[path = "payment_tests.rs"]
mod tests;
