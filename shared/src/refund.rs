//! Refunds: money a payee gives back on a captured payment, in one or several parts, never more
//! in total than was captured. Each refund posts one debit of the payee's (destination) account
//! and one credit of the payer's source account, atomically with the payment's refunded total.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Money, PaymentId, RefundId, spelling::spelled};

spelled! {
    /// Why the payee gives the money back (optional, informative).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RefundReason {
        RequestedByCustomer => "requested_by_customer",
        Duplicate => "duplicate",
        Fraudulent => "fraudulent",
    }
}

spelled! {
    /// A refund is written only once it has posted: it is born succeeded.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RefundStatus {
        Succeeded => "succeeded",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub payment_id: PaymentId,
    /// Positive, in the payment's currency.
    pub amount: Money,
    pub reason: Option<RefundReason>,
    pub status: RefundStatus,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    pub created_at: OffsetDateTime,
}

impl Refund {
    /// A refund of `amount` of payment `payment_id`, with a fresh id, as it will be written.
    pub fn new(
        payment_id: PaymentId,
        amount: Money,
        reason: Option<RefundReason>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: RefundId::generate(now),
            payment_id,
            amount,
            reason,
            status: RefundStatus::Succeeded,
            created_at: now,
        }
    }
}
