//! paygate's load driver: the local gateway under concurrent HTTP load, on the embedded store
//! or DynamoDB (moto). `conserve` audits the ledger after a random, racing, retrying load;
//! `faults` does the same while DynamoDB is paused and killed; `throughput` measures requests
//! per second and latency percentiles per scenario and concurrency; `webhooks` measures what
//! payment notifications cost the API and how fast they are delivered.

pub mod audit;
pub mod client;
pub mod conserve;
pub mod faults;
pub mod moto;
pub mod setup;
pub mod stats;
pub mod throughput;
pub mod webhooks;
