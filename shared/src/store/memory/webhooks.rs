//! Webhook endpoints in the embedded store: checked and written under the store's lock, so the
//! per-client limit and the idempotency record hold exactly as the DynamoDB transaction makes
//! them hold.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStore;
use crate::{
    ClientId, IdempotencyRecord, StoreError, WebhookEndpointId,
    store::{EndpointOutcome, WebhookStore},
    webhook::{EndpointStatus, MAX_ENDPOINTS_PER_CLIENT, WebhookEndpoint, WebhookError},
};

/// The range of `owner`'s endpoints in the store's ordered map: oldest first (ids are ULIDs).
fn owned(owner: &ClientId) -> std::ops::RangeInclusive<(ClientId, WebhookEndpointId)> {
    let low = WebhookEndpointId::from_ulid(ulid::Ulid::nil());
    let high = WebhookEndpointId::from_ulid(ulid::Ulid(u128::MAX));
    (owner.clone(), low)..=(owner.clone(), high)
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn create_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<EndpointOutcome, StoreError> {
        let mut state = self.state();
        if let Some(previous) = state.previous(idempotency, now) {
            return previous.map(EndpointOutcome::Replayed);
        }
        if state.endpoints.range(owned(&endpoint.owner)).count() >= MAX_ENDPOINTS_PER_CLIENT {
            return Err(WebhookError::TooManyEndpoints.into());
        }
        let key = (endpoint.owner.clone(), endpoint.id);
        if state.endpoints.contains_key(&key) {
            return Err(StoreError::DuplicateId(endpoint.id.to_string()));
        }
        state.endpoints.insert(key, endpoint.clone());
        state
            .idempotency
            .insert(idempotency.key.clone(), idempotency.clone());
        Ok(EndpointOutcome::Created(endpoint.clone()))
    }

    async fn endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(self.state().endpoints.get(&(owner.clone(), id)).cloned())
    }

    async fn endpoints_of(&self, owner: &ClientId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let state = self.state();
        Ok(state
            .endpoints
            .range(owned(owner))
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn rotate_secret(
        &self,
        endpoint: &WebhookEndpoint,
        now: OffsetDateTime,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut state = self.state();
        let stored = state
            .endpoints
            .get_mut(&(endpoint.owner.clone(), endpoint.id))
            .ok_or(WebhookError::NotFound(endpoint.id))?;
        if !rotates(stored, endpoint) {
            return Err(StoreError::Conflict);
        }
        stored.secrets = endpoint.secrets.clone();
        stored.updated_at = now;
        Ok(stored.clone())
    }

    async fn disable_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        if let Some(stored) = state.endpoints.get_mut(&(owner.clone(), id))
            && stored.status != EndpointStatus::Disabled
        {
            stored.status = EndpointStatus::Disabled;
            stored.updated_at = now;
        }
        Ok(())
    }

    async fn delete_endpoint(
        &self,
        owner: &ClientId,
        id: WebhookEndpointId,
        _now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .state()
            .endpoints
            .remove(&(owner.clone(), id))
            .is_some())
    }
}

/// Whether `rotated` was made from `stored` as it stands: its second secret (the one it rotated
/// out) is the stored current one. Sealed texts are unique (a fresh nonce each), so a rotation
/// made from an older read, or a concurrent one that won, does not match.
pub(crate) fn rotates(stored: &WebhookEndpoint, rotated: &WebhookEndpoint) -> bool {
    match (stored.secrets.first(), rotated.secrets.get(1)) {
        (Some(current), Some(rotated_out)) => current.sealed == rotated_out.sealed,
        _ => false,
    }
}
