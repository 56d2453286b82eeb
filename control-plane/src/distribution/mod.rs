//! Config distribution: the head revision published to every agent's Watch stream.

mod credential;
pub mod frame;
mod published;
mod publisher;
mod service;
mod session;

/// The generated server of `ConfigDistributionService` (see `build.rs`).
#[allow(missing_docs, unreachable_pub, missing_debug_implementations, clippy::all)]
pub mod server_stub {
    include!(concat!(env!("OUT_DIR"), "/vary.v1.rs"));
}

pub use published::{Head, PublishedSnapshot};
pub use publisher::{PublisherSettings, run_publisher};
pub use service::DistributionApi;
pub use session::StreamSettings;
