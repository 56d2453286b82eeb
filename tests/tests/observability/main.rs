//! Observability end to end: a real control plane and a real edge agent, each with its
//! plain-HTTP metrics endpoint, scraped over real sockets after real traffic; `/readyz`
//! following `grpc.health.v1`; request ids across the wire.

mod metrics;
mod probes;
mod request_id;
