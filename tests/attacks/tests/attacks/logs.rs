//! Log capture: one process-wide tracing subscriber writing JSON lines (as the Lambdas and the
//! gateway do in production) into memory, at TRACE so nothing is filtered out, and the check
//! that no watched secret or token, nor a token's signature, appears in any captured line.

use std::{
    io,
    sync::{Arc, Mutex},
};

use tracing_subscriber::fmt::MakeWriter;

use crate::{forge, support::Watchlist};

/// Everything logged so far.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Installs the capture as the process's subscriber.
    pub fn install() -> Self {
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        capture
    }

    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Appends to the shared buffer.
pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(self.0.clone())
    }
}

/// The watched values found in the captured logs: `(what, where)` per leak. A token is also
/// looked for by its signature alone (a log line that cut the token short still leaks it).
pub fn leaks(logs: &str, watch: &Watchlist) -> Vec<String> {
    let mut leaks = Vec::new();
    for (what, value) in watch.entries() {
        let mut needles = vec![value.clone()];
        let [_, _, signature] = forge::segments(&value);
        if signature.len() >= 32 {
            needles.push(signature.to_owned());
        }
        for needle in needles {
            if let Some(line) = logs.lines().find(|line| line.contains(&needle)) {
                leaks.push(format!(
                    "{what} in: {}",
                    line.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    leaks
}
