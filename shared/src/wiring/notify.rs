//! The notify function: the notifier (store, retry queue, sealer, URL policy, schedule, clock)
//! and nothing of the HTTP API (no token verification, no request layer).

use std::sync::Arc;

use crate::notify::engine::Notifier;

/// What the notify function handles its stream and queue records with.
#[derive(Clone)]
pub struct NotifyDeps {
    pub notifier: Arc<Notifier>,
}

/// The notify function's dependencies, from the environment: the tables
/// (`PAYGATE_TRANSACTIONS_TABLE`, …), `PAYGATE_WEBHOOK_RETRY_QUEUE_URL` (the retry queue),
/// `PAYGATE_WEBHOOK_KEY_SECRET` (the Secrets Manager secret the sealing key derives from, read
/// once here), `PAYGATE_WEBHOOK_RETRY_SCHEDULE` (default `5s,5m,30m,2h,5h,10h,10h`),
/// `PAYGATE_METRICS_NAMESPACE` (the delivery and round-trip metrics), and the
/// optional endpoints `PAYGATE_DYNAMODB_ENDPOINT`, `PAYGATE_SECRETS_ENDPOINT`,
/// `PAYGATE_SQS_ENDPOINT` (moto). URLs must be `https` to public addresses, unless
/// `PAYGATE_WEBHOOK_ALLOW_LOOPBACK=true` (only for `cargo lambda watch` beside a receiver on
/// 127.0.0.1; never on AWS, where loopback reaches the Lambda runtime API).
///
/// # Errors
/// A [`super::StartupError`] naming the missing or invalid variable, or the unreadable key
/// secret.
#[cfg(all(feature = "sqs", feature = "secrets"))]
pub async fn notify_deps_from_env() -> Result<NotifyDeps, super::StartupError> {
    use super::clients::{dynamo_store, secrets_client, with_endpoint};
    use crate::{
        SystemClock, aws,
        config::{ConfigError, Resources, process_env},
        notify::{RetrySchedule, queue::SqsRetryQueue, ssrf::UrlPolicy},
        webhook::sealer_from_secret,
    };

    let env = process_env();
    let resources = Resources::from_env(&env)?;
    let queue_url = env.required("PAYGATE_WEBHOOK_RETRY_QUEUE_URL")?;
    let key_secret = env.required("PAYGATE_WEBHOOK_KEY_SECRET")?;
    let schedule = env.parsed("PAYGATE_WEBHOOK_RETRY_SCHEDULE", RetrySchedule::default())?;
    let policy = UrlPolicy::from_env(&env)?;
    let metrics = crate::metrics::Metrics::from_env(&env)?;
    let sqs_endpoint = env.optional("PAYGATE_SQS_ENDPOINT");
    let endpoints = [
        resources.dynamodb_endpoint.as_deref(),
        resources.secrets_endpoint.as_deref(),
        sqs_endpoint.as_deref(),
    ];
    let base = aws::lambda_config(aws::Trust::for_endpoints(endpoints))?;
    let secrets = secrets_client(&base, resources.secrets_endpoint.as_deref());
    let sealer = sealer_from_secret(&secrets, &key_secret)
        .await
        .map_err(|e| ConfigError::Invalid {
            name: "PAYGATE_WEBHOOK_KEY_SECRET",
            why: e.to_string(),
        })?;
    let sqs = aws_sdk_sqs::Client::new(&with_endpoint(&base, sqs_endpoint.as_deref()));
    let mut notifier = Notifier::new(
        Arc::new(dynamo_store(&base, &resources)),
        Arc::new(SqsRetryQueue::new(sqs, queue_url)),
        Arc::new(sealer),
        policy,
        schedule,
        Arc::new(SystemClock),
    );
    notifier.metrics = metrics;
    Ok(NotifyDeps {
        notifier: Arc::new(notifier),
    })
}
