//! The connection pool every request borrows from.

use std::{str::FromStr, time::Duration};

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::config::DatabaseUrl;

/// How long a request waits for a free connection before failing with UNAVAILABLE.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// Builds a pool of at most `max_size` connections. Connections open lazily, so this
/// succeeds even while the database is down; requests then fail until it is back.
pub fn connect_pool(url: &DatabaseUrl, max_size: usize) -> anyhow::Result<Pool> {
    let mut pg_config =
        tokio_postgres::Config::from_str(url.expose()).context("parse the database url")?;
    pg_config.application_name("vary-control-plane");
    pg_config.connect_timeout(Duration::from_secs(5));
    let manager = Manager::from_config(
        pg_config,
        NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .runtime(Runtime::Tokio1)
        .build()
        .context("build the database pool")
}
