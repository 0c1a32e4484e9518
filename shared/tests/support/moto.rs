//! The DynamoDB endpoint for the contract suite: `PAYGATE_TEST_DYNAMODB_ENDPOINT` when set,
//! otherwise one moto server started on demand, once per test binary, that dies with it.
//!
//! moto is started SINGLE-THREADED (its WSGI app under `run_simple(threaded=False)`), not with
//! `moto_server`, whose `threaded=True` server runs requests at the same time: moto's
//! `TransactWriteItems` holds no lock (two transactions can both pass an
//! `attribute_not_exists` condition) and rolls back a cancelled transaction by restoring a deep
//! copy of the whole table, wiping writes that concurrent requests committed meanwhile. DynamoDB
//! itself serializes transactions; one request at a time is the faithful model, and the
//! concurrency case fails on a threaded moto whatever the adapter does. An endpoint given in
//! `PAYGATE_TEST_DYNAMODB_ENDPOINT` must therefore not be a threaded moto either.

use std::{
    fs::File,
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Command, Stdio},
    sync::OnceLock,
    thread,
    time::{Duration, Instant},
};

/// The environment variable naming an already running DynamoDB-compatible endpoint.
pub const ENDPOINT_VAR: &str = "PAYGATE_TEST_DYNAMODB_ENDPOINT";

/// The Python that runs moto (`PAYGATE_TEST_MOTO_PYTHON`, default `python3`).
pub const PYTHON_VAR: &str = "PAYGATE_TEST_MOTO_PYTHON";

/// moto's server application, one request at a time (see the module docs), with its
/// transactions' rollback fixed as tests/scripts/moto_server.py's docstring says; the port is
/// its argument.
const MOTO_PROGRAM: &str = include_str!("../../../tests/scripts/moto_server.py");

/// How long moto may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();

/// The endpoint URL, starting moto on first use. Blocks the calling thread while moto starts,
/// so call it from `tokio::task::block_in_place` inside a runtime. A failed start is remembered
/// and reported by every test, rather than retried by each.
pub fn endpoint() -> String {
    let result = ENDPOINT.get_or_init(|| match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.trim().is_empty() => Ok(endpoint.trim().to_owned()),
        _ => start_moto(),
    });
    match result {
        Ok(endpoint) => endpoint.clone(),
        Err(message) => panic!("{message}"),
    }
}

fn start_moto() -> Result<String, String> {
    let port = free_port()?;
    let parent = std::process::id();
    let log_path = std::env::temp_dir().join(format!("paygate-moto-{parent}-{port}.log"));
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create moto's log file {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot share moto's log file: {e}"))?;
    let python = std::env::var(PYTHON_VAR).unwrap_or_else(|_| "python3".to_owned());
    // The shell watches this test process and stops moto once it is gone, however the test
    // binary ends (success, panic, or a signal). Python, its program and the port come in as `$1`, `$2`, `$3`.
    let script = format!(
        "\"$1\" -c \"$2\" \"$3\" & m=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $m"
    );
    let _watchdog = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg("sh")
        .arg(&python)
        .arg(MOTO_PROGRAM)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot run `sh` to start moto: {e}"))?;

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if TcpStream::connect_timeout(&address, Duration::from_millis(250)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        if moto_missing(&log_path) {
            return Err(not_started(
                &log_path,
                &format!("`{python}` cannot run moto's server (is moto installed for it?)"),
            ));
        }
        if Instant::now() >= deadline {
            return Err(not_started(
                &log_path,
                &format!("nothing accepted connections on {address} within {STARTUP_TIMEOUT:?}"),
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// A port nothing listens on right now (the kernel's pick for an ephemeral bind).
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot find a free port for moto: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port for moto: {e}"))
}

/// The early failures worth reporting before the timeout: no Python, or no moto (or Flask,
/// which moto's server needs) for it.
fn moto_missing(log_path: &Path) -> bool {
    std::fs::read_to_string(log_path).is_ok_and(|log| {
        log.contains("ModuleNotFoundError")
            || log.contains("No module named")
            || log.contains("not found")
    })
}

fn not_started(log_path: &Path, why: &str) -> String {
    format!(
        "the DynamoDB contract tests need moto and it did not start: {why}. \
         Install it with `pip install 'moto[server]'` (for another interpreter, name it in \
         {PYTHON_VAR}), or point {ENDPOINT_VAR} at a running DynamoDB-compatible endpoint that \
         serializes transactions (not a threaded moto). moto's output is in {}",
        log_path.display()
    )
}
