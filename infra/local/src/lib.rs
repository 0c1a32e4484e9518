//! The local gateway: API Gateway emulated from `infra/template.yaml` (stage, routes, Lambda
//! authorizer with its cache, API keys, usage-plan throttles and quotas, gateway responses),
//! with the functions run in-process on the embedded store.

pub mod authz;
pub mod backend;
pub mod event;
pub mod gateway;
pub mod limits;
pub mod reply;
pub mod routes;
pub mod seed;
pub mod server;

pub use backend::Backend;
pub use gateway::{Gateway, SetupError};
pub use server::serve;
