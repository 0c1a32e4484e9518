//! `paygate-load`: parses the command line and runs one of the library's commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::{path::PathBuf, time::Duration};

use paygate_shared::PostingMode;

use paygate_load::{
    conserve::{self, ConserveOptions},
    faults::{self, FaultOptions},
    setup::StoreChoice,
    throughput::{self, Scenario, ThroughputOptions, replace_section},
    webhooks::{self, WebhookOptions},
};

#[derive(Debug, Parser)]
#[command(about = "Load, conservation audit, faults and throughput through the local gateway")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StoreKind {
    Memory,
    Dynamodb,
}

#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// The store the functions run on.
    #[arg(long, value_enum, default_value = "memory")]
    store: StoreKind,
    /// DynamoDB endpoint (moto) for --store dynamodb; fresh tables are created per run.
    #[arg(long, env = "PAYGATE_TEST_DYNAMODB_ENDPOINT")]
    dynamodb_endpoint: Option<String>,
}

impl StoreArgs {
    fn choice(&self) -> Result<StoreChoice, String> {
        match (self.store, &self.dynamodb_endpoint) {
            (StoreKind::Memory, _) => Ok(StoreChoice::Memory),
            (StoreKind::Dynamodb, Some(endpoint)) => Ok(StoreChoice::dynamodb(endpoint)),
            (StoreKind::Dynamodb, None) => Err("--store dynamodb needs --dynamodb-endpoint".into()),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Random concurrent payments, confirms, cancels, retries and races; then audit the store.
    Conserve {
        #[command(flatten)]
        store: StoreArgs,
        /// Concurrent workers (two per OAuth client).
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Requests per worker, at most.
        #[arg(long, default_value_t = 400)]
        requests: u64,
        /// Wall-clock bound, seconds.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// Accounts every worker pays into (and owners pay from and refund out of).
        #[arg(long, default_value_t = 4)]
        hot_accounts: usize,
        /// The hot accounts' posting mode; `batched` runs the poster, checks conservation with
        /// the unposted credits at instants during the load, and switches one hot account to
        /// `immediate` and back as it runs.
        #[arg(long, value_enum, default_value = "batched")]
        hot_posting: PostingArg,
        #[arg(long, default_value_t = 1)]
        seed_rng: u64,
        /// Write the figures into this file between `<!-- load:begin -->` and `<!-- load:end -->`.
        #[arg(long, num_args = 0..=1, default_missing_value = "docs/reliability.md")]
        write: Option<PathBuf>,
    },
    /// Requests/s and p50/p99/p99.9 latency per scenario and concurrency.
    Throughput {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
        concurrency: Vec<usize>,
        /// Measured seconds per cell (after a 1 s warm-up).
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        #[arg(long, value_enum, default_value = "all")]
        scenario: ScenarioArg,
        /// Worker threads of the in-process gateway's runtime.
        #[arg(long, default_value_t = 2)]
        gateway_threads: usize,
        /// Worker threads of the load generator's runtime.
        #[arg(long, default_value_t = 1)]
        load_threads: usize,
        /// Run this paygate-local binary as the gateway (e.g. target/release/paygate-local).
        #[arg(long)]
        gateway_bin: Option<PathBuf>,
        /// Write the tables into this file between `<!-- throughput:begin -->` and `<!-- throughput:end -->`.
        #[arg(long, num_args = 0..=1, default_missing_value = "docs/performance.md")]
        write: Option<PathBuf>,
    },
    /// Webhooks: the API's one-step throughput without and with an endpoint registered, the
    /// time from commit to first delivery attempt (idle and under load), deliveries per second.
    Webhooks {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Measured seconds per loaded phase (after a 1 s warm-up).
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Sequential payments of the idle-latency phase (two events each).
        #[arg(long, default_value_t = 100)]
        samples: usize,
        /// Write the tables into this file between `<!-- webhooks-{store}:begin -->` and `end`.
        #[arg(long, num_args = 0..=1, default_missing_value = "docs/performance.md")]
        write: Option<PathBuf>,
    },
    /// The conserve load on a moto of its own, paused (SIGSTOP) then killed and restarted;
    /// Secrets Manager unavailable at a cold start.
    Faults {
        /// Port for the moto this command starts (0: a free one).
        #[arg(long, default_value_t = 0)]
        moto_port: u16,
        /// A Python that can import moto.server (e.g. target/test-venv/bin/python).
        #[arg(long, default_value = "python3")]
        python: String,
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Seconds the endpoint stays paused / killed.
        #[arg(long, default_value_t = 4.0)]
        pause_seconds: f64,
        /// Seconds of load before and after each fault.
        #[arg(long, default_value_t = 3.0)]
        phase_seconds: f64,
        #[arg(long, default_value_t = 7)]
        seed_rng: u64,
        /// Write the figures into this file between `<!-- load:begin -->` and `<!-- load:end -->`.
        #[arg(long, num_args = 0..=1, default_missing_value = "docs/reliability.md")]
        write: Option<PathBuf>,
    },
    /// Writes what a `paygate-local` of its own needs for an outside load generator (wrk,
    /// `tests/load/wrk.sh`): `seed.json` (one client on the premium plan, `2n + 2` funded CNY
    /// accounts), `template.yaml` (the premium plan's limits raised) and `env` (the client's
    /// credentials, `SOURCES`, `DESTINATION`) in DIR.
    Prepare {
        #[arg(long)]
        dir: PathBuf,
        /// Source accounts (`n`).
        #[arg(long, default_value_t = 64)]
        sources: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PostingArg {
    Immediate,
    Batched,
}

impl PostingArg {
    fn mode(self) -> PostingMode {
        match self {
            Self::Immediate => PostingMode::Immediate,
            Self::Batched => PostingMode::Batched,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ScenarioArg {
    Balance,
    Pay,
    OneStep,
    PayConfirm,
    Transactions,
    /// One-step payments into one immediate account, one batched account and one account per
    /// connection, in one run (busy merchants).
    Hot,
    All,
}

impl ScenarioArg {
    fn scenarios(self) -> Vec<Scenario> {
        match self {
            Self::Balance => vec![Scenario::Balance],
            Self::Pay => vec![Scenario::Pay],
            Self::OneStep => vec![Scenario::OneStep],
            Self::PayConfirm => vec![Scenario::PayConfirm],
            Self::Transactions => vec![Scenario::Transactions],
            Self::Hot => Scenario::HOT.to_vec(),
            Self::All => Scenario::ALL.to_vec(),
        }
    }
}

/// Writes `section` between `<!-- {name}:begin -->` and `<!-- {name}:end -->` of `path`.
fn write_section(path: &PathBuf, name: &str, title: &str, section: &str) -> Result<(), String> {
    let doc = std::fs::read_to_string(path).unwrap_or_else(|_| format!("# {title}\n"));
    let out = replace_section(
        &doc,
        &format!("<!-- {name}:begin -->"),
        &format!("<!-- {name}:end -->"),
        section,
    );
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote the {name} section of {}", path.display());
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Command::Throughput { .. } = &args.command {
        // Builds its own runtimes: one for the gateway, one for the load.
        return match throughput_command(args.command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("paygate-load: {err}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("paygate-load: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("paygate-load: {err}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<bool, String> {
    match args.command {
        Command::Conserve {
            store,
            clients,
            requests,
            seconds,
            hot_accounts,
            hot_posting,
            seed_rng,
            write,
        } => {
            let options = ConserveOptions {
                store: store.choice()?,
                clients,
                requests,
                seconds,
                hot_accounts,
                hot_posting: hot_posting.mode(),
                seed: seed_rng,
                ..ConserveOptions::default()
            };
            let report = conserve::run(&options).await?;
            println!("{}", report.table());
            for v in report.violations.iter().take(50) {
                println!("VIOLATION: {v}");
            }
            for s in &report.stats.server_error_samples {
                println!("5xx: {s}");
            }
            if let Some(path) = write {
                let section = format!(
                    "### Conservation under load\n\n`cargo run --release -p paygate-load -- conserve --store {} --clients {clients} --requests {requests} --seconds {seconds} --hot-accounts {hot_accounts} --hot-posting {} --seed-rng {seed_rng}`\n\n{}",
                    if matches!(options.store, StoreChoice::Memory) {
                        "memory"
                    } else {
                        "dynamodb --dynamodb-endpoint URL"
                    },
                    options.hot_posting.as_str(),
                    report.table()
                );
                write_reliability(&path, "conserve", &section)?;
            }
            Ok(report.passed())
        }
        Command::Prepare { dir, sources } => {
            let files = throughput::write_gateway_files(&dir, sources)?;
            let list = |ids: &[paygate_shared::AccountId]| {
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let env = format!(
                "CLIENT_ID={}\nCLIENT_SECRET={}\nAPI_KEY={}\nSOURCES=\"{}\"\nDESTINATION={}\n",
                files.client.client_id,
                files.client.client_secret,
                files.client.api_key,
                list(&files.ids[..sources]),
                files.ids[sources],
            );
            std::fs::write(dir.join("env"), env).map_err(|e| e.to_string())?;
            println!("{}", dir.display());
            Ok(true)
        }
        Command::Faults {
            moto_port,
            python,
            clients,
            pause_seconds,
            phase_seconds,
            seed_rng,
            write,
        } => {
            let options = FaultOptions {
                python,
                moto_port,
                clients,
                before: Duration::from_secs_f64(phase_seconds),
                pause: Duration::from_secs_f64(pause_seconds),
                after: Duration::from_secs_f64(phase_seconds),
                seed: seed_rng,
                ..FaultOptions::default()
            };
            let report = faults::run(&options).await?;
            let table = report.table();
            println!("{table}");
            for p in &report.phases {
                for v in p.report.violations.iter().take(20) {
                    println!("VIOLATION ({}): {v}", p.fault);
                }
                for s in &p.report.stats.server_error_samples {
                    println!("5xx ({}): {s}", p.fault);
                }
            }
            println!(
                "run time {:.1} s; {}",
                report.elapsed.as_secs_f64(),
                if report.passed() { "PASS" } else { "FAIL" }
            );
            if let Some(path) = write {
                let section = format!(
                    "### Faults: DynamoDB paused, killed and restarted; Secrets Manager down at cold start\n\n`cargo run --release -p paygate-load -- faults --clients {clients} --pause-seconds {pause_seconds} --phase-seconds {phase_seconds}` (run time {:.0} s)\n\n{table}",
                    report.elapsed.as_secs_f64()
                );
                write_reliability(&path, "faults", &section)?;
            }
            Ok(report.passed())
        }
        Command::Webhooks {
            store,
            concurrency,
            seconds,
            samples,
            write,
        } => {
            let on_moto = matches!(store.store, StoreKind::Dynamodb);
            let options = WebhookOptions {
                store: store.choice()?,
                concurrency,
                seconds,
                samples,
            };
            let report = webhooks::run(&options).await?;
            let table = webhooks::markdown(&report, &options);
            println!("{table}");
            if let Some(path) = write {
                let (name, flags) = if on_moto {
                    ("webhooks-moto", " --store dynamodb --dynamodb-endpoint URL")
                } else {
                    ("webhooks-memory", "")
                };
                let section = format!(
                    "### Webhooks on the {} store\n\n`cargo run -p paygate-load -- webhooks{flags} --concurrency {concurrency} --seconds {seconds} --samples {samples}`\n\n{table}",
                    report.store
                );
                write_section(&path, name, "Performance", &section)?;
            }
            Ok(true)
        }
        Command::Throughput { .. } => Err("unreachable".into()),
    }
}

/// Writes `section` into the `load` section of docs/reliability.md, between its own
/// `<!-- load-{part}:begin -->`/`end` markers (so conserve and faults each keep the other's).
fn write_reliability(path: &PathBuf, part: &str, section: &str) -> Result<(), String> {
    let doc = std::fs::read_to_string(path).unwrap_or_else(|_| "# Reliability\n".to_owned());
    let doc = if doc.contains("<!-- load:begin -->") {
        doc
    } else {
        replace_section(
            &doc,
            "<!-- load:begin -->",
            "<!-- load:end -->",
            "## Load: conservation and faults (`tests/load`)\n\n<!-- load-conserve:begin -->\n<!-- load-conserve:end -->\n\n<!-- load-faults:begin -->\n<!-- load-faults:end -->\n",
        )
    };
    let (begin, end) = (
        format!("<!-- load-{part}:begin -->"),
        format!("<!-- load-{part}:end -->"),
    );
    if !doc.contains(&begin) {
        return Err(format!(
            "{} has a load section without {begin}",
            path.display()
        ));
    }
    let out = replace_section(&doc, &begin, &end, section);
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote the load-{part} section of {}", path.display());
    Ok(())
}

fn throughput_command(command: Command) -> Result<(), String> {
    let Command::Throughput {
        store,
        concurrency,
        seconds,
        scenario,
        gateway_threads,
        load_threads,
        gateway_bin,
        write,
    } = command
    else {
        return Err("not the throughput command".into());
    };
    let on_moto = matches!(store.store, StoreKind::Dynamodb);
    let hot = matches!(scenario, ScenarioArg::Hot);
    let options = ThroughputOptions {
        store: store.choice()?,
        concurrency,
        seconds,
        warmup: 1.0,
        scenarios: scenario.scenarios(),
        gateway_threads,
        load_threads,
        gateway_bin,
    };
    let (setting, cells) = throughput::run(&options)?;
    let table = throughput::markdown(&setting, &cells);
    println!("{table}");
    if let Some(path) = write {
        // The same gateway on moto is its own section, beside the embedded store's, so the
        // gateway's own overhead shows against the store's.
        let (name, title, command) = if hot && on_moto {
            (
                "hot-moto",
                "### Busy merchants on moto: one account, batched or not",
                "cargo run --release -p paygate-load -- throughput --store dynamodb --dynamodb-endpoint URL --scenario hot --concurrency 16 --seconds 10 --write",
            )
        } else if hot {
            (
                "hot",
                "### Busy merchants on the embedded store: one account, batched or not",
                "cargo run --release -p paygate-load -- throughput --scenario hot --concurrency 16,64 --seconds 5 --write",
            )
        } else if on_moto {
            (
                "throughput-moto",
                "### Throughput through the local gateway on moto (DynamoDB emulator)",
                "cargo run --release -p paygate-load -- throughput --store dynamodb --dynamodb-endpoint URL --concurrency 1,16 --seconds 3 --write",
            )
        } else {
            (
                "throughput",
                "### Throughput through the local gateway",
                "cargo run --release -p paygate-load -- throughput --write",
            )
        };
        let section = format!("{title}\n\n`{command}`\n\n{table}");
        write_section(&path, name, "Performance", &section)?;
    }
    Ok(())
}
