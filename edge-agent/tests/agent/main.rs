//! The agent against a scripted fake control plane, over real sockets: one test binary,
//! a module per area.

mod last_known_good;
mod serve;
mod stream;
mod support;
