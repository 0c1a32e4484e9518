//! Building condition/update expressions and running `TransactWriteItems`, with cancellation
//! reasons decoded into something the operations can reason about.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
    operation::transact_write_items::TransactWriteItemsError,
    types::{
        AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure,
        TransactWriteItem, Update,
    },
};

use super::{DynamoStore, items::Item};
use crate::StoreError;

/// Error codes that mean "not now": the request may succeed later, so they surface as 503s.
const UNAVAILABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// Maps an SDK error, kept whole as the failure's cause: unreachable, timed out or throttling →
/// `Unavailable`; anything else is a bug on our side (a malformed request) → `Internal`.
pub(crate) fn sdk_error<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown");
            UNAVAILABLE_CODES.contains(&code) || context.raw().status().is_server_error()
        }
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(err)
    } else {
        StoreError::internal(err)
    }
}

/// One cancellation reason, in the order of the transaction's items.
#[derive(Debug, Clone)]
pub(crate) enum Reason {
    /// This item did not stop the transaction.
    Fine,
    /// Its condition failed; the item as it was (None when it did not exist).
    ConditionFailed(Option<Item>),
    /// Another transaction was touching it.
    Conflict,
    Throttled(String),
    Other(String),
}

pub(crate) enum TxOutcome {
    Committed,
    Cancelled(Vec<Reason>),
}

/// An expression plus its placeholders. Every `#name` token is an attribute name mapped to
/// itself unless aliased (so reserved words like `status` need no special care).
#[derive(Debug, Default)]
pub(crate) struct Expr {
    values: HashMap<String, AttributeValue>,
    aliases: HashMap<String, String>,
}

impl Expr {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    pub fn alias(mut self, placeholder: &str, attribute: impl Into<String>) -> Self {
        self.aliases
            .insert(placeholder.to_owned(), attribute.into());
        self
    }

    fn names(&self, expressions: &[&str]) -> HashMap<String, String> {
        let mut names = HashMap::new();
        for expression in expressions {
            let mut rest = *expression;
            while let Some(start) = rest.find('#') {
                let token: String = rest[start..]
                    .chars()
                    .enumerate()
                    .take_while(|(i, c)| *i == 0 || c.is_ascii_alphanumeric() || *c == '_')
                    .map(|(_, c)| c)
                    .collect();
                rest = &rest[start + token.len()..];
                let attribute = self
                    .aliases
                    .get(&token)
                    .cloned()
                    .unwrap_or_else(|| token[1..].to_owned());
                names.insert(token, attribute);
            }
        }
        names
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    pub fn update(
        self,
        table: &str,
        key: Item,
        update: &str,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(self.names(&[update, condition])))
            .set_expression_attribute_values(self.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub fn check(
        self,
        table: &str,
        key: Item,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(self.names(&[condition])))
            .set_expression_attribute_values(self.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub fn put(
        self,
        table: &str,
        item: Item,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(self.names(&[condition])))
            .set_expression_attribute_values(self.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// A put of a new item: refused if an item with the same key exists.
pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    Expr::new().put(table, item, "attribute_not_exists(#pk)")
}

impl DynamoStore {
    /// Runs one `TransactWriteItems`: one round trip, all or nothing.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TxOutcome, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(TxOutcome::Committed),
            Err(SdkError::ServiceError(context))
                if matches!(
                    context.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let TransactWriteItemsError::TransactionCanceledException(cancelled) =
                    context.err()
                else {
                    unreachable!("matched just above")
                };
                let reasons = cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| match reason.code().unwrap_or("None") {
                        "None" => Reason::Fine,
                        "ConditionalCheckFailed" => Reason::ConditionFailed(reason.item().cloned()),
                        "TransactionConflict" => Reason::Conflict,
                        code @ ("ThrottlingError" | "ProvisionedThroughputExceeded") => {
                            Reason::Throttled(code.to_owned())
                        }
                        code => Reason::Other(format!(
                            "{code}: {}",
                            reason.message().unwrap_or_default()
                        )),
                    })
                    .collect();
                Ok(TxOutcome::Cancelled(reasons))
            }
            Err(err) => Err(sdk_error(err)),
        }
    }
}

/// The old item of a failed condition at `index`, if that is what happened there.
pub(crate) fn failed_at(reasons: &[Reason], index: usize) -> Option<Option<&Item>> {
    match reasons.get(index) {
        Some(Reason::ConditionFailed(old)) => Some(old.as_ref()),
        _ => None,
    }
}

/// What remains once no reason explained itself as a domain error: infrastructure trouble, or a
/// lost race worth another attempt.
pub(crate) fn residual(reasons: &[Reason]) -> Option<StoreError> {
    for reason in reasons {
        match reason {
            Reason::Throttled(code) => return Some(StoreError::unavailable(code.clone())),
            Reason::Other(message) => return Some(StoreError::internal(message.clone())),
            _ => {}
        }
    }
    None
}
