//! Vary's edge agent: a sidecar that follows the control plane's config stream (Watch),
//! keeps the latest valid snapshot in memory and on disk, and answers `Assign` and
//! `Explain` from memory, through control-plane outages and its own restarts.
//!
//! Code map: [`config`] (flags), [`sync`] (the Watch client), [`snapshot`] (the served
//! snapshot, lock-free), [`lkg`] (the last-known-good file), [`serve`], [`respond`] and
//! [`encoded`] (the answers), [`assign_server`] (their gRPC routing), [`server`] (router,
//! health), [`api_token`] (the optional token on that API), [`backoff`], [`convert`]
//! (pb → model), [`link`] (TLS and token towards the control plane), [`memory`] (heap
//! trimming after swaps), [`metrics`] (Prometheus); events: [`capture`] (the
//! `EventCaptureService` API and the `Assign` exposure hook) and [`forward`] (queue,
//! batches, spool, forwarding to the control plane).

pub mod api_token;
pub mod assign_server;
pub mod backoff;
pub mod capture;
pub mod config;
pub mod convert;
pub mod encoded;
pub mod error;
pub mod forward;
pub mod link;
pub mod lkg;
pub mod memory;
pub mod metrics;
pub mod respond;
pub mod serve;
pub mod server;
pub mod snapshot;
pub mod sync;

pub use vary_ops::{shutdown, telemetry};

use std::{
    future::Future,
    sync::{Arc, OnceLock},
};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

pub use config::Config;
pub use error::Error;
pub use sync::Hooks;

use crate::{
    backoff::Backoff,
    forward::Forwarding,
    snapshot::SnapshotStore,
    sync::{SyncSettings, Syncer},
};

/// Runs the agent on an already-bound `listener` until `shutdown` completes.
///
/// Health is NOT_SERVING until a snapshot is loaded (from the stream, or from the
/// last-known-good file when the control plane is unreachable), then SERVING, and stays
/// so on control-plane disconnects. On shutdown: health NOT_SERVING, stop accepting, let
/// in-flight calls finish, end the Watch stream, then send the queued events or spool them
/// (by half the grace period after the shutdown began, leaving the rest for the fsync).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    run_with_hooks(listener, config, Hooks::default(), shutdown).await
}

/// [`run`] with test hooks (for example, one that corrupts received snapshots). Binds
/// the metrics endpoint on `config.metrics_addr` when it is on.
pub async fn run_with_hooks(
    listener: TcpListener,
    config: Config,
    hooks: Hooks,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    config.validate()?;
    let metrics_listener = match config.metrics_addr.0 {
        None => None,
        Some(addr) => {
            Some(TcpListener::bind(addr).await.map_err(|error| Error::InvalidConfig {
                field: "metrics_addr",
                message: format!("cannot bind {addr}: {error}"),
            })?)
        }
    };
    run_with_metrics_listener(listener, metrics_listener, config, hooks, shutdown).await
}

/// [`run_with_hooks`] serving `/metrics`, `/healthz` and `/readyz` on `metrics_listener`
/// when given (its address in `config` is ignored).
pub async fn run_with_metrics_listener(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    config: Config,
    hooks: Hooks,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    config.validate()?;
    let (reporter, health_service) = tonic_health::server::health_reporter();
    server::set_health(&reporter, ServingStatus::NotServing).await;
    let store = Arc::new(SnapshotStore::new());
    let cancel = CancellationToken::new();

    let agent_id = config.resolved_agent_id();
    let link = link::ControlPlaneLink::from_config(&config)?;
    let backoff = Backoff { min: config.backoff_min, max: config.backoff_max };
    let (events, forwarding) =
        Forwarding::start(config.events.settings(&link, &agent_id, &config.state_dir, backoff))?;
    let settings = SyncSettings {
        link,
        agent_id: agent_id.clone(),
        labels: config.label_map(),
        backoff,
        first_message_timeout: config.first_message_timeout,
        idle_timeout: config.idle_timeout,
        state_dir: config.state_dir.clone(),
    };
    let sync_span = tracing::info_span!("sync", agent_id = %agent_id);
    let stream_status = Arc::new(metrics::stream::StreamStatus::default());
    let sync_task = tokio::spawn(tracing::Instrument::instrument(
        Syncer::new(settings, store.clone(), hooks)
            .with_status(stream_status.clone())
            .run(cancel.clone()),
        sync_span,
    ));
    let health_task = tokio::spawn(server::serving_once_loaded(
        store.subscribe(),
        reporter.clone(),
        cancel.clone(),
    ));

    let shutdown_began = Arc::new(OnceLock::new());
    let drain = {
        let cancel = cancel.clone();
        let reporter = reporter.clone();
        let shutdown_began = shutdown_began.clone();
        async move {
            tokio::select! {
                () = shutdown => {}
                () = cancel.cancelled() => {}
            }
            let _ = shutdown_began.set(tokio::time::Instant::now());
            tracing::info!("shutting down: health NOT_SERVING, draining requests");
            cancel.cancel();
            server::set_health(&reporter, ServingStatus::NotServing).await;
        }
    };
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, agent_id = %agent_id, "edge agent listening");
    let assign = serve::AssignApi::new(store.clone()).with_events(events.clone());
    // The endpoint outlives the gRPC server's drain, so /readyz answers 503 meanwhile.
    let metrics_stop = CancellationToken::new();
    let metrics_task = metrics_listener.map(|metrics_listener| {
        let metrics = metrics::AgentMetrics::new(
            store,
            stream_status,
            assign.latency().clone(),
            events.clone(),
        );
        tracing::info!(addr = ?metrics_listener.local_addr().ok(), "metrics endpoint listening");
        let stop = metrics_stop.clone();
        tokio::spawn(vary_ops::endpoint::serve(
            metrics_listener,
            Arc::new(move || metrics.encode()),
            reporter.clone(),
            async move { stop.cancelled().await },
        ))
    });
    let capture = capture::CaptureApi::new(events);
    let api_token = api_token::RequireApiToken::new(config.api_token.clone());
    let served = server::serve(listener, assign, capture, api_token, health_service, drain).await;
    cancel.cancel();
    metrics_stop.cancel();
    if let Some(task) = metrics_task
        && let Ok(Err(error)) = task.await
    {
        tracing::warn!(%error, "metrics endpoint failed");
    }
    health_task.abort();
    // The server has stopped, so no event arrives after the queue is drained.
    let began = shutdown_began.get().copied().unwrap_or_else(tokio::time::Instant::now);
    let counters = forwarding.flush_or_spool(began + config.shutdown_grace / 2).await;
    tracing::info!(?counters, "events sent or spooled");
    if let Err(join_error) = sync_task.await
        && join_error.is_panic()
    {
        std::panic::resume_unwind(join_error.into_panic());
    }
    tracing::info!("edge agent stopped");
    served
}
