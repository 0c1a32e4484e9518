//! Test-only crate: see `tests/flows.rs`.
