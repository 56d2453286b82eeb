//! Config distribution end to end: real control planes, real PostgreSQL, real sockets.
//! `control_plane_*` modules speak the Watch protocol by hand; `agent_*` modules run
//! real edge agents.

mod agent_outages;
mod agent_replicas;
mod agent_serving;
mod control_plane_fleet;
mod control_plane_watch;
