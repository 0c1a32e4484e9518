//! `create-client`: registers an OAuth client (client-credentials grant). The secret is
//! generated here, stored only as a salted hash, and handed back once for printing: it is
//! never logged, and cannot be recovered afterwards (a lost secret means a new client).

use paygate_shared::{
    ClientId, RiskRules, StoreError,
    auth::Scope,
    client::{ClientRecord, ClientStatus, DEFAULT_ROUNDS, SecretHash, generate_secret},
    store::ClientStore,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{
    AdminError,
    cli::{CreateClient, SetRiskRules},
};

/// What `create-client` prints: the only time the secret is ever shown.
#[derive(Serialize)]
pub struct NewClient {
    pub client_id: ClientId,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub operator: bool,
}

/// What `set-risk-rules` and `show-risk-rules` print.
#[derive(Debug, Serialize)]
pub struct ClientRisk {
    pub client_id: ClientId,
    pub operator: bool,
    /// The client's own rules; `null` when the function's defaults apply.
    pub risk: Option<serde_json::Value>,
}

impl From<ClientRecord> for ClientRisk {
    fn from(record: ClientRecord) -> Self {
        Self {
            client_id: record.client_id,
            operator: record.operator,
            risk: record.risk.map(|rules| rules.to_value()),
        }
    }
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
    if args.scopes.contains(Scope::RiskReview) && !args.operator {
        return Err(AdminError::Invalid(
            "risk:review is granted only to operator clients (--operator)".into(),
        ));
    }
    let scopes: Vec<String> = args.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let client_secret = generate_secret();
    let record = ClientRecord {
        client_id: client_id.clone(),
        secret_hash: SecretHash::new(&client_secret, DEFAULT_ROUNDS),
        scopes: scopes.clone(),
        status: ClientStatus::Active,
        operator: args.operator,
        risk: None,
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
        operator: args.operator,
    })
}

/// # Errors
/// [`AdminError::Invalid`] for an unreadable or malformed rules file (naming the field:
/// nothing is stored); [`AdminError::NotFound`] for a client that does not exist.
pub async fn set_risk_rules(
    store: &dyn ClientStore,
    args: SetRiskRules,
) -> Result<ClientRisk, AdminError> {
    let rules = match &args.file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| AdminError::Invalid(format!("cannot read {}: {e}", path.display())))?;
            Some(
                RiskRules::from_json(&text)
                    .map_err(|e| AdminError::Invalid(format!("{}: {e}", path.display())))?,
            )
        }
    };
    store
        .set_risk_rules(&args.client_id, rules.as_ref())
        .await?
        .map(ClientRisk::from)
        .ok_or_else(|| AdminError::NotFound(format!("client {} does not exist", args.client_id)))
}

/// # Errors
/// [`AdminError::NotFound`] for a client that does not exist.
pub async fn show_risk_rules(
    store: &dyn ClientStore,
    client_id: &ClientId,
) -> Result<ClientRisk, AdminError> {
    store
        .client(client_id)
        .await?
        .map(ClientRisk::from)
        .ok_or_else(|| AdminError::NotFound(format!("client {client_id} does not exist")))
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
            operator: false,
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
        let reviewer = create_client(&store, args(Some("desk"), "risk:review"), NOW).await;
        assert!(
            matches!(&reviewer, Err(AdminError::Invalid(m)) if m.contains("--operator")),
            "risk:review needs --operator"
        );
        let operator = CreateClient {
            operator: true,
            ..args(Some("desk"), "risk:review payments:read")
        };
        let made = create_client(&store, operator, NOW).await.unwrap();
        assert!(made.operator);
        assert!(
            store
                .client(&made.client_id)
                .await
                .unwrap()
                .unwrap()
                .operator
        );
        let again = create_client(&store, args(Some("alice"), "payments:read"), NOW).await;
        assert!(
            matches!(&again, Err(AdminError::Invalid(m)) if m == "client alice already exists"),
            "{:?}",
            again.err()
        );
    }

    #[tokio::test]
    async fn risk_rules_are_set_from_a_file_shown_and_cleared() {
        let store = MemoryStore::new();
        create_client(&store, args(Some("shop"), "payments:write"), NOW)
            .await
            .unwrap();
        let dir = std::env::temp_dir().join(format!("paygate-admin-risk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.json");
        std::fs::write(
            &good,
            r#"{"review_amount": 50000, "max_payments_per_hour": 10}"#,
        )
        .unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(
            &bad,
            r#"{"review_amount": 50000, "max_payments_per_hour": -3}"#,
        )
        .unwrap();
        let set = |file: &std::path::Path, client: &str| SetRiskRules {
            client_id: client.parse().unwrap(),
            file: Some(file.to_owned()),
            clear: false,
        };
        let refused = set_risk_rules(&store, set(&bad, "shop")).await;
        assert!(
            matches!(&refused, Err(AdminError::Invalid(m)) if m.contains("`max_payments_per_hour`")),
            "{:?}",
            refused.err()
        );
        let shown = show_risk_rules(&store, &"shop".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(shown.risk, None, "nothing stored");
        let stored = set_risk_rules(&store, set(&good, "shop")).await.unwrap();
        assert_eq!(
            stored.risk,
            Some(serde_json::json!({"review_amount": 50000, "max_payments_per_hour": 10}))
        );
        let missing = set_risk_rules(&store, set(&good, "nobody")).await;
        assert!(matches!(missing, Err(AdminError::NotFound(_))));
        let cleared = set_risk_rules(
            &store,
            SetRiskRules {
                client_id: "shop".parse().unwrap(),
                file: None,
                clear: true,
            },
        )
        .await
        .unwrap();
        assert_eq!(cleared.risk, None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
