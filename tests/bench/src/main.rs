//! `paygate-bench`: the benchmark command. One subcommand per benchmark, one module each; every
//! subcommand prints markdown tables and, with `--write`, replaces its own section of
//! `docs/performance.md` (between `<!-- NAME:begin -->` and `<!-- NAME:end -->`), so each
//! section can be regenerated on its own.
//!
//! The hot-path micro-benchmarks are criterion benches (`cargo bench -p paygate-bench`);
//! `microbench` runs them and tabulates criterion's results.

mod bootstrap;
mod coldstart;
mod microbench;
mod report;
mod size;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What every subcommand returns: failures are reported as one line and a non-zero exit.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(name = "paygate-bench", about = "paygate's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cold start of each release bootstrap against a local Runtime API stand-in: exec to first
    /// poll (median, p90), peak RSS, stripped size.
    Coldstart(coldstart::Args),
    /// Stripped size of each release bootstrap, x86_64 and (with `--arm64`) aarch64.
    Size(size::Args),
    /// The hot-path micro-benchmarks (`cargo bench -p paygate-bench`) as a table of medians.
    Microbench(microbench::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Coldstart(args) => coldstart::run(&args),
        Command::Size(args) => size::run(&args),
        Command::Microbench(args) => microbench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("paygate-bench: {err}");
            ExitCode::FAILURE
        }
    }
}
