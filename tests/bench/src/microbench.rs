//! The hot-path micro-benchmarks (`benches/hot_paths.rs`, criterion) as a table: runs
//! `cargo bench -p paygate-bench` (unless `--skip-run`), then reads criterion's estimates from
//! `target/criterion/**/<baseline>/` and prints the median of each with its 95 % interval.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use crate::{
    bootstrap,
    report::{self, Table},
};

#[derive(clap::Args)]
pub struct Args {
    /// Only collect the results of the last `cargo bench` run.
    #[arg(long)]
    skip_run: bool,
    /// Criterion's result directory to read: `new` (the last run) or a `--save-baseline` name.
    #[arg(long, default_value = "new")]
    baseline: String,
    /// Arguments for the bench harness, e.g. `--bench-arg=--quick`.
    #[arg(long = "bench-arg", allow_hyphen_values = true)]
    bench_args: Vec<String>,
    /// Replace the `microbench` section of this markdown file.
    #[arg(long, num_args = 0..=1, default_missing_value = "docs/performance.md")]
    write: Option<PathBuf>,
}

/// One benchmark's estimate.
struct Estimate {
    id: String,
    /// Nanoseconds.
    median: f64,
    low: f64,
    high: f64,
}

/// Runs (unless `--skip-run`) and tabulates the micro-benchmarks.
///
/// # Errors
/// When `cargo bench` fails or no results are found.
pub fn run(args: &Args) -> crate::Result<()> {
    if !args.skip_run {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.current_dir(bootstrap::workspace_root()).args([
            "bench",
            "-p",
            "paygate-bench",
            "--bench",
            "hot_paths",
        ]);
        if !args.bench_args.is_empty() {
            cargo.arg("--").args(&args.bench_args);
        }
        let status = cargo.status()?;
        if !status.success() {
            return Err(format!("cargo bench failed: {status}").into());
        }
    }
    let mut estimates = Vec::new();
    collect(
        &bootstrap::target_dir().join("criterion"),
        &args.baseline,
        &mut estimates,
    )?;
    if estimates.is_empty() {
        return Err(
            "no criterion results under target/criterion: run `cargo bench -p paygate-bench`"
                .into(),
        );
    }
    estimates.sort_by(|a, b| a.id.cmp(&b.id));
    let mut table = Table::new(&["benchmark", "median", "95 % interval"]);
    for e in &estimates {
        table.row(vec![
            e.id.clone(),
            duration(e.median),
            format!("{} – {}", duration(e.low), duration(e.high)),
        ]);
    }
    let body = format!(
        "Machine: {}\n\n`cargo bench -p paygate-bench` (criterion, `[profile.release]` settings; \
         short windows: 0.5 s warm-up, 2 s measurement, 50 samples), collected by \
         `paygate-bench microbench`.\n\n{}",
        report::machine(),
        table.to_markdown()
    );
    println!("{body}");
    if let Some(path) = &args.write {
        report::write_section(&bootstrap::workspace_root().join(path), "microbench", &body)?;
    }
    Ok(())
}

/// Finds every `<baseline>/benchmark.json` below `dir`.
fn collect(dir: &Path, baseline: &str, into: &mut Vec<Estimate>) -> crate::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|name| name == baseline) {
            if let Some(estimate) = read_estimate(&path)? {
                into.push(estimate);
            }
        } else {
            collect(&path, baseline, into)?;
        }
    }
    Ok(())
}

fn read_estimate(dir: &Path) -> crate::Result<Option<Estimate>> {
    let (Ok(benchmark), Ok(estimates)) = (
        fs::read_to_string(dir.join("benchmark.json")),
        fs::read_to_string(dir.join("estimates.json")),
    ) else {
        return Ok(None);
    };
    let benchmark: Value = serde_json::from_str(&benchmark)?;
    let estimates: Value = serde_json::from_str(&estimates)?;
    let median = &estimates["median"];
    let number = |v: &Value| v.as_f64().ok_or("a malformed criterion estimate");
    Ok(Some(Estimate {
        id: benchmark["full_id"]
            .as_str()
            .ok_or("a criterion result without full_id")?
            .to_owned(),
        median: number(&median["point_estimate"])?,
        low: number(&median["confidence_interval"]["lower_bound"])?,
        high: number(&median["confidence_interval"]["upper_bound"])?,
    }))
}

/// Nanoseconds in the unit that suits them.
fn duration(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}
