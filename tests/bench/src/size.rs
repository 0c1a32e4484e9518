//! Binary size: the stripped release bootstrap of each function (the workspace profile strips
//! symbols), x86_64 from `cargo build --release` and arm64, the deployed architecture, from
//! `cargo lambda build --release --arm64` (needs cargo-lambda, zig and the
//! `aarch64-unknown-linux-gnu` target).

use std::path::PathBuf;

use crate::{
    bootstrap,
    report::{self, Table},
};

#[derive(clap::Args)]
pub struct Args {
    /// Also build and measure the arm64 bootstraps (slow: a second full release build).
    #[arg(long)]
    arm64: bool,
    /// Only these functions (repeatable); all by default.
    #[arg(long = "only")]
    only: Vec<String>,
    /// Measure the bootstraps already built instead of building them.
    #[arg(long)]
    skip_build: bool,
    /// Replace the `size` section of this markdown file.
    #[arg(long, num_args = 0..=1, default_missing_value = "docs/performance.md")]
    write: Option<PathBuf>,
}

/// Builds (unless `--skip-build`), measures and prints (and optionally writes) the size table.
///
/// # Errors
/// When a build fails or a bootstrap is missing.
pub fn run(args: &Args) -> crate::Result<()> {
    let functions = bootstrap::select(&args.only)?;
    let host = if args.skip_build {
        bootstrap::host_binaries(&functions)
    } else {
        bootstrap::build_host(&functions)?
    };
    let arm64 = match (args.arm64, args.skip_build) {
        (false, _) => None,
        (true, true) => Some(
            functions
                .iter()
                .map(|f| {
                    let dir = bootstrap::target_dir().join("lambda-arm64");
                    dir.join(f.name).join("bootstrap")
                })
                .collect(),
        ),
        (true, false) => Some(bootstrap::build_arm64(&functions)?),
    };
    let mut table = Table::new(&[
        "function",
        "x86_64 (MB)",
        "arm64 (MB)",
        "target (MB)",
        "met (arm64, else x86_64)",
    ]);
    for (i, function) in functions.iter().enumerate() {
        let x86 = std::fs::metadata(&host[i])?.len();
        let arm: Option<u64> = match &arm64 {
            Some(paths) => Some(std::fs::metadata(&paths[i])?.len()),
            None => None,
        };
        let deployed = arm.unwrap_or(x86);
        table.row(vec![
            format!("`{}`", function.name),
            report::mb(x86),
            arm.map_or_else(|| "—".to_owned(), report::mb),
            format!("{}", function.size_target / 1_000_000),
            if deployed <= function.size_target {
                "✓"
            } else {
                "✗"
            }
            .to_owned(),
        ]);
    }
    let body = format!(
        "Machine: {}\n\n`paygate-bench size{}`: stripped release bootstraps (`[profile.release]`: \
         {}), MB = 10^6 bytes.\n\n{}",
        report::machine(),
        if args.arm64 { " --arm64" } else { "" },
        profile_summary(),
        table.to_markdown()
    );
    println!("{body}");
    if let Some(path) = &args.write {
        report::write_section(&bootstrap::workspace_root().join(path), "size", &body)?;
    }
    Ok(())
}

/// The `[profile.release]` settings that move size, as the workspace manifest states them.
fn profile_summary() -> String {
    let manifest =
        std::fs::read_to_string(bootstrap::workspace_root().join("Cargo.toml")).unwrap_or_default();
    let mut in_release = false;
    let mut settings = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_release = line == "[profile.release]";
            continue;
        }
        let interesting = ["opt-level", "lto", "codegen-units", "panic", "strip"];
        if in_release && interesting.iter().any(|key| line.starts_with(key)) {
            settings.push(line.replace(' ', ""));
        }
    }
    settings.join(", ")
}
