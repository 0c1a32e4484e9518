//! `paygate-local`: the whole API on one machine, API Gateway behaviour included.

use std::{net::SocketAddr, sync::Arc};

use clap::Parser;
use paygate_local::{Backend, Gateway, seed};
use paygate_template::Template;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "paygate's API Gateway, emulated from infra/template.yaml"
)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// The SAM template to serve (default: the one built in).
    #[arg(long)]
    template: Option<std::path::PathBuf>,
    /// Clients, API keys and accounts to load (JSON, see the README) instead of the demo seed.
    #[arg(long)]
    seed: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let template = match &args.template {
        Some(path) => Template::from_path(path)?,
        None => Template::bundled()?,
    };
    let mut gateway = Gateway::new(&template, Backend::system()?)?;
    let seeded = match &args.seed {
        Some(path) => {
            let file: seed::SeedFile = serde_json::from_slice(&std::fs::read(path)?)?;
            seed::load(&mut gateway, &file).await?;
            None
        }
        None => Some(seed::demo(&mut gateway).await?),
    };
    let listener = TcpListener::bind(args.listen).await?;
    let base = format!("http://{}/{}", listener.local_addr()?, gateway.stage());
    println!("paygate-local serving {base}");
    // Only the demo seed's credentials are printed: a seed file's are the user's own.
    if let Some(seeded) = seeded {
        println!("  client_id:     {}", seeded.client_id);
        println!("  client_secret: {}", seeded.client_secret);
        println!("  api key:       {}", seeded.api_key);
        for account in &seeded.accounts {
            println!("  account:       {account} (CNY {})", seed::DEMO_BALANCE);
        }
    }
    paygate_local::serve(Arc::new(gateway), listener, shutdown()).await?;
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
