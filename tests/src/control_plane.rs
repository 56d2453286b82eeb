//! A real control plane on a real socket, over a fresh database, for one test.

use std::{net::SocketAddr, path::Path, time::Duration};

use anyhow::{Context as _, bail};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, ClientTlsConfig};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use vary_control_plane::{
    auth::Role,
    config::{Config, ConsoleDir, DatabaseUrl, LogFormat, MetricsAddr},
};
use vary_proto::pb::experiment_service_client::ExperimentServiceClient;

use crate::{
    auth::{AuthedChannel, Bearer, TestToken},
    pki::TestPki,
    postgres::{TestDatabase, TestPostgres},
};

/// Longest a test waits for a control plane to report SERVING.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a test waits for a control plane to shut down.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A control plane running inside the test process.
#[derive(Debug)]
pub struct TestControlPlane {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The database it uses (shared with other replicas started on it).
    pub database: TestDatabase,
    /// Where its metrics endpoint listens, when it has one (see
    /// [`TestControlPlane::start_with_metrics`]).
    pub metrics_addr: Option<SocketAddr>,
    /// How test clients reach it over TLS, when it serves TLS.
    client_tls: Option<ClientTlsConfig>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestControlPlane {
    /// A control plane over a fresh database, once it reports SERVING.
    pub async fn start() -> anyhow::Result<Self> {
        crate::init_tracing();
        let database = TestPostgres::create_database().await?;
        Self::start_on(database).await
    }

    /// Another replica on `database`, once it reports SERVING.
    pub async fn start_on(database: TestDatabase) -> anyhow::Result<Self> {
        let server = Self::spawn_on(database).await?;
        server.wait_until_serving().await?;
        Ok(server)
    }

    /// A replica on `database`, bound and running but maybe not SERVING yet.
    pub async fn spawn_on(database: TestDatabase) -> anyhow::Result<Self> {
        Self::spawn_at(database, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// A control plane on `database` listening on `addr` (port 0: a free one), once it
    /// reports SERVING. With the address of a stopped one, it comes back where its agents
    /// look for it.
    pub async fn start_at(database: TestDatabase, addr: SocketAddr) -> anyhow::Result<Self> {
        let server = Self::spawn_at(database, addr).await?;
        server.wait_until_serving().await?;
        Ok(server)
    }

    /// Like [`TestControlPlane::start_at`], without waiting for SERVING.
    pub async fn spawn_at(database: TestDatabase, addr: SocketAddr) -> anyhow::Result<Self> {
        Self::spawn_with(database, addr, |_| {}).await
    }

    /// A control plane over a fresh database with its metrics endpoint on a free port
    /// ([`TestControlPlane::metrics_addr`]), once it reports SERVING.
    pub async fn start_with_metrics() -> anyhow::Result<Self> {
        let database = TestPostgres::create_database().await?;
        let server = Self::spawn_with(database, SocketAddr::from(([127, 0, 0, 1], 0)), |config| {
            config.metrics_addr = MetricsAddr::on(SocketAddr::from(([127, 0, 0, 1], 0)));
        })
        .await?;
        server.wait_until_serving().await?;
        Ok(server)
    }

    /// A control plane over a fresh database serving the web console's files from `dir`
    /// (`--console-dir`: it must hold index.html) at [`TestControlPlane::console_url`],
    /// with its metrics endpoint on a free port too, once it reports SERVING.
    pub async fn start_with_console(dir: &Path) -> anyhow::Result<Self> {
        let database = TestPostgres::create_database().await?;
        let server = Self::spawn_with(database, SocketAddr::from(([127, 0, 0, 1], 0)), |config| {
            config.console_dir = ConsoleDir::on(dir.to_path_buf());
            config.metrics_addr = MetricsAddr::on(SocketAddr::from(([127, 0, 0, 1], 0)));
        })
        .await?;
        server.wait_until_serving().await?;
        Ok(server)
    }

    /// Like [`TestControlPlane::spawn_at`], with the test configuration changed by
    /// `customize` (TLS files, say) before the server starts. A metrics address set by
    /// `customize` is bound here (port 0: a free one), so the test knows it.
    pub async fn spawn_with(
        database: TestDatabase,
        addr: SocketAddr,
        customize: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        crate::init_tracing();
        // Bind before spawning, so the address is known and connections queue up.
        let listener = TcpListener::bind(addr).await.with_context(|| format!("bind {addr}"))?;
        let addr = listener.local_addr()?;
        let config = Config {
            listen_addr: addr,
            metrics_addr: MetricsAddr::OFF,
            database_url: DatabaseUrl::from(database.url.clone()),
            db_pool_size: 8,
            log_format: LogFormat::Text,
            shutdown_grace_seconds: 5,
            replica_id: Some(format!("test-replica-{}", addr.port())),
            heartbeat_interval: Duration::from_secs(1),
            max_stream_age: Duration::from_secs(600),
            first_message_timeout: Duration::from_secs(5),
            config_poll_interval: Duration::from_secs(1),
            guardrail_interval: Duration::from_millis(300),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            tls_reload_interval: Duration::from_millis(200),
            console_dir: ConsoleDir::OFF,
        };
        let mut config = config;
        customize(&mut config);
        let client_tls = config.tls_cert.is_some().then(ClientTlsConfig::new);
        let (metrics_listener, metrics_addr) =
            crate::metrics_listener::bind(config.metrics_addr.0).await?;
        let shutdown = CancellationToken::new();
        let stopped = shutdown.clone();
        let task = tokio::spawn(vary_control_plane::run_with_metrics_listener(
            listener,
            metrics_listener,
            config,
            async move {
                stopped.cancelled().await;
            },
        ));
        Ok(Self { addr, database, metrics_addr, client_tls, shutdown, task })
    }

    /// A control plane on a fresh database serving TLS with `pki`'s server certificate
    /// (and requiring client certificates it signed when `mutual`), once SERVING.
    pub async fn start_tls(pki: &TestPki, mutual: bool) -> anyhow::Result<Self> {
        let database = TestPostgres::create_database().await?;
        let mut server =
            Self::spawn_with(database, SocketAddr::from(([127, 0, 0, 1], 0)), |config| {
                config.tls_cert = Some(pki.server_cert.clone());
                config.tls_key = Some(pki.server_key.clone());
                config.tls_client_ca = mutual.then(|| pki.ca.clone());
            })
            .await?;
        server.client_tls = Some(pki.client_tls(mutual)?);
        server.wait_until_serving().await?;
        Ok(server)
    }

    /// `http://127.0.0.1:port`, or `https://…` when it serves TLS.
    pub fn endpoint(&self) -> String {
        let scheme = if self.client_tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Where a browser opens the web console: `http://127.0.0.1:port/console/` (served only
    /// when started with [`TestControlPlane::start_with_console`]). Its gRPC-Web calls go
    /// to [`TestControlPlane::endpoint`], the same origin.
    pub fn console_url(&self) -> String {
        format!("{}/console/", self.endpoint())
    }

    /// A connected channel without credentials (over TLS when the server serves TLS).
    pub async fn raw_channel(&self) -> anyhow::Result<Channel> {
        let mut endpoint = Channel::from_shared(self.endpoint())?;
        if let Some(tls) = &self.client_tls {
            endpoint = endpoint.tls_config(tls.clone())?;
        }
        endpoint.connect().await.context("connect to the control plane")
    }

    /// A connected channel whose calls carry the test admin token (admin may call every
    /// RPC, agents' included).
    pub async fn channel(&self) -> anyhow::Result<AuthedChannel> {
        self.channel_as(Role::Admin).await
    }

    /// A connected channel whose calls carry the test token of `role`.
    pub async fn channel_as(&self, role: Role) -> anyhow::Result<AuthedChannel> {
        Ok(Bearer::new(TestToken::of(role).secret).wrap(self.raw_channel().await?))
    }

    /// An `ExperimentService` client over a new connection, as admin.
    pub async fn experiments(&self) -> anyhow::Result<ExperimentServiceClient<AuthedChannel>> {
        Ok(ExperimentServiceClient::new(self.channel().await?))
    }

    /// Creates `key` with the fixture spec and starts it, as admin; the config revision of
    /// the start.
    pub async fn create_and_start(&self, key: &str) -> i64 {
        let mut client = self.experiments().await.expect("experiments client");
        crate::fixtures::create_and_start(&mut client, key).await
    }

    /// Waits for `grpc.health.v1` to report SERVING (migrations done), by watching the
    /// health stream rather than sleeping; then makes sure the test tokens exist.
    pub async fn wait_until_serving(&self) -> anyhow::Result<()> {
        self.wait_for_health().await?;
        crate::auth::install_test_tokens(&self.database.url).await
    }

    async fn wait_for_health(&self) -> anyhow::Result<()> {
        let watch = async {
            let mut health = HealthClient::new(self.raw_channel().await?);
            let mut updates =
                health.watch(HealthCheckRequest { service: String::new() }).await?.into_inner();
            while let Some(update) = updates.message().await? {
                if update.status == ServingStatus::Serving as i32 {
                    return Ok(());
                }
            }
            bail!("health stream ended before SERVING")
        };
        tokio::time::timeout(READY_TIMEOUT, watch)
            .await
            .context("control plane not SERVING in time")?
    }

    /// Shuts down and waits (boundedly) for the server to finish; re-raises a panic from it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let joined = tokio::time::timeout(STOP_TIMEOUT, self.task)
            .await
            .context("control plane did not stop in time")?;
        match joined {
            Ok(result) => result,
            Err(join_error) if join_error.is_panic() => {
                std::panic::resume_unwind(join_error.into_panic())
            }
            Err(join_error) => Err(join_error.into()),
        }
    }
}
