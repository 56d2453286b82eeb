//! The integration-test harness: a throwaway PostgreSQL per test process, a fresh
//! database per test, and real servers bound to `127.0.0.1:0` before they start.

pub mod auth;
pub mod control_plane;
pub mod edge_agent;
pub mod fixtures;
mod metrics_listener;
pub mod pki;
pub mod postgres;
pub mod scrape;
pub mod watch_client;

use std::sync::Once;

pub use control_plane::TestControlPlane;
pub use edge_agent::TestEdgeAgent;
pub use postgres::{TestDatabase, TestPostgres};
pub use watch_client::WatchClient;

/// Installs a tracing subscriber once per process; silent unless `TEST_LOG` is set
/// (then it takes `RUST_LOG`-style filters, `info` by default).
pub fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
    });
}
