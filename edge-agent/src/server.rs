//! The gRPC server: health, reflection, `AssignmentService` and `EventCaptureService` on one
//! listener, and the health transitions.

use std::future::Future;

use tokio::{net::TcpListener, sync::watch};
use tokio_util::sync::CancellationToken;
use tonic::{server::NamedService, service::interceptor::InterceptedService, transport::Server};
use tonic_health::{ServingStatus, server::HealthReporter};
use vary_proto::pb::event_capture_service_server::EventCaptureServiceServer;

use crate::{
    api_token::RequireApiToken, assign_server::AssignmentServer, capture::CaptureApi, error::Error,
    serve::AssignApi,
};

/// Largest request or response message accepted, in bytes. Assign requests are small;
/// the bound keeps a misbehaving client from making the agent allocate much.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The services whose health is reported, besides the empty (whole-server) name.
pub fn health_checked_services() -> [&'static str; 2] {
    [
        <AssignmentServer as NamedService>::NAME,
        <EventCaptureServiceServer<CaptureApi> as NamedService>::NAME,
    ]
}

/// Marks the server and every service as `status`. Set explicitly for "" too: tonic-health
/// reports the empty name as SERVING by default, which would admit traffic too early.
pub async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in health_checked_services() {
        reporter.set_service_status(service, status).await;
    }
}

/// Turns health SERVING once the store holds a snapshot, unless `cancel` fires first.
/// It never turns it back: a control-plane outage must not pull the app pod out of its
/// Service while the agent still answers from its last snapshot.
pub async fn serving_once_loaded(
    mut revision: watch::Receiver<Option<i64>>,
    reporter: HealthReporter,
    cancel: CancellationToken,
) {
    let loaded = tokio::select! {
        () = cancel.cancelled() => return,
        loaded = revision.wait_for(Option::is_some) => loaded.map(|revision| *revision),
    };
    if let Ok(Some(revision)) = loaded
        && !cancel.is_cancelled()
    {
        set_health(&reporter, ServingStatus::Serving).await;
        tracing::info!(revision, "snapshot loaded: health SERVING");
    }
}

/// Serves until `shutdown` completes, then stops accepting and lets in-flight calls end.
pub async fn serve(
    listener: TcpListener,
    assign: AssignApi,
    capture: CaptureApi,
    api_token: RequireApiToken,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(vary_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let assign_service = AssignmentServer::new(assign, MAX_MESSAGE_BYTES);
    let capture_service = EventCaptureServiceServer::new(capture)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    // Health stays open for probes; everything else needs the token when one is set.
    let token = api_token.is_required().then_some(api_token);
    let (reflection, reflection_guarded) = guarded(reflection, token.as_ref());
    let (assign_service, assign_guarded) = guarded(assign_service, token.as_ref());
    let (capture_service, capture_guarded) = guarded(capture_service, token.as_ref());
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    // No server-side timeout: every handler answers from memory without waiting (events
    // go to a non-blocking queue), so there is nothing for one to bound, and arming a
    // timer per call showed as about 1% of the agent's CPU in a profile under load. A
    // client's own `grpc-timeout` is still honoured.
    Server::builder()
        .add_service(health)
        .add_optional_service(reflection)
        .add_optional_service(reflection_guarded)
        .add_optional_service(assign_service)
        .add_optional_service(assign_guarded)
        .add_optional_service(capture_service)
        .add_optional_service(capture_guarded)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// `service` behind the API-token check when a token is required, else bare: exactly one
/// of the two is `Some`. Bare when none is set (the default), because the interceptor
/// takes every request apart and rebuilds it, on `Assign` too, only to let it through.
fn guarded<S>(
    service: S,
    token: Option<&RequireApiToken>,
) -> (Option<S>, Option<InterceptedService<S, RequireApiToken>>) {
    match token {
        Some(token) => (None, Some(InterceptedService::new(service, token.clone()))),
        None => (Some(service), None),
    }
}
