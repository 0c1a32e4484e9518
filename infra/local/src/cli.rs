//! The command line of `paygate-local`, and starting a gateway from it: the binary's `main`
//! only parses the arguments, calls [`start`] and waits for a signal; tests call [`start`] too.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use clap::Parser;
use paygate_shared::{
    Clock, SystemClock, auth::KeySource, notify::RetrySchedule, store::memory::MemoryStore,
};
use paygate_template::Template;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    Backend, Gateway,
    aws::{self, AwsOptions},
    notify, posting, schedule, seed,
    tls::Identity,
    upstream::Upstream,
};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "paygate's API Gateway, emulated from infra/template.yaml"
)]
pub struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// The SAM template to serve (default: the one built in).
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Clients, API keys and accounts to load (JSON, see the README) instead of the demo seed.
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// Run the functions as their own processes: `cargo-lambda=http://127.0.0.1:9000` posts
    /// their events to `cargo lambda watch` (which must see the same DynamoDB and Secrets
    /// Manager: requires --dynamodb-endpoint and --secrets-endpoint).
    #[arg(long, value_name = "cargo-lambda=URL")]
    pub upstream: Option<String>,
    #[command(flatten)]
    pub aws: AwsOptions,
    /// The waits before each webhook retry, as the notify function's
    /// PAYGATE_WEBHOOK_RETRY_SCHEDULE (`1s,2s` makes retries quick in tests).
    #[arg(long, env = "PAYGATE_WEBHOOK_RETRY_SCHEDULE", default_value = RetrySchedule::DEFAULT)]
    pub webhook_retry_schedule: RetrySchedule,
    /// How long a pending payment can be confirmed before the expiry sweep releases it, as the
    /// functions' PAYGATE_PAYMENT_TTL_SECONDS.
    #[arg(long, env = "PAYGATE_PAYMENT_TTL_SECONDS", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub payment_ttl_seconds: u64,
    /// Serve HTTPS (a self-signed certificate is generated unless --tls-cert/--tls-key).
    #[arg(long)]
    pub tls: bool,
    /// The certificate chain to serve (PEM); implies --tls.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); implies --tls.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where the generated certificate is written, for clients to trust (`curl --cacert`).
    #[arg(long, default_value = "target/paygate-local-cert.pem")]
    pub tls_cert_out: PathBuf,
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A gateway serving, as [`start`] left it.
pub struct Running {
    /// Where it listens (the port chosen when `--listen` gave 0).
    pub addr: SocketAddr,
    /// `http(s)://addr/stage`.
    pub base: String,
    pub gateway: Arc<Gateway>,
    /// The demo seed's credentials (`None` with `--seed`).
    pub seeded: Option<seed::Seeded>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    /// The schedules and the webhook notifier.
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and stops the schedules and the
    /// notifier.
    ///
    /// # Errors
    /// The server's I/O error, if it failed.
    pub async fn stop(self) -> Result<(), Error> {
        let _ = self.stop.send(());
        let served = self.server.await;
        for task in self.background {
            task.abort();
        }
        served??;
        Ok(())
    }
}

/// Builds the gateway `args` describe (template, store, keys, upstream, seed, TLS), binds
/// `--listen`, starts the template's schedules and serves in the background.
///
/// # Errors
/// Whatever makes the set-up impossible, named.
pub async fn start(args: &Args) -> Result<Running, Error> {
    let template = match &args.template {
        Some(path) => Template::from_path(path)?,
        None => Template::bundled()?,
    };
    let (backend, embedded) = backend(args, &template).await?;
    notify::log_not_emulated(&template);
    crate::waf::log_emulation(&template);
    let embedded_store = embedded.clone();
    let mut background = match (&args.aws.dynamodb_endpoint, embedded) {
        (Some(endpoint), _) => {
            let with = (&backend, &args.webhook_retry_schedule);
            notify::wiring::start_on_dynamodb(with, &template, &args.aws, endpoint).await?
        }
        (None, Some(store)) => {
            notify::wiring::start_embedded(&backend, &args.webhook_retry_schedule, store)
        }
        (None, None) => Vec::new(),
    };
    background.extend(match (&args.aws.dynamodb_endpoint, embedded_store) {
        (Some(endpoint), _) => {
            posting::start_on_dynamodb(&backend, &template, &args.aws, endpoint).await?
        }
        (None, Some(store)) => posting::start_embedded(backend.poster.clone(), store),
        (None, None) => Vec::new(),
    });
    let mut gateway = Gateway::new(&template, backend)?;
    let seeded = match &args.seed {
        Some(path) => {
            let file: seed::SeedFile = serde_json::from_slice(&std::fs::read(path)?)?;
            seed::load(&mut gateway, &file).await?;
            None
        }
        None => Some(seed::demo(&mut gateway).await?),
    };
    let tls = if args.tls || args.tls_cert.is_some() {
        let identity = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Identity::from_files(cert, key)?,
            _ => {
                let identity = Identity::self_signed()?;
                if let Some(dir) = args.tls_cert_out.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&args.tls_cert_out, &identity.cert_pem)?;
                identity
            }
        };
        Some(identity.acceptor()?)
    } else {
        None
    };

    let listener = TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{addr}/{}", gateway.stage());
    let (fire, skipped) = schedule::plan(gateway.schedules());
    for (s, why) in skipped {
        tracing::info!(function = %s.function, expression = %s.expression, why, "schedule not run");
    }
    for (s, period) in &fire {
        tracing::info!(function = %s.function, expression = %s.expression, every_s = period.as_secs(), "schedule");
    }
    let gateway = Arc::new(gateway);
    background.extend(schedule::spawn(gateway.clone(), fire));
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    let server = match tls {
        None => tokio::spawn(crate::serve(gateway.clone(), listener, stopped)),
        Some(acceptor) => tokio::spawn(crate::serve_tls(
            gateway.clone(),
            listener,
            acceptor,
            stopped,
        )),
    };
    Ok(Running {
        addr,
        base,
        gateway,
        seeded,
        stop,
        server,
        background,
    })
}

/// The store, keys and function runner the options ask for; the embedded store, when it is
/// the one (its outbox feeds the notifier).
async fn backend(
    args: &Args,
    template: &Template,
) -> Result<(Backend, Option<Arc<MemoryStore>>), Error> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (signing, public): (Arc<dyn KeySource>, Arc<dyn KeySource>) =
        match &args.aws.secrets_endpoint {
            Some(endpoint) => aws::secrets_keys(&args.aws, endpoint, clock.as_ref()).await?,
            None => {
                let keys = Backend::generated_keys(clock.as_ref())?;
                (keys.clone(), keys)
            }
        };
    let (mut backend, embedded) = match &args.aws.dynamodb_endpoint {
        Some(endpoint) => {
            let store = aws::dynamodb_store(&args.aws, endpoint, template).await?;
            (Backend::new(Arc::new(store), signing, clock), None)
        }
        None => {
            let store = Arc::new(MemoryStore::new());
            (Backend::new(store.clone(), signing, clock), Some(store))
        }
    };
    backend.public_keys = public;
    backend.payments.pending_ttl = std::time::Duration::from_secs(args.payment_ttl_seconds);
    // The functions' default risk rules, from the same variables as in Lambda (PAYGATE_RISK_*).
    let risk = paygate_shared::risk::RiskSettings::from_env(&paygate_shared::config::process_env())
        .map_err(|e| e.to_string())?;
    backend.risk = paygate_shared::risk::RiskControl::new(risk);
    if let Some(endpoint) = &args.aws.secrets_endpoint {
        backend.sealer = Arc::new(aws::webhook_sealer(&args.aws, endpoint).await?);
    } else if args.aws.dynamodb_endpoint.is_some() {
        tracing::warn!(
            "webhook secrets are sealed under a key of this process (no --secrets-endpoint): \
             endpoints registered now cannot sign after a restart"
        );
    }
    if let Some(spec) = &args.upstream {
        if args.aws.dynamodb_endpoint.is_none() || args.aws.secrets_endpoint.is_none() {
            return Err(
                "--upstream runs the functions in their own processes, which cannot see the \
                 embedded store or generated keys: give --dynamodb-endpoint and \
                 --secrets-endpoint too (the same as the functions' PAYGATE_DYNAMODB_ENDPOINT \
                 and PAYGATE_SECRETS_ENDPOINT)"
                    .into(),
            );
        }
        backend.upstream = Some(Upstream::parse(spec)?);
    }
    Ok((backend, embedded))
}
