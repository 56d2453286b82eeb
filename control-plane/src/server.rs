//! Builds the gRPC server: health, reflection and Vary's services on one listener.

use std::{future::Future, time::Duration};

use tokio::net::TcpListener;
use tonic::{server::NamedService, transport::Server};
use tonic_health::server::HealthReporter;
use vary_proto::pb::experiment_service_server::ExperimentServiceServer;

use crate::api::ExperimentApi;

/// Largest request or response message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The services whose health is reported, besides the empty (whole-server) name.
pub fn health_checked_services() -> [&'static str; 1] {
    [<ExperimentServiceServer<ExperimentApi> as NamedService>::NAME]
}

/// Marks the server and every service as `status` in `grpc.health.v1`.
pub async fn set_health(reporter: &HealthReporter, status: tonic_health::ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in health_checked_services() {
        reporter.set_service_status(service, status).await;
    }
}

/// Serves until `shutdown` completes, then stops accepting and lets in-flight calls end.
pub async fn serve(
    listener: TcpListener,
    experiments: ExperimentApi,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(vary_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(vary_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let experiment_service = ExperimentServiceServer::new(experiments)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .timeout(Duration::from_secs(30))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(experiment_service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
