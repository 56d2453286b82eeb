//! Events end to end: real edge agents capture and forward, a real control plane stores
//! them in a real PostgreSQL; outages, restarts and replays lose and double nothing.

mod outage;
mod replay;
mod support;
