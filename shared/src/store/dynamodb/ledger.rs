//! The ledger on DynamoDB: funding from a currency's treasury (a payment with its debit and
//! credit, in one transaction) and the pages of an account's entries.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    DynamoStore,
    attrs::attr_string,
    explain,
    expr::put_new,
    items::{entry_from, payment_item},
    keys::{account_pk, entry_sort_key},
    reads::found_account,
    retry::{Verdict, with_retries},
    tx::{Role, Transaction, TxOutcome, sdk_error},
    updates::AccountUpdate,
};
use crate::{
    Account, AccountId, EntryPage, EntryQuery, Money, Payment, StoreError,
    ledger::paginate,
    store::{LedgerStore, check_funding},
    unposted::Settlement,
};

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn fund(
        &self,
        account: AccountId,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Payment, StoreError> {
        let treasury_id = Account::treasury_id(amount.currency);
        let currency = amount.currency.code();
        let (accounts, transactions) = (self.accounts_table(), self.transactions_table());
        with_retries(|| async {
            let found = self.batch_get(&[treasury_id, account], Vec::new()).await?;
            let destination = found_account(&found, account)?;
            check_funding(&destination, amount)?;
            let Ok(treasury) = found_account(&found, treasury_id) else {
                self.create_treasury(amount.currency, now).await?;
                return Ok(Verdict::Retry);
            };
            let payment = Payment::funding(treasury_id, account, amount, now);
            let settlement = Settlement::plan(&payment, &treasury, &destination, now)?;
            let tx = Transaction::new()
                .with(
                    Role::Source,
                    AccountUpdate::of(treasury_id)
                        .debit_treasury(settlement.debit(), &treasury)
                        .update(accounts)?,
                )
                .with_settlement(
                    &settlement,
                    Role::Destination,
                    AccountUpdate::of(account).receiving(currency),
                    &destination,
                    (accounts, transactions),
                )?
                .with(
                    Role::Payment,
                    put_new(transactions, payment_item(&payment))?,
                );
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(payment)));
            };
            if let Some(old) = reasons.condition_failed(Role::Destination)
                && let Some(e) = explain::account(old, account, |a| check_funding(a, amount))
            {
                return Ok(Verdict::Done(Err(e)));
            }
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }

    async fn entries(
        &self,
        account: AccountId,
        query: &EntryQuery,
    ) -> Result<EntryPage, StoreError> {
        let Some((low, high)) = query.id_range() else {
            return Ok(EntryPage::empty());
        };
        let output = self
            .client
            .query()
            .table_name(self.transactions_table())
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", attr_string(account_pk(account)))
            .expression_attribute_values(":low", attr_string(entry_sort_key(low)))
            .expression_attribute_values(":high", attr_string(entry_sort_key(high)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::from(query.limit) + 1)
            .send()
            .await
            .map_err(sdk_error)?;
        let entries = output
            .items
            .unwrap_or_default()
            .iter()
            .map(entry_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(account, entries, query.limit))
    }
}
