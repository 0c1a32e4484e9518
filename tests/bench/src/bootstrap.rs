//! The Lambda functions as deployed: their packages, binaries and size targets, and building
//! their release bootstraps (the workspace `[profile.release]`, exactly what `sam build` ships).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// One function of `functions/`.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    /// The binary (and `functions/` directory) name.
    pub name: &'static str,
    /// The stripped-size target of issue 7, in bytes.
    pub size_target: u64,
}

const MB: u64 = 1_000_000;

/// Every function, the authorizer first: it runs before every API request.
pub const FUNCTIONS: [Function; 8] = [
    Function {
        name: "authorizer",
        size_target: 4 * MB,
    },
    Function {
        name: "authorize",
        size_target: 6 * MB,
    },
    Function {
        name: "pay",
        size_target: 6 * MB,
    },
    Function {
        name: "confirm",
        size_target: 6 * MB,
    },
    Function {
        name: "balance",
        size_target: 6 * MB,
    },
    Function {
        name: "transactions",
        size_target: 6 * MB,
    },
    Function {
        name: "expire",
        size_target: 6 * MB,
    },
    Function {
        name: "rotate",
        size_target: 6 * MB,
    },
];

impl Function {
    pub fn package(&self) -> String {
        format!("paygate-{}", self.name)
    }
}

/// The functions named by `only` (all when empty).
///
/// # Errors
/// For a name that is not a function.
pub fn select(only: &[String]) -> crate::Result<Vec<Function>> {
    if only.is_empty() {
        return Ok(FUNCTIONS.to_vec());
    }
    only.iter()
        .map(|name| {
            FUNCTIONS
                .iter()
                .find(|f| f.name == name)
                .copied()
                .ok_or_else(|| format!("no function named {name}").into())
        })
        .collect()
}

/// The workspace root (this crate is `tests/bench`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/bench is two levels below the workspace root")
        .to_path_buf()
}

/// The target directory cargo uses (`CARGO_TARGET_DIR` when set).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds the x86_64 (host) release bootstraps of `functions` and returns their paths.
///
/// # Errors
/// When cargo fails.
pub fn build_host(functions: &[Function]) -> crate::Result<Vec<PathBuf>> {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(workspace_root())
        .args(["build", "--release"]);
    for function in functions {
        cargo.args(["-p", &function.package()]);
    }
    eprintln!("building the release bootstraps (x86_64)…");
    run(&mut cargo)?;
    Ok(host_binaries(functions))
}

/// Where `cargo build --release` puts the functions' x86_64 bootstraps.
pub fn host_binaries(functions: &[Function]) -> Vec<PathBuf> {
    functions
        .iter()
        .map(|f| target_dir().join("release").join(f.name))
        .collect()
}

/// Builds the arm64 bootstraps with `cargo lambda build --release --arm64` into
/// `target/lambda-arm64/<function>/bootstrap` and returns their paths.
///
/// # Errors
/// When cargo-lambda (or zig, or the aarch64 target) is missing or the build fails.
pub fn build_arm64(functions: &[Function]) -> crate::Result<Vec<PathBuf>> {
    let lambda_dir = target_dir().join("lambda-arm64");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(workspace_root())
        .args(["lambda", "build", "--release", "--arm64", "--lambda-dir"])
        .arg(&lambda_dir);
    for function in functions {
        cargo.args(["-p", &function.package()]);
    }
    eprintln!("building the release bootstraps (arm64, cargo lambda)…");
    run(&mut cargo)?;
    Ok(functions
        .iter()
        .map(|f| lambda_dir.join(f.name).join("bootstrap"))
        .collect())
}

fn run(command: &mut Command) -> crate::Result<()> {
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}").into())
    }
}
