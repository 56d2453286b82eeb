//! What the control plane and the edge agent share to run as services: log set-up
//! ([`telemetry`]), the shutdown signal ([`shutdown`]), and the plain-HTTP endpoint for
//! Prometheus and kubelet probes ([`endpoint`], with its address flag [`MetricsAddr`]),
//! and how both read a bearer token ([`bearer_token`]).

mod bearer;
pub mod endpoint;
mod or_off;
pub mod shutdown;
pub mod telemetry;

pub use bearer::bearer_token;
pub use or_off::{MetricsAddr, OrOff};
pub use telemetry::LogFormat;
