//! Explaining a cancelled transaction. DynamoDB only says which conditions failed; the old
//! items it returns with them are run through the same domain checks the in-memory store uses
//! (`Account::check_hold`, `Payment::capture`, …), which names the precise domain error. A
//! failed condition that no check explains was a lost race, worth another attempt.

use time::Date;

use super::{
    items::{account_from, idempotency_from, payment_from},
    retry::Verdict,
    tx::{OldItem, Reason, Reasons, Role},
};
use crate::{
    Account, AccountError, AccountId, IdempotencyError, IdempotencyRecord, Payment, PaymentError,
    PaymentId, StoreError,
    store::{PaymentOutcome, RefundOutcome},
};

/// An operation's outcome when its idempotency key was used before with the same request.
pub(crate) trait Replayed {
    fn replayed(first: IdempotencyRecord) -> Self;
}

impl Replayed for PaymentOutcome {
    fn replayed(first: IdempotencyRecord) -> Self {
        Self::Replayed(first)
    }
}

impl Replayed for RefundOutcome {
    fn replayed(first: IdempotencyRecord) -> Self {
        Self::Replayed(first)
    }
}

/// What the idempotency record's reason says, if anything: a replay, a reused key, or a key
/// whose first request is being written this very moment.
pub(crate) fn record<T: Replayed>(
    reasons: &Reasons,
    record: &IdempotencyRecord,
) -> Option<Verdict<T>> {
    if let Some(old) = reasons.condition_failed(Role::IdempotencyRecord) {
        return Some(idempotency(old, record));
    }
    matches!(reasons.get(Role::IdempotencyRecord), Some(Reason::Conflict))
        .then_some(Verdict::Done(Err(IdempotencyError::KeyInFlight.into())))
}

/// Explains a failed idempotency condition: a replay, or a reused key.
pub(crate) fn idempotency<T: Replayed>(old: &OldItem, record: &IdempotencyRecord) -> Verdict<T> {
    let OldItem::Existing(old) = old else {
        // The condition cannot fail on a missing record; if reported so, the next attempt decides.
        return Verdict::Retry;
    };
    match idempotency_from(old) {
        Ok(previous) => previous_request(previous, record),
        Err(e) => Verdict::Done(Err(e)),
    }
}

/// A live record of the same key: the same request again (answered as before), or the key
/// reused for another request.
pub(crate) fn previous_request<T: Replayed>(
    previous: IdempotencyRecord,
    record: &IdempotencyRecord,
) -> Verdict<T> {
    if previous.matches(&record.fingerprint) {
        Verdict::Done(Ok(T::replayed(previous)))
    } else {
        Verdict::Done(Err(IdempotencyError::KeyReused.into()))
    }
}

/// Explains failed conditions on a payment's source and destination: the first rule the stored
/// accounts break, if any (else the failure was a lost race).
pub(crate) fn parties(reasons: &Reasons, payment: &Payment, today: Date) -> Option<StoreError> {
    let source = reasons.condition_failed(Role::Source).and_then(|old| {
        let check = |a: &Account| a.check_hold(&payment.client_id, payment.amount, today);
        account(old, payment.source, check)
    });
    source.or_else(|| {
        reasons.condition_failed(Role::Destination).and_then(|old| {
            let check = |a: &Account| a.check_payee(&payment.payee, payment.amount.currency);
            account(old, payment.destination, check)
        })
    })
}

/// Explains a failed account condition with the domain's own `check`.
pub(crate) fn account<E: Into<StoreError>>(
    old: &OldItem,
    id: AccountId,
    check: impl FnOnce(&Account) -> Result<(), E>,
) -> Option<StoreError> {
    let OldItem::Existing(old) = old else {
        return Some(AccountError::NotFound(id).into());
    };
    match account_from(old) {
        Ok(account) => check(&account).err().map(Into::into),
        Err(e) => Some(e),
    }
}

/// Explains a failed payment condition by replaying the `transition` on the stored state.
pub(crate) fn payment<T>(
    reasons: &Reasons,
    id: PaymentId,
    transition: impl FnOnce(&Payment) -> Result<T, PaymentError>,
) -> Option<StoreError> {
    match reasons.condition_failed(Role::Payment)? {
        OldItem::Missing => Some(PaymentError::NotFound(id).into()),
        OldItem::Existing(old) => match payment_from(old) {
            Ok(current) => transition(&current).err().map(Into::into),
            Err(e) => Some(e),
        },
    }
}

/// What remains once no reason explained itself as a domain error: infrastructure trouble, or
/// (`None`) a lost race worth another attempt.
pub(crate) fn residual(reasons: &Reasons) -> Option<StoreError> {
    reasons.iter().find_map(|reason| match reason {
        Reason::Throttled(code) => Some(StoreError::unavailable(code.clone())),
        Reason::Other(message) => Some(StoreError::internal(message.clone())),
        _ => None,
    })
}

/// The verdict of an attempt whose reasons explained no domain error.
pub(crate) fn retry_or_fail<T>(reasons: &Reasons) -> Verdict<T> {
    residual(reasons).map_or(Verdict::Retry, |e| Verdict::Done(Err(e)))
}
