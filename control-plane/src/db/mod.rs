//! PostgreSQL plumbing: the connection pool and start-up migrations.

mod migrate;
mod pool;

pub use migrate::run_migrations;
pub use pool::connect_pool;
