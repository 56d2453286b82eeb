//! Start-up migrations with refinery, serialised across replicas by an advisory lock.

use std::str::FromStr;

use anyhow::Context as _;
use tokio_postgres::NoTls;

use crate::config::DatabaseUrl;

refinery::embed_migrations!("../migrations");

/// Arbitrary constant naming Vary's migration lock ("vary" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x7661_7279;

/// Applies every pending migration from `migrations/`. Several replicas may call this at
/// once: each takes the same session-level advisory lock on a dedicated connection, so
/// one applies the migrations and the others then find nothing left to do.
pub async fn run_migrations(url: &DatabaseUrl) -> anyhow::Result<()> {
    let pg_config =
        tokio_postgres::Config::from_str(url.expose()).context("parse the database url")?;
    let (mut client, connection) =
        pg_config.connect(NoTls).await.context("connect to postgres to migrate")?;
    let connection_task = tokio::spawn(connection);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .context("take the migration lock")?;
    let report = migrations::runner().run_async(&mut client).await.context("apply migrations");
    // The lock is session-level: closing the connection below releases it even when
    // unlocking fails, so an error here is only worth a log line.
    if let Err(error) =
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]).await
    {
        tracing::warn!(%error, "release the migration lock");
    }
    drop(client);
    let _ = connection_task.await;
    let applied = report?.applied_migrations().len();
    tracing::info!(applied, "database migrations up to date");
    Ok(())
}
