//! Where retries wait until due: [`MemoryRetryQueue`] (in-process, the embedded store's) and,
//! with the `sqs` feature, [`SqsRetryQueue`] (AWS, and moto locally).

mod memory;
#[cfg(feature = "sqs")]
mod sqs;

pub use memory::MemoryRetryQueue;
#[cfg(feature = "sqs")]
pub use sqs::{MAX_DELAY_SECONDS, SqsRetryQueue, delay_seconds};
