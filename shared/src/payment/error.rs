//! What a payment's rules refuse: each variant is one rule, answered by one problem.

use crate::{AccountId, Money, MoneyError, PaymentId};

use super::Payment;

/// The rules of a payment's life: who it may pay, and which moves its state allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// Missing, or created by someone else: the two are indistinguishable on purpose.
    #[error("payment {0} was not found")]
    NotFound(PaymentId),
    #[error("the source and destination are the same account {0}")]
    SameAccount(AccountId),
    /// The payment has already reached a final state (carried, so a retried confirm can answer
    /// with the payment as it stands).
    #[error("payment {} is {}, not pending", .0.id, .0.status())]
    NotPending(Box<Payment>),
    /// Reviewed when it is not in review (already decided, or never sent to review): a second
    /// decision is refused, whatever it is; the payment as it stands is carried for the log.
    #[error("payment {} is {}, not in review", .0.id, .0.status())]
    NotInReview(Box<Payment>),
    /// Confirmed after its window closed: the hold has been released.
    #[error("payment {0} expired before it was confirmed")]
    Expired(PaymentId),
    /// The caller is the payee, but only the payer may do this (confirm, cancel).
    #[error("only the payer of payment {0} can do this")]
    NotPayer(PaymentId),
    /// The caller is the payer, but only the payee may do this (refund).
    #[error("only the payee of payment {0} can do this")]
    NotPayee(PaymentId),
    /// Refunded before it was captured (or after it was canceled or expired).
    #[error("payment {0} has not been captured")]
    NotCaptured(PaymentId),
    #[error(
        "the refund exceeds what is left to refund of payment {id}: {left} {currency} minor units",
        left = .left.amount,
        currency = .left.currency.code()
    )]
    RefundExceedsPayment { id: PaymentId, left: Money },
    #[error(
        "the capture exceeds what payment {id} holds: {held} {currency} minor units",
        held = .held.amount,
        currency = .held.currency.code()
    )]
    CaptureExceedsHold { id: PaymentId, held: Money },
    /// A capture or refund amount that is not positive or not in the payment's currency.
    #[error("{0}")]
    InvalidAmount(MoneyError),
}
