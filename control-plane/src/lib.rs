//! Vary's control plane: the only writer of experiment configs. Every change is an
//! immutable version in PostgreSQL, committed with its audit event and a bump of the
//! global config revision.

pub mod analysis;
pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod distribution;
pub mod error;
pub mod fleet;
pub mod ingest;
pub mod lifecycle;
pub mod metrics;
pub mod server;
pub mod store;

pub use vary_ops::{shutdown, telemetry};

use std::{future::Future, time::Duration};

use tokio::{net::TcpListener, sync::watch};
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

pub use config::Config;

/// Runs the control plane on an already-bound `listener` until `shutdown` completes,
/// with the metrics endpoint on `config.metrics_addr` (bound here; a failure to bind
/// stops the start-up). See [`run_with_metrics_listener`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics_listener = match config.metrics_addr.0 {
        None => None,
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|error| anyhow::anyhow!("bind the metrics address {addr}: {error}"))?,
        ),
    };
    run_with_metrics_listener(listener, metrics_listener, config, shutdown).await
}

/// Runs the control plane on an already-bound `listener` until `shutdown` completes;
/// serves `/metrics`, `/healthz` and `/readyz` on `metrics_listener` when given (its
/// address in `config` is ignored).
///
/// Health starts NOT_SERVING; migrations run (retried with backoff while the database is
/// unreachable) and only then does health turn SERVING. On shutdown health turns
/// NOT_SERVING first, so load balancers stop routing before the listener closes.
pub async fn run_with_metrics_listener(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Unusable TLS files stop the start-up here, before anything listens.
    let tls = config
        .tls_files()
        .map(|files| server::tls::ReloadingTls::load(files).map(std::sync::Arc::new))
        .transpose()?;
    // So do a console directory that is missing or holds no index.html.
    let console =
        config.console_dir.0.as_deref().map(server::console::ConsoleFiles::open).transpose()?;
    if let Some(console) = &console {
        tracing::info!(dir = %console.dir().display(), "serving the web console under /console/");
    }
    let (reporter, health_service) = tonic_health::server::health_reporter();
    server::set_health(&reporter, ServingStatus::NotServing).await;
    let pool = db::connect_pool(&config.database_url, config.db_pool_size)?;
    let store = store::Store::new(pool.clone());
    let cancel = CancellationToken::new();

    let (head_tx, head_rx) = watch::channel(None);
    let (fleet, dirty_agents) = fleet::Fleet::new(config.replica_name(), pool.clone());
    let metrics = metrics::Metrics::new(fleet.clone(), head_rx.clone());
    let tokens = auth::TokenStore::new(pool.clone());
    let stream_settings = distribution::StreamSettings {
        heartbeat_interval: config.heartbeat_interval,
        max_stream_age: config.max_stream_age,
        first_message_timeout: config.first_message_timeout,
    };
    let services = server::Services {
        experiments: api::ExperimentApi::new(store.clone()),
        distribution: distribution::DistributionApi::new(
            head_rx.clone(),
            fleet.clone(),
            stream_settings,
            tokens.clone(),
            cancel.clone(),
        ),
        fleet: api::FleetApi::new(pool.clone(), head_rx, config.agent_stale_after()),
        events: api::EventIngestApi::new(pool.clone()).with_metrics(metrics.ingest()),
        analysis: api::AnalysisApi::new(store.clone(), pool.clone()),
        auth: api::AuthApi::new(tokens.clone()),
        audit: api::AuditApi::new(store.clone()),
        tokens,
        rpc_metrics: metrics.rpc(),
        console,
    };
    let writer_stop = CancellationToken::new();
    let fleet_writer =
        tokio::spawn(fleet::run_fleet_writer(fleet, dirty_agents, writer_stop.clone()));
    let publisher_settings = distribution::PublisherSettings {
        database_url: config.database_url.clone(),
        poll_interval: config.config_poll_interval,
    };
    let start_up = tokio::spawn(start_up(
        store,
        publisher_settings,
        config.guardrail_interval,
        metrics.guardrails(),
        head_tx,
        reporter.clone(),
        cancel.clone(),
    ));

    let drain = {
        let cancel = cancel.clone();
        let reporter = reporter.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: health NOT_SERVING, ending streams, draining requests");
            server::set_health(&reporter, ServingStatus::NotServing).await;
            cancel.cancel();
        }
    };
    if let Some(tls) = &tls {
        tokio::spawn(server::tls::watch_files(
            tls.clone(),
            config.tls_reload_interval,
            cancel.clone(),
        ));
    }
    // The endpoint outlives the gRPC server's drain, so /readyz answers 503 meanwhile.
    let metrics_stop = CancellationToken::new();
    let metrics_task = metrics_listener.map(|metrics_listener| {
        let addr = metrics_listener.local_addr().ok();
        tracing::info!(?addr, "metrics endpoint listening");
        let stop = metrics_stop.clone();
        let render = metrics.clone();
        tokio::spawn(vary_ops::endpoint::serve(
            metrics_listener,
            std::sync::Arc::new(move || render.encode()),
            reporter.clone(),
            async move { stop.cancelled().await },
        ))
    });
    tracing::info!(addr = %listener.local_addr()?, tls = tls.is_some(), "control plane listening");
    let served = server::serve(listener, tls, services, health_service, drain).await;
    cancel.cancel();
    metrics_stop.cancel();
    if let Some(task) = metrics_task
        && let Ok(Err(error)) = task.await
    {
        tracing::warn!(%error, "metrics endpoint failed");
    }
    start_up.abort();
    // Record the disconnects of the streams that just ended, within a bound.
    writer_stop.cancel();
    if tokio::time::timeout(Duration::from_secs(5), fleet_writer).await.is_err() {
        tracing::warn!("fleet state not flushed within 5s");
    }
    pool.close();
    served
}

/// Applies migrations (retrying with capped exponential backoff while the database is
/// unreachable), reports SERVING, starts the guardrail watch, then runs the config
/// publisher until shutdown.
async fn start_up(
    store: store::Store,
    publisher: distribution::PublisherSettings,
    guardrail_interval: Duration,
    guardrail_metrics: metrics::GuardrailMetrics,
    head: watch::Sender<distribution::Head>,
    reporter: tonic_health::server::HealthReporter,
    cancel: CancellationToken,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        match db::run_migrations(&publisher.database_url).await {
            Ok(()) => break,
            Err(error) => tracing::warn!(error = ?error, retry_in = ?delay, "database not ready"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
    server::set_health(&reporter, ServingStatus::Serving).await;
    tokio::spawn(analysis::watch::run_guardrail_watch(
        store.clone(),
        store.pool().clone(),
        guardrail_interval,
        guardrail_metrics,
        cancel.clone(),
    ));
    distribution::run_publisher(store, publisher, head, cancel).await;
}
