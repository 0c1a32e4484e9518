//! `paygate-local`: the whole API on one machine, API Gateway behaviour included.

use clap::Parser;
use paygate_local::{
    cli::{self, Args},
    seed,
};

#[tokio::main]
async fn main() -> Result<(), cli::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_timer(paygate_shared::logging::Rfc3339Millis)
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let running = cli::start(&args).await?;
    println!("paygate-local serving {}", running.base);
    if running.base.starts_with("https") && args.tls_cert.is_none() {
        let cert = args.tls_cert_out.display();
        println!("  self-signed certificate: {cert} (curl --cacert {cert})");
    }
    // Only the demo seed's credentials are printed: a seed file's are the user's own.
    if let Some(seeded) = &running.seeded {
        println!("  client_id:     {}", seeded.client_id);
        println!("  client_secret: {}", seeded.client_secret);
        println!("  api key:       {}", seeded.api_key);
        for account in &seeded.accounts {
            println!("  account:       {account} (CNY {})", seed::DEMO_BALANCE);
        }
    }
    shutdown().await;
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
