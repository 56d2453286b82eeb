//! Vary's control plane: the only writer of experiment configs. Every change is an
//! immutable version in PostgreSQL, committed with its audit event and a bump of the
//! global config revision.

pub mod api;
pub mod config;
pub mod db;
pub mod diff;
pub mod error;
pub mod lifecycle;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;

use std::{future::Future, time::Duration};

use tokio::net::TcpListener;
use tonic_health::ServingStatus;

pub use config::Config;

/// Runs the control plane on an already-bound `listener` until `shutdown` completes.
///
/// Health starts NOT_SERVING; migrations run (retried with backoff while the database is
/// unreachable) and only then does health turn SERVING. On shutdown health turns
/// NOT_SERVING first, so load balancers stop routing before the listener closes.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    server::set_health(&reporter, ServingStatus::NotServing).await;
    let pool = db::connect_pool(&config.database_url, config.db_pool_size)?;
    let experiments = api::ExperimentApi::new(store::Store::new(pool.clone()));

    let cancel = tokio_util::sync::CancellationToken::new();
    let migrated = tokio::spawn(migrate_then_serve_health(
        config.database_url.clone(),
        reporter.clone(),
        cancel.clone(),
    ));
    let drain = {
        let cancel = cancel.clone();
        let reporter = reporter.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: health NOT_SERVING, draining requests");
            cancel.cancel();
            server::set_health(&reporter, ServingStatus::NotServing).await;
        }
    };
    tracing::info!(addr = %listener.local_addr()?, "control plane listening");
    let served = server::serve(listener, experiments, health_service, drain).await;
    cancel.cancel();
    migrated.abort();
    pool.close();
    served
}

/// Applies migrations, retrying with capped exponential backoff until they succeed or
/// shutdown begins, then reports SERVING.
async fn migrate_then_serve_health(
    database_url: config::DatabaseUrl,
    reporter: tonic_health::server::HealthReporter,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        match db::run_migrations(&database_url).await {
            Ok(()) => {
                server::set_health(&reporter, ServingStatus::Serving).await;
                return;
            }
            Err(error) => {
                tracing::warn!(error = ?error, retry_in = ?delay, "database not ready");
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
