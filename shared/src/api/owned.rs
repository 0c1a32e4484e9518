//! Ownership on every read: a caller sees only its own accounts and payments, and another
//! client's answers exactly as a missing one does (404, same body).

use super::{ApiDeps, ApiError, Caller};
use crate::{
    Account, AccountId, AccountKind, EntryPage, EntryQuery, Payment, PaymentId, StoreError,
};

/// The caller's payment `id`.
///
/// # Errors
/// `payment_not_found` for a missing or foreign one.
pub async fn owned_payment(
    deps: &ApiDeps,
    caller: &Caller,
    id: PaymentId,
) -> Result<Payment, ApiError> {
    match deps.store.payment(id).await? {
        Some(payment) if payment.client_id == caller.client_id => Ok(payment),
        _ => Err(StoreError::PaymentNotFound(id).into()),
    }
}

/// The caller's account `id` (never a treasury).
///
/// # Errors
/// `account_not_found` for a missing or foreign one.
pub async fn owned_account(
    deps: &ApiDeps,
    caller: &Caller,
    id: AccountId,
) -> Result<Account, ApiError> {
    match deps.store.account(id).await? {
        Some(account)
            if account.owner == caller.client_id && account.kind == AccountKind::Customer =>
        {
            Ok(account)
        }
        _ => Err(StoreError::AccountNotFound(id).into()),
    }
}

/// One page of the caller's account `id`, in one round trip when the page has entries: each
/// entry carries its account's owner, so the page proves ownership itself. Only an empty page
/// needs the account read, to tell the caller's quiet account from a missing or foreign one.
/// Treasury entries belong to the system owner, which no caller is.
///
/// # Errors
/// `account_not_found` for a missing or foreign account, whatever the page held.
pub async fn owned_entries(
    deps: &ApiDeps,
    caller: &Caller,
    id: AccountId,
    query: &EntryQuery,
) -> Result<EntryPage, ApiError> {
    let page = deps.store.entries(id, query).await?;
    if page.entries.is_empty() {
        owned_account(deps, caller, id).await?;
    } else if page
        .entries
        .iter()
        .any(|entry| entry.owner != caller.client_id)
    {
        return Err(StoreError::AccountNotFound(id).into());
    }
    Ok(page)
}
