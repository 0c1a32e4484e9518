//! Webhook endpoints on DynamoDB, under their owner's partition (`WEBHOOKS#<client>`): one
//! `TransactWriteItems` creates an endpoint (the endpoint, its idempotency record, and the
//! owner's `COUNT` item raised on `live < 16`), one deletes it (the item and the count); a read,
//! a listing (one `Query` of the partition), a rotation and a disabling are one call each.

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::update_item::UpdateItemError,
    types::{Delete, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem},
};
use time::OffsetDateTime;

use super::{
    DynamoStore,
    attrs::{attr_number, attr_string, timestamp},
    explain::{self, Replayed},
    expr::{Expr, put_new},
    keys::{ENDPOINT_SORT_PREFIX, endpoint_count_key, endpoint_key, webhooks_pk},
    retry::{Verdict, with_retries},
    tx::{Role, Transaction, TxOutcome, sdk_error},
    updates::idempotency_put,
    webhook_items::{current_secret, endpoint_from, endpoint_item, secrets_attr},
};
use crate::{
    ClientId, IdempotencyRecord, StoreError, WebhookEndpointId,
    store::{EndpointOutcome, WebhookStore},
    webhook::{EndpointStatus, MAX_ENDPOINTS_PER_CLIENT, WebhookEndpoint, WebhookError},
};

impl Replayed for EndpointOutcome {
    fn replayed(first: IdempotencyRecord) -> Self {
        Self::Replayed(first)
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn create_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<EndpointOutcome, StoreError> {
        let table = self.transactions_table();
        with_retries(|| async {
            let limit = i64::try_from(MAX_ENDPOINTS_PER_CLIENT).map_err(StoreError::internal)?;
            let count = Expr::new()
                .value(":zero", attr_number(0))
                .value(":one", attr_number(1))
                .value(":limit", attr_number(limit))
                .update(
                    table,
                    endpoint_count_key(&endpoint.owner),
                    "SET #live = if_not_exists(#live, :zero) + :one",
                    "attribute_not_exists(#live) OR #live < :limit",
                )?;
            let tx = Transaction::new()
                .with(Role::EndpointCount, count)
                .with(Role::Endpoint, put_new(table, endpoint_item(endpoint)?)?)
                .with(
                    Role::IdempotencyRecord,
                    idempotency_put(table, idempotency, now)?,
                );
            let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                return Ok(Verdict::Done(Ok(EndpointOutcome::Created(
                    endpoint.clone(),
                ))));
            };
            // As the memory store checks: the key first (a replay is answered even at 16).
            let ours = || EndpointOutcome::Created(endpoint.clone());
            if let Some(verdict) = explain::record(&reasons, idempotency, ours) {
                return Ok(verdict);
            }
            if reasons.condition_failed(Role::EndpointCount).is_some() {
                return Ok(Verdict::Done(Err(WebhookError::TooManyEndpoints.into())));
            }
            if reasons.condition_failed(Role::Endpoint).is_some() {
                return Ok(Verdict::Done(Err(StoreError::DuplicateId(
                    endpoint.id.to_string(),
                ))));
            }
            Ok(explain::retry_or_fail(&reasons))
        })
        .await
    }

    async fn endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.get(self.transactions_table(), endpoint_key(owner, id))
            .await?
            .as_ref()
            .map(endpoint_from)
            .transpose()
    }

    async fn endpoints_of(&self, owner: &ClientId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        // At most 16 endpoints of a few kilobytes each: one page, far under 1 MB.
        let output = self
            .client
            .query()
            .table_name(self.transactions_table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":pk", attr_string(webhooks_pk(owner)))
            .expression_attribute_values(":prefix", attr_string(ENDPOINT_SORT_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(endpoint_from)
            .collect()
    }

    async fn rotate_secret(
        &self,
        endpoint: &WebhookEndpoint,
        now: OffsetDateTime,
    ) -> Result<WebhookEndpoint, StoreError> {
        let rotated_out = endpoint.secrets.get(1).ok_or_else(|| {
            StoreError::internal(format!("a rotation of {} rotated nothing out", endpoint.id))
        })?;
        let result = self
            .client
            .update_item()
            .table_name(self.transactions_table())
            .set_key(Some(endpoint_key(&endpoint.owner, endpoint.id)))
            .update_expression("SET #secrets = :secrets, #current = :current, #updated_at = :now")
            // Made from the endpoint as it stands: its current secret is the one rotated out.
            .condition_expression("#current = :previous")
            .expression_attribute_names("#secrets", "secrets")
            .expression_attribute_names("#current", "current_secret")
            .expression_attribute_names("#updated_at", "updated_at")
            .expression_attribute_values(":secrets", attr_string(secrets_attr(&endpoint.secrets)?))
            .expression_attribute_values(":current", attr_string(current_secret(endpoint)?))
            .expression_attribute_values(":previous", attr_string(rotated_out.sealed.clone()))
            .expression_attribute_values(":now", attr_string(timestamp(now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => endpoint_from(&output.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    if failed.item.as_ref().is_some_and(|old| !old.is_empty()) {
                        Err(StoreError::Conflict)
                    } else {
                        Err(WebhookError::NotFound(endpoint.id).into())
                    }
                }
                _ => Err(sdk_error(e)),
            },
        }
    }

    async fn disable_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(self.transactions_table())
            .set_key(Some(endpoint_key(owner, id)))
            .update_expression("SET #status = :disabled, #updated_at = :now")
            .condition_expression("attribute_exists(#pk) AND #status <> :disabled")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#updated_at", "updated_at")
            .expression_attribute_values(
                ":disabled",
                attr_string(EndpointStatus::Disabled.as_str()),
            )
            .expression_attribute_values(":now", attr_string(timestamp(now)))
            .send()
            .await;
        match result {
            // Already disabled, or deleted meanwhile: either way it receives nothing.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
            Ok(_) => Ok(()),
        }
    }

    async fn delete_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        _now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let table = self.transactions_table();
        with_retries(|| {
            async move {
                let delete = Delete::builder()
                    .table_name(table)
                    .set_key(Some(endpoint_key(owner, id)))
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", "pk")
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(StoreError::internal)?;
                let count = Expr::new().value(":one", attr_number(1)).update(
                    table,
                    endpoint_count_key(owner),
                    "SET #live = #live - :one",
                    "#live >= :one",
                )?;
                let tx = Transaction::new()
                    .with(
                        Role::Endpoint,
                        TransactWriteItem::builder().delete(delete).build(),
                    )
                    .with(Role::EndpointCount, count);
                let TxOutcome::Cancelled(reasons) = self.transact(tx).await? else {
                    return Ok(Verdict::Done(Ok(true)));
                };
                if reasons.condition_failed(Role::Endpoint).is_some() {
                    return Ok(Verdict::Done(Ok(false)));
                }
                if reasons.condition_failed(Role::EndpointCount).is_some() {
                    // The endpoint exists but its owner's count says none: a count out of step.
                    return Ok(Verdict::Done(Err(StoreError::internal(format!(
                        "the endpoint count of {owner} is below its endpoints"
                    )))));
                }
                Ok(explain::retry_or_fail(&reasons))
            }
        })
        .await
    }
}
