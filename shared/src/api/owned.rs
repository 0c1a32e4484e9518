//! Ownership on every read: a caller sees only its own accounts and the payments it is a party
//! of (as payer or payee), and anything else answers exactly as a missing one does (404, same
//! body). Acting on a payment takes the right party: the other one gets a 403 naming the role.

use super::{ApiDeps, ApiError, Caller};
use crate::{
    Account, AccountError, AccountId, AccountKind, EntryPage, EntryQuery, Payment, PaymentError,
    PaymentId, PaymentKind, payment::Party, refund::Refund, store::Balance,
};

/// Payment `id`, to a caller that is one of its parties (its payer or its payee).
///
/// # Errors
/// `payment_not_found` for a missing one, or one the caller is no party of: the same answer.
pub async fn party_payment(
    deps: &ApiDeps,
    caller: &Caller,
    id: PaymentId,
) -> Result<Payment, ApiError> {
    match deps.store.payment(id).await? {
        Some(payment) if visible_to(&payment, caller) => Ok(payment),
        _ => Err(PaymentError::NotFound(id).into()),
    }
}

/// Payment `id`, to a caller that may act on it as `role`: confirm and cancel belong to the
/// payer, refunds to the payee (who holds the money).
///
/// # Errors
/// `payment_not_found` as [`party_payment`]; `not_payer` / `not_payee` (403) for the other
/// party.
pub async fn payment_as(
    deps: &ApiDeps,
    caller: &Caller,
    id: PaymentId,
    role: Party,
) -> Result<Payment, ApiError> {
    let payment = party_payment(deps, caller, id).await?;
    require_role(&payment, caller, role)?;
    Ok(payment)
}

/// Payment `id` and its refunds, oldest first, in one read, to either party.
///
/// # Errors
/// `payment_not_found` as [`party_payment`].
pub async fn party_refunds(
    deps: &ApiDeps,
    caller: &Caller,
    id: PaymentId,
) -> Result<(Payment, Vec<Refund>), ApiError> {
    match deps.store.payment_with_refunds(id).await? {
        Some((payment, refunds)) if visible_to(&payment, caller) => Ok((payment, refunds)),
        _ => Err(PaymentError::NotFound(id).into()),
    }
}

/// Whether `caller` may see `payment`. Only transfers are the API's payments: a funding moves
/// money in from the treasury and belongs to no client.
fn visible_to(payment: &Payment, caller: &Caller) -> bool {
    payment.kind == PaymentKind::Transfer && payment.is_party(&caller.client_id)
}

/// Refuses a party acting in the other party's role.
///
/// # Errors
/// `not_payer` or `not_payee`.
pub fn require_role(payment: &Payment, caller: &Caller, role: Party) -> Result<(), ApiError> {
    match role {
        Party::Payer if !payment.is_payer(&caller.client_id) => {
            Err(PaymentError::NotPayer(payment.id).into())
        }
        Party::Payee if !payment.is_payee(&caller.client_id) => {
            Err(PaymentError::NotPayee(payment.id).into())
        }
        Party::Payer | Party::Payee => Ok(()),
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
        _ => Err(AccountError::NotFound(id).into()),
    }
}

/// The caller's account `id` (never a treasury) with what it has incoming.
///
/// # Errors
/// `account_not_found` for a missing or foreign one.
pub async fn owned_balance(
    deps: &ApiDeps,
    caller: &Caller,
    id: AccountId,
) -> Result<Balance, ApiError> {
    match deps.store.balance(id).await? {
        Some(shown)
            if shown.account.owner == caller.client_id
                && shown.account.kind == AccountKind::Customer =>
        {
            Ok(shown)
        }
        _ => Err(AccountError::NotFound(id).into()),
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
        return Err(AccountError::NotFound(id).into());
    }
    Ok(page)
}
