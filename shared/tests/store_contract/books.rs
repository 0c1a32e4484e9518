//! The books audit the lifecycle cases run after each step: every account's balance is the sum
//! of its entries (each `balance_after` exact), its ledger head is its newest entry, and all
//! balances of the currency, treasury included, sum to zero. Also the refund helpers.

#[allow(unused_imports)]
use super::*;

/// Audits `accounts`, which must be every CNY customer account the case opened, and the
/// treasury.
pub(crate) async fn assert_books(store: &dyn Store, accounts: &[AccountId]) {
    let mut total = 0_i64;
    for id in accounts.iter().copied().chain([treasury()]) {
        let acc = account(store, id).await;
        let entries = all_entries(store, id).await;
        assert_eq!(
            assert_balance_chain(&entries),
            acc.balance,
            "{id}: balance = sum of entries"
        );
        assert_eq!(
            acc.ledger_head,
            entries.first().map(|e| e.id),
            "{id}: ledger head"
        );
        if id != treasury() {
            assert!(
                0 <= acc.available && acc.available <= acc.balance,
                "{id}: 0 <= available <= balance: {acc:?}"
            );
        }
        total += acc.balance;
    }
    assert_eq!(total, 0, "all balances, treasury included, sum to zero");
}

/// The idempotency record a refund request under `key` by the payee `payee` would write.
pub(crate) fn refund_record(
    payee: &ClientId,
    refund: &Refund,
    key: &str,
    request: &str,
    now: OffsetDateTime,
) -> IdempotencyRecord {
    IdempotencyRecord {
        key: IdempotencyKey::new(payee.clone(), key).expect("a valid key"),
        fingerprint: Fingerprint::of(&[
            b"POST",
            format!("/v1/payments/{}/refunds", refund.payment_id).as_bytes(),
            request.as_bytes(),
        ]),
        payment_id: refund.payment_id,
        response_status: 201,
        response_body: format!(
            r#"{{"id":"{}","amount":{}}}"#,
            refund.id, refund.amount.amount
        ),
        created_at: now,
        expires_at: now + RETENTION,
    }
}

/// Refunds `amount` of `payment` at `now`, as its payee, under `key` for the request `request`.
pub(crate) async fn refund_as(
    store: &dyn Store,
    payment: &Payment,
    amount: i64,
    key: &str,
    request: &str,
    now: OffsetDateTime,
) -> (Refund, Result<RefundOutcome, StoreError>) {
    let refund = Refund::new(payment.id, cny(amount), None, now);
    let record = refund_record(&payment.payee, &refund, key, request, now);
    let outcome = store.create_refund(payment, &refund, &record, now).await;
    (refund, outcome)
}

/// Everything a refused request must leave as it was: the accounts, their entries, the
/// payment and its refunds.
pub(crate) async fn snapshot(
    store: &dyn Store,
    accounts: &[AccountId],
    payment: PaymentId,
) -> (
    Vec<(Account, Vec<LedgerEntry>)>,
    Option<(Payment, Vec<Refund>)>,
) {
    let mut books = Vec::new();
    for id in accounts {
        books.push((account(store, *id).await, all_entries(store, *id).await));
    }
    let refunds = store
        .payment_with_refunds(payment)
        .await
        .expect("payment_with_refunds");
    (books, refunds)
}
