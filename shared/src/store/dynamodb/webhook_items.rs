//! The webhook endpoint item: its attributes in and out. The secrets are stored sealed only, as
//! one JSON attribute (newest first), with the current one repeated in `current_secret`, which
//! a rotation's condition compares.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    attrs::{Item, Reader, attr_string, timestamp},
    keys::endpoint_key,
};
use crate::{
    StoreError,
    event::EventType,
    timefmt::parse_rfc3339,
    webhook::{EndpointStatus, SealedSecret, WebhookEndpoint},
};

/// `type` of an endpoint item.
pub(crate) const ENDPOINT_TYPE: &str = "webhook_endpoint";

/// One sealed secret in the `secrets` attribute.
#[derive(Serialize, Deserialize)]
struct StoredSecret {
    sealed: String,
    #[serde(with = "crate::timefmt::rfc3339_millis")]
    created_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

/// The `secrets` attribute of `secrets`.
pub(crate) fn secrets_attr(secrets: &[SealedSecret]) -> Result<String, StoreError> {
    let stored: Vec<StoredSecret> = secrets
        .iter()
        .map(|s| StoredSecret {
            sealed: s.sealed.clone(),
            created_at: s.created_at,
            expires_at: s.expires_at.map(timestamp),
        })
        .collect();
    serde_json::to_string(&stored).map_err(StoreError::internal)
}

/// The current (first) sealed secret, as `current_secret` holds it.
pub(crate) fn current_secret(endpoint: &WebhookEndpoint) -> Result<&str, StoreError> {
    endpoint
        .secrets
        .first()
        .map(|s| s.sealed.as_str())
        .ok_or_else(|| StoreError::internal(format!("endpoint {} has no secret", endpoint.id)))
}

pub(crate) fn endpoint_item(e: &WebhookEndpoint) -> Result<Item, StoreError> {
    let mut item = endpoint_key(&e.owner, e.id);
    item.extend([
        ("type".to_owned(), attr_string(ENDPOINT_TYPE)),
        ("endpoint_id".to_owned(), attr_string(e.id.to_string())),
        ("owner".to_owned(), attr_string(e.owner.as_str())),
        ("url".to_owned(), attr_string(e.url.clone())),
        ("status".to_owned(), attr_string(e.status.as_str())),
        ("secrets".to_owned(), attr_string(secrets_attr(&e.secrets)?)),
        ("current_secret".to_owned(), attr_string(current_secret(e)?)),
        (
            "created_at".to_owned(),
            attr_string(timestamp(e.created_at)),
        ),
        (
            "updated_at".to_owned(),
            attr_string(timestamp(e.updated_at)),
        ),
    ]);
    if !e.events.is_empty() {
        let events: Vec<&str> = e.events.iter().map(|t| t.as_str()).collect();
        item.insert("events".to_owned(), attr_string(events.join(" ")));
    }
    if let Some(description) = &e.description {
        item.insert("description".to_owned(), attr_string(description.clone()));
    }
    Ok(item)
}

pub(crate) fn endpoint_from(item: &Item) -> Result<WebhookEndpoint, StoreError> {
    let r = Reader(item);
    let corrupt = |what: &str| StoreError::internal(format!("stored endpoint has {what}"));
    let events = match r.opt_str("events")? {
        None => Vec::new(),
        Some(text) => text
            .split(' ')
            .map(|t| EventType::parse(t).ok_or_else(|| corrupt("an unknown event type")))
            .collect::<Result<_, _>>()?,
    };
    let secrets: Vec<StoredSecret> =
        serde_json::from_str(r.str("secrets")?).map_err(|_| corrupt("malformed secrets"))?;
    let secrets = secrets
        .into_iter()
        .map(|s| {
            let expires_at = s
                .expires_at
                .map(|t| parse_rfc3339(&t).map_err(|_| corrupt("a malformed secret expiry")))
                .transpose()?;
            Ok(SealedSecret {
                sealed: s.sealed,
                created_at: s.created_at,
                expires_at,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(WebhookEndpoint {
        id: r.parse("endpoint_id")?,
        owner: r.parse("owner")?,
        url: r.str("url")?.to_owned(),
        events,
        description: r.opt_str("description")?.map(str::to_owned),
        status: r.enumerated("status", EndpointStatus::parse)?,
        secrets,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}
