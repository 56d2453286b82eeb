//! Experiment results: phases from the version history, per-unit aggregation in
//! PostgreSQL, and the statistics computed from the aggregates.

pub mod aggregate;
pub mod guardrails;
pub mod phases;
pub mod results;
pub mod stats;
pub mod watch;
