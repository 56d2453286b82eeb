//! gRPC services: thin adapters from `vary.v1` requests to the store and back.

mod actor;
pub(crate) mod convert;
mod experiments;
mod fleet;

pub use actor::{ANONYMOUS, Actor};
pub use experiments::ExperimentApi;
pub use fleet::FleetApi;
