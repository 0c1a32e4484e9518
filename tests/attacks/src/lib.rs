//! Test-only crate: see `tests/attacks/main.rs`.
