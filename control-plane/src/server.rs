//! Builds the gRPC server: health, reflection and Vary's services on one listener.

use std::{future::Future, time::Duration};

use tokio::net::TcpListener;
use tonic::{server::NamedService, transport::Server};
use tonic_health::server::HealthReporter;
use vary_proto::pb::{
    analysis_service_server::AnalysisServiceServer,
    event_ingest_service_server::EventIngestServiceServer,
    experiment_service_server::ExperimentServiceServer, fleet_service_server::FleetServiceServer,
};

use crate::api::{AnalysisApi, EventIngestApi, ExperimentApi, FleetApi};
use crate::distribution::{
    DistributionApi,
    server_stub::config_distribution_service_server::ConfigDistributionServiceServer,
};

/// Largest request or response message accepted, in bytes. Config snapshots are the
/// largest messages; 64 MiB leaves room for tens of thousands of experiments.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Longest a unary call may take before it is cancelled with DEADLINE_EXCEEDED.
const UNARY_TIMEOUT: Duration = Duration::from_secs(30);

/// Vary's services, ready to serve.
#[derive(Debug)]
pub struct Services {
    /// `vary.v1.ExperimentService`.
    pub experiments: ExperimentApi,
    /// `vary.v1.ConfigDistributionService`.
    pub distribution: DistributionApi,
    /// `vary.v1.FleetService`.
    pub fleet: FleetApi,
    /// `vary.v1.EventIngestService`.
    pub events: EventIngestApi,
    /// `vary.v1.AnalysisService`.
    pub analysis: AnalysisApi,
}

/// The services whose health is reported, besides the empty (whole-server) name.
pub fn health_checked_services() -> [&'static str; 5] {
    [
        <ExperimentServiceServer<ExperimentApi> as NamedService>::NAME,
        <ConfigDistributionServiceServer<DistributionApi> as NamedService>::NAME,
        <FleetServiceServer<FleetApi> as NamedService>::NAME,
        <EventIngestServiceServer<EventIngestApi> as NamedService>::NAME,
        <AnalysisServiceServer<AnalysisApi> as NamedService>::NAME,
    ]
}

/// Marks the server and every service as `status` in `grpc.health.v1`.
pub async fn set_health(reporter: &HealthReporter, status: tonic_health::ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in health_checked_services() {
        reporter.set_service_status(service, status).await;
    }
}

/// Reflection over every `vary.v1` file, advertising only the services this server
/// runs (the shared descriptor set also holds the edge agent's `AssignmentService`).
fn reflection() -> tonic_reflection::server::Builder<'static> {
    let builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(vary_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    health_checked_services()
        .into_iter()
        .fold(builder, |builder, service| builder.with_service_name(service))
}

/// Serves until `shutdown` completes, then stops accepting and lets in-flight calls end.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let experiments = ExperimentServiceServer::new(services.experiments)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let distribution = ConfigDistributionServiceServer::new(services.distribution)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        // Applies per call; Watch streams are long-lived, so the timeout layer is applied
        // to unary services only through their own deadlines (grpc-timeout) and this
        // default. tonic's server timeout covers the time to the response headers, which
        // a Watch sends at once.
        .timeout(UNARY_TIMEOUT)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(experiments)
        .add_service(distribution)
        .add_service(FleetServiceServer::new(services.fleet))
        .add_service(
            EventIngestServiceServer::new(services.events)
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(AnalysisServiceServer::new(services.analysis))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
