//! gRPC services: thin adapters from `vary.v1` requests to the store and back.

mod actor;
mod analysis;
mod audit;
mod auth;
pub(crate) mod convert;
mod events;
mod experiments;
mod fleet;

pub use actor::{ANONYMOUS, Actor};
pub use analysis::AnalysisApi;
pub use audit::AuditApi;
pub use auth::AuthApi;
pub use events::{EventIngestApi, MAX_EVENTS_PER_REQUEST};
pub use experiments::ExperimentApi;
pub use fleet::FleetApi;
