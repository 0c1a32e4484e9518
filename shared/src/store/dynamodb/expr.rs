//! Condition and update expressions with their placeholders, built into the writes of a
//! `TransactWriteItems`. Every write asks for the old item when its condition fails, so a
//! cancellation can be explained (see [`super::explain`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

use super::attrs::Item;
use crate::StoreError;

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
        let earlier = self.values.insert(placeholder.to_owned(), value);
        // Two parts of one write giving a placeholder different values would be a silent bug.
        debug_assert!(
            earlier.is_none() || earlier == self.values.get(placeholder).cloned(),
            "placeholder {placeholder} set twice"
        );
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

impl Expr {
    pub fn delete(
        self,
        table: &str,
        key: Item,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(self.names(&[condition])))
            .set_expression_attribute_values(self.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// A put of a new item: refused if an item with the same key exists.
pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    Expr::new().put(table, item, "attribute_not_exists(#pk)")
}
