//! The plain-HTTP observability endpoint on the metrics address: `GET /metrics`
//! (OpenMetrics text), `GET /healthz` (the process answers: 200) and `GET /readyz` (200
//! only while `grpc.health.v1` reports the whole server SERVING, else 503). Plain HTTP
//! because kubelet probes cannot speak TLS to the gRPC port, and Prometheus scrapes it.

use std::{future::Future, sync::Arc};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use tokio::net::TcpListener;
use tonic_health::{
    pb::{HealthCheckRequest, health_check_response::ServingStatus, health_server::Health as _},
    server::{HealthReporter, HealthService},
};

use super::AgentMetrics as Metrics;

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct Endpoint {
    metrics: Metrics,
    health: Arc<HealthService>,
}

/// Serves the endpoint on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    health: HealthReporter,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let endpoint =
        Endpoint { metrics, health: Arc::new(HealthService::from_health_reporter(health)) };
    let router = Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(endpoint);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn render(State(endpoint): State<Endpoint>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, OPENMETRICS)], endpoint.metrics.encode())
}

async fn ready(State(endpoint): State<Endpoint>) -> (StatusCode, &'static str) {
    let request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    let serving = endpoint
        .health
        .check(request)
        .await
        .is_ok_and(|response| response.into_inner().status() == ServingStatus::Serving);
    if serving {
        (StatusCode::OK, "SERVING\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING\n")
    }
}
