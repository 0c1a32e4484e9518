//! The HTTP side shared by every endpoint Lambda: who the caller is, reading requests, the one
//! error-to-problem mapping, response views and the per-request log line. Handlers stay plain
//! async functions over these and the injected store, clock and keys.

pub mod caller;
pub mod idempotent;
pub mod owned;
pub mod problem;
pub mod query;
pub mod request;
pub mod response;
pub mod route;
pub mod serve;

pub use caller::{Authenticator, Caller};
pub use problem::{ApiError, Problem};
pub use response::RequestLog;
pub use route::{FromPath, PathParams, Public, Route};
pub use serve::{Call, Matched, Meter, dispatch, serve};
// The views are the API's shapes, rendered by the store too (events carry them), so they live
// outside the `http` feature.
pub use crate::views;
// Beside the other functions' dependencies and the wiring that builds them.
pub use crate::wiring::ApiDeps;
