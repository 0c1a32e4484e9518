//! tests/webhooks/receiver.py run by the suite's Python (`PAYGATE_TEST_PYTHON`, which
//! `bash tests/run.sh` sets to a Python that imports `standardwebhooks`): without it the test
//! fails, it never skips.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use paygate_testkit::http::send;
use serde::Deserialize;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, ChildStdin, Command},
};

/// One request the receiver got, as it recorded it.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub seq: u64,
    pub path: String,
    pub webhook_id: Option<String>,
    pub webhook_timestamp: Option<String>,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    /// The body exactly as it arrived (UTF-8).
    pub body: String,
    /// Whether `standardwebhooks` verified it with a secret registered for its path.
    pub verified: bool,
    /// The names of the registered secrets that verify it.
    pub verified_by: Vec<String>,
    /// The verifier's reason when none did.
    pub error: Option<String>,
    /// What the receiver answered (`None`: it never answers).
    pub status: Option<u16>,
    /// Unix seconds (float) when the request arrived.
    pub received_at: f64,
}

impl Received {
    /// The `webhook-timestamp` header, in Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.webhook_timestamp
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no numeric webhook-timestamp: {self:?}"))
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// The running receiver; stopped when dropped (its stdin closes, and it is killed).
pub struct Receiver {
    pub addr: SocketAddr,
    _child: Child,
    _stdin: ChildStdin,
}

fn receiver_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../webhooks/receiver.py")
}

impl Receiver {
    pub async fn start() -> Self {
        let python = std::env::var("PAYGATE_TEST_PYTHON")
            .ok()
            .filter(|v| !v.is_empty())
            .expect(
                "PAYGATE_TEST_PYTHON is not set: run the suite with `bash tests/run.sh` (it \
                 installs standardwebhooks from PyPI into target/test-venv), or name a Python \
                 that imports standardwebhooks",
            );
        let mut child = Command::new(&python)
            .arg(receiver_script())
            .arg("--until-stdin-closes")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{python} does not run: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the receiver printed its port within 30 s")
            .expect("the receiver's stdout")
            .unwrap_or_else(|| {
                panic!("the receiver exited before serving ({python} lacks standardwebhooks?)")
            });
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the receiver's first line is not a port: {line}"));
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _child: child,
            _stdin: stdin,
        }
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Makes `secret` (named `name`) verify the requests to `path`.
    pub async fn add_secret(&self, path: &str, name: &str, secret: &str) {
        let body = json!({"path": path, "name": name, "secret": secret}).to_string();
        let answer = send(self.addr, "POST", "/_secrets", &[], body).await;
        assert_eq!(answer.status, 204, "the receiver took the secret");
    }

    /// Everything received so far, in arrival order.
    pub async fn received(&self) -> Vec<Received> {
        let answer = send(self.addr, "GET", "/_received", &[], "").await;
        assert_eq!(answer.status, 200);
        serde_json::from_value(answer.body["requests"].clone()).expect("the receiver's records")
    }

    /// What reached `path`.
    pub async fn received_at(&self, path: &str) -> Vec<Received> {
        let mut all = self.received().await;
        all.retain(|r| r.path == path);
        all
    }
}

/// Asserts that every request verified, naming the first that did not and why.
pub fn assert_all_verified(received: &[Received]) {
    for r in received {
        assert!(
            r.verified,
            "a delivery did not verify with standardwebhooks: {:?} ({:?})",
            r.error, r
        );
        assert_eq!(r.content_type.as_deref(), Some("application/json"), "{r:?}");
    }
}
