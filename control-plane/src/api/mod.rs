//! gRPC services: thin adapters from `vary.v1` requests to the store and back.

mod actor;
mod analysis;
pub(crate) mod convert;
mod events;
mod experiments;
mod fleet;

pub use actor::{ANONYMOUS, Actor};
pub use analysis::AnalysisApi;
pub use events::{EventIngestApi, MAX_EVENTS_PER_REQUEST};
pub use experiments::ExperimentApi;
pub use fleet::FleetApi;
