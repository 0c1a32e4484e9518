//! The local gateway: API Gateway emulated from `infra/template.yaml` (stage, routes, Lambda
//! authorizer with its cache, API keys, usage-plan throttles and quotas, gateway responses, and
//! the rate-based rule of the AWS WAF web ACL in front of the stage),
//! with the functions run in-process (or under `cargo lambda watch`) on the embedded store (or
//! DynamoDB and Secrets Manager at any endpoint).

pub mod authz;
pub mod aws;
pub mod backend;
pub mod cli;
pub mod event;
pub mod gateway;
pub mod limits;
pub mod notify;
pub mod posting;
pub mod reply;
pub mod routes;
pub mod schedule;
pub mod seed;
pub mod server;
pub mod tls;
pub mod upstream;
pub mod waf;

pub use backend::Backend;
pub use gateway::{Gateway, SetupError};
pub use server::{Background, serve, serve_tls};
