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

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders the current metrics as OpenMetrics text; called once per scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
struct Endpoint {
    render: Render,
    health: Arc<HealthService>,
}

/// Serves the endpoint on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    render: Render,
    health: HealthReporter,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let endpoint =
        Endpoint { render, health: Arc::new(HealthService::from_health_reporter(health)) };
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(endpoint);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn metrics(State(endpoint): State<Endpoint>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, OPENMETRICS)], (endpoint.render)())
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
