//! `--dynamodb-endpoint` and `--secrets-endpoint`: the store and the signing keys on DynamoDB
//! and Secrets Manager at any endpoint (moto, or real AWS), named as the functions name them
//! (`PAYGATE_ACCOUNTS_TABLE`, `PAYGATE_SIGNING_KEY_SECRET`, …), so that functions running under
//! `cargo lambda watch` with the same environment share them with the gateway.

use std::sync::Arc;

use aws_config::SdkConfig;
use paygate_shared::{
    Clock,
    auth::{
        Jwks, KeyError, KeySource, SecretsManagerPublicKeys, SecretsManagerSigningKeys, SigningKey,
        put_public_jwks, put_signing_key,
    },
    store::dynamodb::{DynamoStore, TableNames, sdk_config_for_endpoint},
    webhook::{AesGcmSealer, WebhookError, sealer_from_secret},
};
use paygate_template::{StoreTables, Template, create_store_tables};

/// Where the AWS-backed store and keys live, and their names.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsOptions {
    /// Keep accounts and the ledger in DynamoDB at this endpoint (e.g. moto's
    /// http://127.0.0.1:5000) instead of the embedded store; the tables are created from the
    /// template when missing.
    #[arg(long, value_name = "URL", env = "PAYGATE_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    /// Read the token signing keys from Secrets Manager at this endpoint; a first key is
    /// generated when the secrets are missing.
    #[arg(long, value_name = "URL", env = "PAYGATE_SECRETS_ENDPOINT")]
    pub secrets_endpoint: Option<String>,
    /// The webhook retry queue's SQS endpoint (with --dynamodb-endpoint; default: the same
    /// endpoint, as moto serves both). The queue is created at start.
    #[arg(long, value_name = "URL", env = "PAYGATE_SQS_ENDPOINT")]
    pub sqs_endpoint: Option<String>,
    /// The region signed for.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    /// The accounts table (with --dynamodb-endpoint).
    #[arg(
        long,
        env = "PAYGATE_ACCOUNTS_TABLE",
        default_value = "paygate-local-accounts"
    )]
    pub accounts_table: String,
    /// The transactions table (with --dynamodb-endpoint).
    #[arg(
        long,
        env = "PAYGATE_TRANSACTIONS_TABLE",
        default_value = "paygate-local-transactions"
    )]
    pub transactions_table: String,
    /// The private signing-key secret (with --secrets-endpoint).
    #[arg(
        long,
        env = "PAYGATE_SIGNING_KEY_SECRET",
        default_value = "paygate-local-signing-key"
    )]
    pub signing_key_secret: String,
    /// The public JWKS secret (with --secrets-endpoint).
    #[arg(
        long,
        env = "PAYGATE_PUBLIC_KEYS_SECRET",
        default_value = "paygate-local-public-keys"
    )]
    pub public_keys_secret: String,
    /// The key material webhook secrets are sealed under (with --secrets-endpoint; generated
    /// when missing).
    #[arg(
        long,
        env = "PAYGATE_WEBHOOK_KEY_SECRET",
        default_value = "paygate-local-webhook-key"
    )]
    pub webhook_key_secret: String,
}

/// Why the AWS-backed store or keys could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("creating the tables: {0}")]
    Tables(#[from] paygate_template::CreateTablesError),
    #[error("the signing keys: {0}")]
    Keys(#[from] KeyError),
    #[error("the webhook sealing key: {0}")]
    Sealing(#[from] WebhookError),
}

/// The SDK configuration for `endpoint`: static test credentials unless the environment
/// carries real ones (`AWS_ACCESS_KEY_ID`).
pub async fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    let from_env = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    sdk_config_for_endpoint(endpoint, region, !from_env).await
}

/// The DynamoDB store at `endpoint`, its tables created from `template` when missing.
///
/// # Errors
/// When the tables cannot be listed or created.
pub async fn dynamodb_store(
    options: &AwsOptions,
    endpoint: &str,
    template: &Template,
) -> Result<DynamoStore, AwsSetupError> {
    let config = sdk_config(endpoint, &options.region).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let created = create_store_tables(
        &client,
        template,
        StoreTables {
            accounts: &options.accounts_table,
            transactions: &options.transactions_table,
        },
    )
    .await?;
    for table in created {
        tracing::info!(table, "created the table from the template");
    }
    Ok(DynamoStore::new(
        &config,
        TableNames {
            accounts: options.accounts_table.clone(),
            transactions: options.transactions_table.clone(),
        },
    ))
}

/// The signing-key and public-key secrets at `endpoint` as the token endpoint and the
/// authorizer read them; when the signing-key secret does not exist yet, a first key is
/// generated and published (the public set first, as a rotation does).
///
/// # Errors
/// When the secrets cannot be read or written.
pub async fn secrets_keys(
    options: &AwsOptions,
    endpoint: &str,
    clock: &dyn Clock,
) -> Result<(Arc<dyn KeySource>, Arc<dyn KeySource>), AwsSetupError> {
    let config = sdk_config(endpoint, &options.region).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let signing = SecretsManagerSigningKeys::new(client.clone(), &options.signing_key_secret);
    if let Err(err) = signing.load().await {
        if !missing(&client, &options.signing_key_secret).await? {
            return Err(err.into());
        }
        let now = clock.now();
        let key = SigningKey::generate(now)?;
        put_public_jwks(
            &client,
            &options.public_keys_secret,
            &Jwks::from_keys(&[key.verifying_key()]),
        )
        .await?;
        put_signing_key(&client, &options.signing_key_secret, &key.to_document(now)?).await?;
        tracing::info!(kid = %key.kid, secret = %options.signing_key_secret, "generated a first signing key");
    }
    let public = SecretsManagerPublicKeys::new(client, &options.public_keys_secret);
    Ok((Arc::new(signing), Arc::new(public)))
}

/// The sealer of webhook secrets under the Secrets Manager secret `--webhook-key-secret` at
/// `endpoint`, as the functions read it; the secret is created with random key material when
/// missing.
///
/// # Errors
/// When the secret cannot be read or created.
pub async fn webhook_sealer(
    options: &AwsOptions,
    endpoint: &str,
) -> Result<AesGcmSealer, AwsSetupError> {
    let config = sdk_config(endpoint, &options.region).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let id = &options.webhook_key_secret;
    if missing(&client, id).await? {
        let material = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            rand::random::<[u8; 48]>(),
        );
        match client
            .create_secret()
            .name(id)
            .secret_string(material)
            .send()
            .await
        {
            Ok(_) => tracing::info!(secret = %id, "generated the webhook sealing key material"),
            // Another gateway created it meanwhile: its material is the one to use.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_exists_exception()) => {}
            Err(err) => {
                return Err(KeyError::Unavailable(format!(
                    "creating the secret {id}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(err)
                ))
                .into());
            }
        }
    }
    Ok(sealer_from_secret(&client, id).await?)
}

/// Whether the secret does not exist (as opposed to being unreadable).
async fn missing(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<bool, KeyError> {
    match client.describe_secret().secret_id(id).send().await {
        Ok(_) => Ok(false),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(true)
        }
        Err(err) => Err(KeyError::Unavailable(format!(
            "secret {id}: {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(err)
        ))),
    }
}
