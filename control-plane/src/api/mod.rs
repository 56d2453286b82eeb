//! gRPC services: thin adapters from `vary.v1` requests to the store and back.

mod actor;
mod convert;
mod experiments;

pub use actor::{ANONYMOUS, Actor};
pub use experiments::ExperimentApi;
