//! `create-client`: registers an OAuth client (client-credentials grant). The secret is
//! generated here, stored only as a salted hash, and handed back once for printing: it is
//! never logged, and cannot be recovered afterwards (a lost secret means a new client).

use paygate_shared::{
    ClientId, StoreError,
    client::{ClientRecord, ClientStatus, DEFAULT_ROUNDS, SecretHash, generate_secret},
    store::ClientStore,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{AdminError, cli::CreateClient};

/// What `create-client` prints: the only time the secret is ever shown.
#[derive(Serialize)]
pub struct NewClient {
    pub client_id: ClientId,
    pub client_secret: String,
    pub scopes: Vec<String>,
}

/// # Errors
/// [`AdminError::Invalid`] for the reserved system id or no scope at all; the store's
/// [`StoreError::DuplicateId`] (as [`AdminError::Invalid`]) when the id is taken.
pub async fn create_client(
    store: &dyn ClientStore,
    args: CreateClient,
    now: OffsetDateTime,
) -> Result<NewClient, AdminError> {
    let client_id = args.client_id.unwrap_or_else(|| ClientId::generate(now));
    if client_id.is_system() {
        return Err(AdminError::Invalid(format!(
            "client id {} is reserved for the treasury accounts",
            ClientId::SYSTEM
        )));
    }
    if args.scopes.is_empty() {
        return Err(AdminError::Invalid(
            "--scopes needs at least one scope (payments:write payments:read accounts:read webhooks:manage)".into(),
        ));
    }
    let scopes: Vec<String> = args.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let client_secret = generate_secret();
    let record = ClientRecord {
        client_id: client_id.clone(),
        secret_hash: SecretHash::new(&client_secret, DEFAULT_ROUNDS),
        scopes: scopes.clone(),
        status: ClientStatus::Active,
        created_at: now,
    };
    store.create_client(&record).await.map_err(|e| match e {
        StoreError::DuplicateId(_) => {
            AdminError::Invalid(format!("client {client_id} already exists"))
        }
        other => other.into(),
    })?;
    Ok(NewClient {
        client_id,
        client_secret,
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use paygate_shared::{auth::Scopes, store::memory::MemoryStore};
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn args(client_id: Option<&str>, scopes: &str) -> CreateClient {
        CreateClient {
            client_id: client_id.map(|id| id.parse().unwrap()),
            scopes: scopes.parse::<Scopes>().unwrap(),
        }
    }

    #[tokio::test]
    async fn the_stored_hash_verifies_the_printed_secret_only() {
        let store = MemoryStore::new();
        let made = create_client(&store, args(None, "accounts:read payments:write"), NOW)
            .await
            .unwrap();
        assert!(made.client_id.as_str().starts_with("cli_"));
        assert_eq!(made.scopes, ["payments:write", "accounts:read"]);
        let stored = store.client(&made.client_id).await.unwrap().unwrap();
        assert!(stored.secret_hash.verify(&made.client_secret));
        assert!(!stored.secret_hash.verify("pgs_other"));
        assert_eq!(stored.scopes, made.scopes);
        assert_eq!(stored.status, ClientStatus::Active);
    }

    #[tokio::test]
    async fn reserved_taken_and_scopeless_ids_are_refused() {
        let store = MemoryStore::new();
        for (id, scopes) in [("paygate-system", "payments:read"), ("alice", "")] {
            let err = create_client(&store, args(Some(id), scopes), NOW)
                .await
                .err();
            assert!(matches!(err, Some(AdminError::Invalid(_))), "{err:?}");
        }
        create_client(&store, args(Some("alice"), "payments:read"), NOW)
            .await
            .unwrap();
        let again = create_client(&store, args(Some("alice"), "payments:read"), NOW).await;
        assert!(
            matches!(&again, Err(AdminError::Invalid(m)) if m == "client alice already exists"),
            "{:?}",
            again.err()
        );
    }
}
