//! `paygate-local` as its command line starts it, with the seed of [`super::seed_file`] and the
//! quick retry schedule `1s,2s`: in this process (`cli::start`, what the binary's `main` calls),
//! or as the binary itself in its own process, for the test that kills it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::OnceLock,
    time::Duration,
};

use clap::Parser;
use paygate_local::cli::{self, Args};
use paygate_testkit::moto_endpoint;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// Where the gateway keeps its data.
#[derive(Debug, Clone)]
pub enum Store {
    Embedded,
    /// Tables `{prefix}-accounts` and `{prefix}-transactions` and the keys' secrets on the
    /// suite's moto.
    Moto {
        prefix: String,
    },
}

impl Store {
    /// Fresh tables on moto.
    pub fn fresh_moto(name: &str) -> Self {
        Self::Moto {
            prefix: format!("{name}{}", ulid::Ulid::new().to_string().to_lowercase()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Moto { .. } => "moto",
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Self::Embedded => Vec::new(),
            // Secrets Manager on the same moto: the signing keys and the webhook sealing key
            // outlive the process, so a restarted gateway opens the secrets it sealed.
            Self::Moto { prefix } => vec![
                "--dynamodb-endpoint".into(),
                moto_endpoint(),
                "--secrets-endpoint".into(),
                moto_endpoint(),
                "--accounts-table".into(),
                format!("{prefix}-accounts"),
                "--transactions-table".into(),
                format!("{prefix}-transactions"),
            ],
        }
    }
}

/// A fresh directory holding the seed file.
fn seed_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paygate-webhooks-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(dir.join("seed.json"), super::seed_file().to_string()).expect("the seed");
    dir
}

/// The command line: listen on a free port, the seed, `1s,2s` retries, the store, `extra`.
fn command_line(dir: &Path, store: &Store, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--listen",
        "127.0.0.1:0",
        "--webhook-retry-schedule",
        "1s,2s",
        "--seed",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(dir.join("seed.json").display().to_string());
    args.extend(store.args());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// `paygate-local` in this process.
pub struct InProcess {
    pub addr: SocketAddr,
    running: Option<cli::Running>,
}

impl InProcess {
    pub async fn start(store: &Store, extra: &[&str]) -> Self {
        let dir = seed_dir();
        let line = command_line(&dir, store, extra);
        let args = Args::try_parse_from(std::iter::once("paygate-local".to_owned()).chain(line))
            .unwrap_or_else(|e| panic!("paygate-local's command line: {e}"));
        let running = cli::start(&args).await.expect("paygate-local starts");
        Self {
            addr: running.addr,
            running: Some(running),
        }
    }

    /// Runs the template's expiry sweep now, as its `rate(1 minute)` schedule does: the same
    /// code, without the minute's wait.
    pub async fn sweep(&self) {
        let running = self.running.as_ref().expect("running");
        let (planned, _) = paygate_local::schedule::plan(running.gateway.schedules());
        let (schedule, _) = planned
            .iter()
            .find(|(s, _)| s.binary.as_deref() == Some(paygate_local::schedule::EXPIRE_BINARY))
            .expect("the template schedules the expiry sweep");
        paygate_local::schedule::fire(&running.gateway, schedule).await;
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("a clean stop");
        }
    }
}

/// The `paygate-local` binary, built once per test process the way
/// tests/openapi/client_check.sh builds it, beside this test's own executable.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = std::process::Command::new(&cargo)
            .args(["build", "--quiet", "--locked", "-p", "paygate-local"])
            .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
            .status()
            .unwrap_or_else(|e| panic!("{cargo} build: {e}"));
        assert!(status.success(), "cargo build -p paygate-local failed");
        // This test runs as target/<profile>/deps/<name>-<hash>: the binary is two levels up.
        let exe = std::env::current_exe().expect("the test's own path");
        let bin = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .join("paygate-local");
        assert!(bin.exists(), "no {} after building it", bin.display());
        bin
    })
}

/// The `paygate-local` binary in its own process, its stderr (JSON logs) in `log`.
pub struct Process {
    pub addr: SocketAddr,
    pub log: PathBuf,
    child: Child,
}

impl Process {
    pub async fn spawn(store: &Store, extra: &[&str]) -> Self {
        let dir = seed_dir();
        let log = dir.join("paygate-local.log");
        let bin = binary();
        let mut child = Command::new(bin)
            .args(command_line(&dir, store, extra))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("paygate-local served within 60 s")
            .expect("its stdout")
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("paygate-local exited before serving:\n{log}")
            });
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { addr, log, child }
    }

    /// SIGKILL: no shutdown code runs, nothing is flushed.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Its logs so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
