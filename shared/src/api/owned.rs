//! Ownership on every read: a caller sees only its own accounts and payments, and another
//! client's answers exactly as a missing one does (404, same body).

use super::{ApiDeps, ApiError, Caller};
use crate::{Account, AccountId, AccountKind, Payment, PaymentId, StoreError};

/// The caller's payment `raw_id`.
///
/// # Errors
/// `invalid_id` for a malformed id; `payment_not_found` for a missing or foreign one.
pub async fn owned_payment(
    deps: &ApiDeps,
    caller: &Caller,
    raw_id: &str,
) -> Result<Payment, ApiError> {
    let id: PaymentId = raw_id
        .parse()
        .map_err(|e| ApiError::invalid("invalid_id", format!("`payment_id`: {e}")))?;
    match deps.store.payment(id).await? {
        Some(payment) if payment.client_id == caller.client_id => Ok(payment),
        _ => Err(StoreError::PaymentNotFound(id).into()),
    }
}

/// The caller's account `raw_id` (never a treasury).
///
/// # Errors
/// `invalid_id` for a malformed id; `account_not_found` for a missing or foreign one.
pub async fn owned_account(
    deps: &ApiDeps,
    caller: &Caller,
    raw_id: &str,
) -> Result<Account, ApiError> {
    let id: AccountId = raw_id
        .parse()
        .map_err(|e| ApiError::invalid("invalid_id", format!("`account_id`: {e}")))?;
    match deps.store.account(id).await? {
        Some(account)
            if account.owner == caller.client_id && account.kind == AccountKind::Customer =>
        {
            Ok(account)
        }
        _ => Err(StoreError::AccountNotFound(id).into()),
    }
}
