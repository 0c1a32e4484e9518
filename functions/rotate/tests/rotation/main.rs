//! The rotation function against moto's Secrets Manager: what a rotation must achieve for the
//! token endpoint and every verifier (`done_when`), and how each step behaves on its own
//! (`steps`). See `support` for what moto does and does not do of a rotation.

mod done_when;
mod steps;
mod support;
