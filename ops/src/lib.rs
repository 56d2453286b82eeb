//! What the control plane and the edge agent share to run as services: log set-up
//! ([`telemetry`]), the shutdown signal ([`shutdown`]), and the plain-HTTP endpoint for
//! Prometheus and kubelet probes ([`endpoint`], with its address flag [`MetricsAddr`]).

pub mod endpoint;
mod metrics_addr;
pub mod shutdown;
pub mod telemetry;

pub use metrics_addr::MetricsAddr;
pub use telemetry::LogFormat;
