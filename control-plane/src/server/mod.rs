//! Builds the gRPC server: health, reflection and Vary's services on one listener, behind
//! the access policy, message-size and concurrency limits, and optionally TLS. Browsers
//! reach the same services with gRPC-Web (HTTP/1.1 or HTTP/2), and the web console's
//! files are served on the same listener when configured (`console`).

pub mod console;
pub mod message_limit;
pub mod tls;

use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tonic::{server::NamedService, transport::Server};
use tonic_health::server::HealthReporter;
use vary_proto::pb::{
    analysis_service_server::AnalysisServiceServer, audit_service_server::AuditServiceServer,
    auth_service_server::AuthServiceServer, event_ingest_service_server::EventIngestServiceServer,
    experiment_service_server::ExperimentServiceServer, fleet_service_server::FleetServiceServer,
};

use crate::api::{AnalysisApi, AuditApi, AuthApi, EventIngestApi, ExperimentApi, FleetApi};
use crate::auth::{AuthLayer, TokenStore};
use crate::distribution::{
    DistributionApi,
    server_stub::config_distribution_service_server::ConfigDistributionServiceServer,
};
use crate::metrics::rpc::{RpcMetrics, RpcMetricsLayer};

/// Largest message tonic encodes or decodes, in bytes: sized for responses, since config
/// snapshots are the largest messages (64 MiB leaves room for tens of thousands of
/// experiments); requests are refused well below it, at [`MAX_REQUEST_MESSAGE_BYTES`].
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Largest request message accepted, in bytes; larger ones get RESOURCE_EXHAUSTED before
/// they are buffered. The largest requests are event batches (at most 10,000 events of a
/// few hundred bytes) and experiment specs.
pub const MAX_REQUEST_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Most calls in flight on one connection (a Watch stream holds one for its lifetime);
/// more wait, which pushes back on a client that floods one connection.
const MAX_CALLS_PER_CONNECTION: usize = 256;

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
    /// `vary.v1.AuthService`.
    pub auth: AuthApi,
    /// `vary.v1.AuditService`.
    pub audit: AuditApi,
    /// The tokens every call is authenticated against.
    pub tokens: TokenStore,
    /// Where every call's latency and status code are recorded.
    pub rpc_metrics: RpcMetrics,
    /// The web console's files, when they are served.
    pub console: Option<console::ConsoleFiles>,
}

/// The services whose health is reported, besides the empty (whole-server) name.
pub fn health_checked_services() -> [&'static str; 7] {
    [
        <ExperimentServiceServer<ExperimentApi> as NamedService>::NAME,
        <ConfigDistributionServiceServer<DistributionApi> as NamedService>::NAME,
        <FleetServiceServer<FleetApi> as NamedService>::NAME,
        <EventIngestServiceServer<EventIngestApi> as NamedService>::NAME,
        <AnalysisServiceServer<AnalysisApi> as NamedService>::NAME,
        <AuthServiceServer<AuthApi> as NamedService>::NAME,
        <AuditServiceServer<AuditApi> as NamedService>::NAME,
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
    tls: Option<Arc<tls::ReloadingTls>>,
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
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let router = Server::builder()
        // Applies per call; Watch streams are long-lived, so the timeout layer is applied
        // to unary services only through their own deadlines (grpc-timeout) and this
        // default. tonic's server timeout covers the time to the response headers, which
        // a Watch sends at once.
        .timeout(UNARY_TIMEOUT)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .concurrency_limit_per_connection(MAX_CALLS_PER_CONNECTION)
        // gRPC-Web comes over HTTP/1.1 too (browsers, `docs/console.md`).
        .accept_http1(true)
        // The console's files (GET/HEAD under /console/ only) are answered first, without
        // the layers below: they are not calls (see `console`).
        .layer(console::ConsoleLayer::new(services.console))
        // gRPC-Web calls become native gRPC calls here, and their responses gRPC-Web
        // again, so everything below sees one protocol. (It answers any other HTTP/1.1
        // request with 400: native gRPC is HTTP/2.)
        .layer(tonic_web::GrpcWebLayer::new())
        // Every call gets a request id and is timed and counted (refusals included),
        // then passes the access policy (see `auth`), then the size limit.
        .layer(RpcMetricsLayer::new(services.rpc_metrics))
        .layer(AuthLayer::new(services.tokens))
        .layer(message_limit::MessageLimitLayer::new(MAX_REQUEST_MESSAGE_BYTES))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(experiments)
        .add_service(distribution)
        .add_service(
            FleetServiceServer::new(services.fleet).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            EventIngestServiceServer::new(services.events)
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            AnalysisServiceServer::new(services.analysis)
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            AuthServiceServer::new(services.auth).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            AuditServiceServer::new(services.audit).max_decoding_message_size(MAX_MESSAGE_BYTES),
        );
    match tls {
        None => {
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            router.serve_with_incoming_shutdown(incoming, shutdown).await?;
        }
        Some(tls) => {
            router.serve_with_incoming_shutdown(tls::incoming(listener, tls), shutdown).await?;
        }
    }
    Ok(())
}
