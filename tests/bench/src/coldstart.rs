//! Cold start: the time from exec of a release bootstrap to its first poll of the Lambda Runtime
//! API (`GET /2018-06-01/runtime/invocation/next`), answered by a stand-in on 127.0.0.1. That is
//! exactly the init phase Lambda bills and reports: tracing set up, configuration read, SDK
//! clients built as in production. The stand-in never answers the poll; the process is killed
//! once its peak RSS (`VmHWM`) has been read.
//!
//! The environment is the one Lambda gives a `provided.al2023` function of
//! `infra/template.yaml` (static credentials as Lambda's `AWS_ACCESS_KEY_ID`…, JSON logs at
//! INFO). By default the DynamoDB and Secrets Manager endpoints point at a closed port of
//! 127.0.0.1, so that nothing a future init might send can leave the machine;
//! `--production-endpoints` leaves them unset, as deployed (the functions make no network call
//! at init, so both give the same numbers).

use std::{
    io::Read,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use crate::{
    bootstrap::{self, Function},
    report::{self, Table},
};

/// The path the runtime polls for the next invocation.
const NEXT_INVOCATION: &str = "GET /2018-06-01/runtime/invocation/next ";

#[derive(clap::Args)]
pub struct Args {
    /// Measured starts per function (after `--warmup` unmeasured ones).
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Unmeasured starts per function first (page cache, dynamic loader caches).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Only these functions (repeatable); all by default.
    #[arg(long = "only")]
    only: Vec<String>,
    /// Use the bootstraps already in target/release instead of building them.
    #[arg(long)]
    skip_build: bool,
    /// Measure the bootstraps in this directory (named as the functions) instead: e.g. copies
    /// kept from before a change. Implies `--skip-build`.
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Leave the DynamoDB/Secrets Manager endpoint variables unset, as deployed.
    #[arg(long)]
    production_endpoints: bool,
    /// An extra variable for the functions, `NAME=VALUE` (repeatable): for experiments such
    /// as `--env SSL_CERT_DIR=/nonexistent`.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    extra_env: Vec<String>,
    /// Replace the `coldstart` section of this markdown file.
    #[arg(long, num_args = 0..=1, default_missing_value = "docs/performance.md")]
    write: Option<PathBuf>,
}

/// What one function's starts measured.
struct Measured {
    function: Function,
    /// Seconds from exec to the first poll, sorted.
    init: Vec<f64>,
    /// Peak RSS at the first poll, bytes, sorted.
    peak_rss: Vec<u64>,
    size: u64,
}

/// Runs the cold-start benchmark and prints (and optionally writes) its table.
///
/// # Errors
/// When a build fails or a bootstrap does not reach its first poll.
pub fn run(args: &Args) -> crate::Result<()> {
    let functions = bootstrap::select(&args.only)?;
    let binaries = if let Some(dir) = &args.bin_dir {
        functions.iter().map(|f| dir.join(f.name)).collect()
    } else if args.skip_build {
        bootstrap::host_binaries(&functions)
    } else {
        bootstrap::build_host(&functions)?
    };
    let mut results = Vec::new();
    for (function, binary) in functions.iter().zip(&binaries) {
        eprintln!("{}: {} starts…", function.name, args.runs);
        for _ in 0..args.warmup {
            start_once(function, binary, args)?;
        }
        let mut init = Vec::with_capacity(args.runs);
        let mut peak_rss = Vec::with_capacity(args.runs);
        for _ in 0..args.runs {
            let (elapsed, rss) = start_once(function, binary, args)?;
            init.push(elapsed.as_secs_f64());
            peak_rss.push(rss);
        }
        init.sort_by(f64::total_cmp);
        peak_rss.sort_unstable();
        results.push(Measured {
            function: *function,
            init,
            peak_rss,
            size: std::fs::metadata(binary)?.len(),
        });
    }
    let body = render(&results, args);
    println!("{body}");
    if let Some(path) = &args.write {
        report::write_section(&bootstrap::workspace_root().join(path), "coldstart", &body)?;
    }
    Ok(())
}

fn render(results: &[Measured], args: &Args) -> String {
    let mut table = Table::new(&[
        "function",
        "init median (ms)",
        "init p90 (ms)",
        "init min–max (ms)",
        "peak RSS median (MiB)",
        "peak RSS max (MiB)",
        "stripped x86_64 (MB)",
        "targets (init ≤ 10 ms, RSS ≤ 20 MiB, size)",
    ]);
    for m in results {
        let init_median = report::median(&m.init);
        let init_p90 = report::quantile(&m.init, 0.9);
        let rss: Vec<f64> = m.peak_rss.iter().map(|&b| b as f64).collect();
        let (rss_median, rss_max) = (report::median(&rss), rss.last().copied().unwrap_or(0.0));
        let mib = |b: f64| format!("{:.1}", b / 1_048_576.0);
        let verdict = |ok: bool| if ok { "✓" } else { "✗" };
        table.row(vec![
            format!("`{}`", m.function.name),
            report::ms(init_median),
            report::ms(init_p90),
            format!(
                "{}–{}",
                report::ms(m.init[0]),
                report::ms(*m.init.last().unwrap_or(&0.0))
            ),
            mib(rss_median),
            mib(rss_max),
            report::mb(m.size),
            format!(
                "{} {} {} (≤ {} MB)",
                verdict(init_median <= 0.010),
                verdict(rss_max <= 20.0 * 1_048_576.0),
                verdict(m.size <= m.function.size_target),
                m.function.size_target / 1_000_000,
            ),
        ]);
    }
    let endpoints = if args.production_endpoints {
        "endpoint variables unset, as deployed"
    } else {
        "DynamoDB/Secrets Manager endpoints on a closed 127.0.0.1 port"
    };
    let extra = if args.extra_env.is_empty() {
        String::new()
    } else {
        format!("; extra environment `{}`", args.extra_env.join(" "))
    };
    format!(
        "Machine: {}\n\n`paygate-bench coldstart`: {} measured starts per function after {} \
         unmeasured; exec of the x86_64 release bootstrap to its first `GET \
         /2018-06-01/runtime/invocation/next` on a local Runtime API stand-in; peak RSS is \
         `VmHWM` at that poll; {endpoints}{extra}.\n\n{}",
        report::machine(),
        args.runs,
        args.warmup,
        table.to_markdown()
    )
}

/// Starts `binary` once and returns the time to its first poll and its peak RSS then.
fn start_once(function: &Function, binary: &Path, args: &Args) -> crate::Result<(Duration, u64)> {
    let runtime_api = TcpListener::bind("127.0.0.1:0")?;
    let address = runtime_api.local_addr()?;
    let (polled, first_poll) = mpsc::channel();
    thread::spawn(move || {
        // Anything but a poll (there is none today) is read and dropped.
        for stream in runtime_api.incoming() {
            let Ok(stream) = stream else { return };
            if let Some(at) = read_poll(&stream) {
                // The connection stays open, unanswered, until the process is killed.
                let _ = polled.send((at, stream));
                return;
            }
        }
    });
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(lambda_environment(function, &address.to_string()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for pair in &args.extra_env {
        let (name, value) = pair.split_once('=').ok_or("--env takes NAME=VALUE")?;
        command.env(name, value);
    }
    if !args.production_endpoints {
        // A closed port: an init that tried the network would fail fast, and locally.
        let closed = format!("http://127.0.0.1:{}", closed_port()?);
        command
            .env("PAYGATE_DYNAMODB_ENDPOINT", &closed)
            .env("PAYGATE_SECRETS_ENDPOINT", &closed);
    }
    let started = Instant::now();
    let mut child = command.spawn()?;
    let outcome = first_poll.recv_timeout(Duration::from_secs(10));
    let peak_rss = outcome.as_ref().ok().map(|_| vm_hwm(child.id()));
    let ended_early = child.try_wait()?;
    kill(&mut child);
    match (outcome, peak_rss) {
        (Ok((at, _connection)), Some(Ok(rss))) => Ok((at.duration_since(started), rss)),
        (Ok(_), Some(Err(err))) => Err(format!("{}: reading VmHWM: {err}", function.name).into()),
        _ => {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            Err(format!(
                "{} did not poll the Runtime API within 10 s (exit: {ended_early:?}); stderr:\n{stderr}",
                function.name
            )
            .into())
        }
    }
}

/// Reads a request line; the instant it arrived when it is the poll for the next invocation.
fn read_poll(mut stream: &TcpStream) -> Option<Instant> {
    let mut request = Vec::with_capacity(256);
    let mut buffer = [0u8; 256];
    while !request.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let at = Instant::now();
    request
        .starts_with(NEXT_INVOCATION.as_bytes())
        .then_some(at)
}

/// The environment Lambda gives the function (`provided.al2023`, `infra/template.yaml`).
fn lambda_environment(function: &Function, runtime_api: &str) -> Vec<(&'static str, String)> {
    let fixed = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function.name),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/paygate-bench"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]0123456789abcdef",
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHMARKEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "benchmark/secret/access/key/example",
        ),
        ("AWS_SESSION_TOKEN", "benchmark-session-token"),
        ("_HANDLER", "bootstrap"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        (
            "LD_LIBRARY_PATH",
            "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        ),
        ("PAYGATE_ACCOUNTS_TABLE", "paygate-bench-accounts"),
        ("PAYGATE_TRANSACTIONS_TABLE", "paygate-bench-transactions"),
        ("PAYGATE_TOKEN_ISSUER", "paygate"),
        ("PAYGATE_TOKEN_AUDIENCE", "paygate-api"),
        ("PAYGATE_SIGNING_KEY_SECRET", "paygate-bench/signing-key"),
        ("PAYGATE_PUBLIC_KEYS_SECRET", "paygate-bench/public-keys"),
    ];
    fixed.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// A port of 127.0.0.1 nothing listens on (bound, then released).
fn closed_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `VmHWM` (peak resident set) of process `pid`, in bytes.
fn vm_hwm(pid: u32) -> crate::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmHWM in /proc/<pid>/status")?;
    Ok(kib * 1024)
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
