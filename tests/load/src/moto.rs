//! A moto server of our own on 127.0.0.1, served single-threaded as `tests/run.sh` does (moto's
//! TransactWriteItems is only isolated on one thread), that the fault injector can pause
//! (SIGSTOP), resume (SIGCONT), kill (SIGKILL) and restart on the same port.

use std::{
    net::TcpStream,
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

/// moto's server as `tests/lib.sh` serves it: tests/scripts/moto_server.py (one request at a
/// time, its transactions' rollback fixed).
const SERVE: &str = include_str!("../../scripts/moto_server.py");

/// A Python that imports moto.server: `PAYGATE_TEST_MOTO_PYTHON` (which `tests/run.sh` sets to
/// the one it found or installed), else `tests/run.sh`'s venv under the target dir, else
/// `python3`.
///
/// # Errors
/// When none of them can, saying what to install.
pub fn find_python() -> Result<String, String> {
    if let Some(named) = std::env::var(MOTO_PYTHON_VAR)
        .ok()
        .filter(|v| !v.is_empty())
    {
        return if imports_moto(&named) {
            Ok(named)
        } else {
            Err(format!(
                "{MOTO_PYTHON_VAR}={named} cannot import moto.server: `{named} -m pip install \
                 'moto[server]'`, or unset it"
            ))
        };
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").to_owned());
    let venv = format!("{target}/test-venv/bin/python");
    [venv.as_str(), "python3"]
        .into_iter()
        .find(|py| imports_moto(py))
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "no Python imports moto.server (tried {venv} and python3): run the suite with \
                 `bash tests/run.sh`, which installs it, or `python3 -m pip install \
                 'moto[server]'`, or name a Python that has it in {MOTO_PYTHON_VAR}"
            )
        })
}

/// The variable naming the Python that runs moto, as for the contract suite.
const MOTO_PYTHON_VAR: &str = "PAYGATE_TEST_MOTO_PYTHON";

fn imports_moto(python: &str) -> bool {
    std::process::Command::new(python)
        .args(["-c", "import moto.server, werkzeug"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

pub struct Moto {
    pub port: u16,
    python: String,
    child: Option<Child>,
}

/// A free port on 127.0.0.1 (bound, then released).
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Moto {
    /// Starts moto on `port` (0: a free one) with `python` (`python3` unless the venv of
    /// `tests/run.sh` is needed), and waits until it accepts connections.
    ///
    /// # Errors
    /// When it does not come up within 20 s.
    pub async fn start(python: &str, port: u16) -> Result<Self, String> {
        let port = if port == 0 { free_port()? } else { port };
        let mut moto = Self {
            port,
            python: python.to_owned(),
            child: None,
        };
        moto.spawn().await?;
        Ok(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new(&self.python)
            .arg("-c")
            .arg(SERVE)
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting moto with {}: {e}", self.python))?;
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if TcpStream::connect_timeout(
                &([127, 0, 0, 1], self.port).into(),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("moto exited at start: {status}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "moto did not listen on port {} within 20 s",
            self.port
        ))
    }

    async fn signal(&self, signal: &str) -> Result<(), String> {
        let pid = self.pid().ok_or("moto is not running")?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{signal} {pid}: {status}"))
        }
    }

    /// SIGSTOP: the process keeps its socket (connections are accepted by the kernel) but
    /// answers nothing, like an endpoint that stalls.
    ///
    /// # Errors
    /// When the signal cannot be sent.
    pub async fn pause(&self) -> Result<(), String> {
        self.signal("STOP").await
    }

    /// SIGCONT.
    ///
    /// # Errors
    /// When the signal cannot be sent.
    pub async fn resume(&self) -> Result<(), String> {
        self.signal("CONT").await
    }

    /// SIGKILL, and reaps it: connections are refused from here on. Its state is lost.
    ///
    /// # Errors
    /// When the signal cannot be sent.
    pub async fn kill(&mut self) -> Result<(), String> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// A fresh moto on the same port (empty: no tables).
    ///
    /// # Errors
    /// As [`Moto::start`].
    pub async fn restart(&mut self) -> Result<(), String> {
        self.kill().await?;
        self.spawn().await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // A paused process is resumed first so that it can die promptly.
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg("-CONT")
                    .arg(pid.to_string())
                    .status();
            }
            let _ = child.start_kill();
        }
    }
}
