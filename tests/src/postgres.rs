//! The PostgreSQL that tests run against: one throwaway cluster per test process, started on
//! first use, and one fresh database per test (as zero2prod's `spawn_app` does), so tests
//! share a server but never see each other's rows.
//!
//! Set `DATABASE_URL` to use an existing server instead (its user must be allowed to
//! `CREATE DATABASE`); the databases created there are left behind. Set `PG_BIN` to choose
//! the directory of `initdb` and `pg_ctl`.

use std::path::Path;

use anyhow::Context as _;
use tokio::sync::OnceCell;

mod binaries;
mod cluster;

use cluster::Cluster;

/// The server of this test process. `#[tokio::test]`s each run their own runtime, so this
/// holds nothing tied to one (connections are opened per call). Never dropped: the cluster's
/// watchdog cleans up after the process.
static SHARED: OnceCell<TestPostgres> = OnceCell::const_new();

/// A PostgreSQL server tests may create databases on.
#[derive(Debug)]
pub struct TestPostgres {
    /// Where `CREATE DATABASE` is sent: the `postgres` database, or `DATABASE_URL`.
    admin_url: String,
    /// The throwaway cluster; `None` when `DATABASE_URL` names a server someone else runs.
    cluster: Option<Cluster>,
}

/// A fresh, empty database that belongs to one test. Migrations are not run: the control
/// plane runs them itself at start-up.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// A UUID, so tests never collide, even across processes sharing a `DATABASE_URL`.
    pub name: String,
    /// `postgres://user@127.0.0.1:port/<name>`: for `tokio_postgres::Config::from_str`,
    /// deadpool-postgres, or the control plane's database URL setting.
    pub url: String,
}

// === impl TestPostgres ===

impl TestPostgres {
    /// The server of this test process, started by the first caller (about a second for
    /// `initdb` and start-up); later callers wait for it. A failed start is retried by the
    /// next caller, so every test reports the error.
    pub async fn shared() -> anyhow::Result<&'static TestPostgres> {
        SHARED.get_or_try_init(Self::start).await
    }

    /// Creates a fresh database on the shared server, starting the server if needed.
    pub async fn create_database() -> anyhow::Result<TestDatabase> {
        Self::shared().await?.create_database_on_this_server().await
    }

    /// Connection string of the database `CREATE DATABASE` is sent to.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The throwaway cluster's temp dir (data directory, unix socket, `postgres.log`), or
    /// `None` when `DATABASE_URL` is used. For reading the server log when a test fails.
    pub fn cluster_dir(&self) -> Option<&Path> {
        self.cluster.as_ref().map(Cluster::dir)
    }

    async fn start() -> anyhow::Result<Self> {
        if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty()) {
            return Ok(Self { admin_url: url, cluster: None });
        }
        let cluster = Cluster::start().await?;
        Ok(Self { admin_url: cluster.admin_url(), cluster: Some(cluster) })
    }

    async fn create_database_on_this_server(&self) -> anyhow::Result<TestDatabase> {
        let admin = connect(&self.admin_url).await.with_context(|| {
            format!("failed to connect to the test postgres at {}", self.admin_url)
        })?;
        let name = uuid::Uuid::new_v4().to_string();
        admin
            .batch_execute(&format!(r#"CREATE DATABASE "{name}""#))
            .await
            .with_context(|| format!("failed to create test database {name}"))?;
        Ok(TestDatabase { url: with_database(&self.admin_url, &name), name })
    }
}

// === impl TestDatabase ===

impl TestDatabase {
    /// Opens a connection, driven by a task on the current runtime.
    pub async fn connect(&self) -> anyhow::Result<tokio_postgres::Client> {
        connect(&self.url).await.with_context(|| format!("failed to connect to {}", self.url))
    }
}

/// Connects without TLS (the test server listens on 127.0.0.1 only).
async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "test database connection failed");
        }
    });
    Ok(client)
}

/// The same connection string naming `database` instead. `database` needs no escaping: it
/// is a UUID.
fn with_database(url: &str, database: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // key=value form: a later key overrides an earlier one.
        return format!("{url} dbname={database}");
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let query = path_and_query.find('?').map_or("", |start| &path_and_query[start..]);
    format!("{scheme}://{authority}/{database}{query}")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::with_database;

    fn dbname(url: &str) -> Option<String> {
        let config = tokio_postgres::Config::from_str(url).expect("test urls are valid");
        config.get_dbname().map(str::to_owned)
    }

    #[test]
    fn with_database_replaces_the_database_of_a_url() {
        let url = with_database("postgres://postgres@127.0.0.1:5432/postgres", "abc");
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/abc");
        assert_eq!(dbname(&url).as_deref(), Some("abc"));
    }

    #[test]
    fn with_database_adds_a_database_to_a_url_without_one_and_keeps_the_query() {
        let url = with_database("postgresql://u:p%2Fw@db:5433?sslmode=disable", "abc");
        assert_eq!(url, "postgresql://u:p%2Fw@db:5433/abc?sslmode=disable");
        assert_eq!(dbname(&url).as_deref(), Some("abc"));
    }

    #[test]
    fn with_database_overrides_dbname_in_key_value_form() {
        let url = with_database("host=127.0.0.1 user=postgres dbname=postgres", "abc");
        assert_eq!(dbname(&url).as_deref(), Some("abc"));
    }
}
