//! Which revision runs where: per-agent state kept in memory by the replica holding the
//! agent's stream, and written through to PostgreSQL so every replica can list the whole
//! fleet.

mod persist;
mod registry;

pub use persist::{AgentRow, list_agents, run_fleet_writer};
pub use registry::{AgentSession, ConnectionCounts, Fleet};
