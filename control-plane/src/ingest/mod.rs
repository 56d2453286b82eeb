//! Event ingestion: validate each event on its own, store the valid ones exactly once.

mod validate;
mod write;

pub use validate::{
    Exposure, MAX_FUTURE_SKEW, MAX_ID_BYTES, MAX_PROPERTIES, MAX_PROPERTY_BYTES, Outcome, Refusal,
    ValidEvent, validate_event,
};
pub use write::{Stored, store_events};
