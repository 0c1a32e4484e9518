//! The README's quickstart, executed: its first command is how the gateway starts (checked
//! against the binary's defaults), and its curl session runs verbatim with bash against a
//! gateway started the same way (only the port differs, as 3000 may be taken).

mod common;

use clap::Parser;
use serde_json::Value;

const README: &str = include_str!("../../../README.md");
const DEFAULT_BASE: &str = "http://127.0.0.1:3000/v1";

/// The `sh` code blocks of the README section `heading`, in order.
fn sh_blocks(heading: &str) -> Vec<String> {
    let section = README
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("the README has no section `{heading}`"));
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_quickstart_works_verbatim() {
    let blocks = sh_blocks("Run the API locally");
    assert_eq!(
        blocks[0].trim(),
        "cargo run --release -p paygate-local",
        "the first command a new user runs starts the local gateway"
    );
    let defaults = paygate_local::cli::Args::try_parse_from(["paygate-local"]).expect("defaults");
    assert_eq!(
        format!("http://{}/v1", defaults.listen),
        DEFAULT_BASE,
        "the quickstart talks to where the gateway listens by default"
    );
    let session = &blocks[1];
    assert!(session.contains(DEFAULT_BASE));

    let (running, api) = common::start_cli(&["--listen", "127.0.0.1:0"]).await;
    let base = format!("http://{}/v1", api.addr);
    let script = session.replace(DEFAULT_BASE, &base);
    let output = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the quickstart failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It prints the confirmed payment, the payer's balance and its last ledger entries.
    let answers: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert_eq!(answers.len(), 3, "{stdout}");
    assert_eq!(answers[0]["object"], "payment");
    assert_eq!(answers[0]["status"], "succeeded", "{}", answers[0]);
    assert_eq!(answers[0]["amount"], 1250);
    assert_eq!(answers[1]["balance"], 100_000 - 1250, "{}", answers[1]);
    assert_eq!(answers[1]["available"], 100_000 - 1250);
    let entries = answers[2]["data"].as_array().expect("a page of entries");
    assert_eq!(entries[0]["direction"], "debit");
    assert_eq!(entries[0]["amount"], 1250);
    assert_eq!(entries[0]["balance_after"], 100_000 - 1250);
    running.stop().await.expect("stops");
}
