//! A real edge agent on a real socket, following a control plane, with its state
//! directory in a temporary directory that survives restarts.

use std::{
    future::Future,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context as _, bail};
use tempfile::TempDir;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use vary_control_plane::auth::Role;
use vary_edge_agent::{Config, Hooks, lkg};
use vary_proto::pb::{self, assignment_service_client::AssignmentServiceClient};

/// Longest a test waits for an agent to report SERVING or reach a revision.
pub const AGENT_WAIT: Duration = Duration::from_secs(30);

/// An edge agent running inside the test process.
#[derive(Debug)]
pub struct TestEdgeAgent {
    /// Where it serves Assign, Explain and health.
    pub addr: SocketAddr,
    /// What it was started with (its `listen_addr` is unused: it binds a free port).
    pub config: Config,
    /// Where its metrics endpoint listens, when its configuration turns it on (the
    /// address is bound by the harness; port 0 is a free one).
    pub metrics_addr: Option<SocketAddr>,
    hooks: Hooks,
    state: Arc<TempDir>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), vary_edge_agent::Error>>,
}

/// A stopped agent's configuration and state directory, ready to start again.
#[derive(Debug)]
pub struct StoppedEdgeAgent {
    /// Its configuration.
    pub config: Config,
    hooks: Hooks,
    state: Arc<TempDir>,
}

// === impl TestEdgeAgent ===

impl TestEdgeAgent {
    /// An agent named `agent_id` following `control_plane` (`http://…`), once SERVING.
    pub async fn start(control_plane: &str, agent_id: &str) -> anyhow::Result<Self> {
        let agent = Self::start_with(control_plane, agent_id, Hooks::default()).await?;
        agent.wait_until_serving().await?;
        Ok(agent)
    }

    /// Like [`TestEdgeAgent::start`] with test hooks, and without waiting for SERVING.
    pub async fn start_with(
        control_plane: &str,
        agent_id: &str,
        hooks: Hooks,
    ) -> anyhow::Result<Self> {
        let state = Arc::new(tempfile::tempdir().context("create a state dir")?);
        let config = test_config(control_plane, agent_id, state.path());
        Self::spawn(config, hooks, state).await
    }

    /// An agent started with the test configuration changed by `customize` (TLS settings,
    /// say), without waiting for SERVING.
    pub async fn start_configured(
        control_plane: &str,
        agent_id: &str,
        customize: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let state = Arc::new(tempfile::tempdir().context("create a state dir")?);
        let mut config = test_config(control_plane, agent_id, state.path());
        customize(&mut config);
        Self::spawn(config, Hooks::default(), state).await
    }

    /// An agent with its metrics endpoint on a free port ([`TestEdgeAgent::metrics_addr`]),
    /// once SERVING.
    pub async fn start_with_metrics(control_plane: &str, agent_id: &str) -> anyhow::Result<Self> {
        let agent = Self::start_configured(control_plane, agent_id, |config| {
            config.metrics_addr =
                vary_edge_agent::config::MetricsAddr::on(SocketAddr::from(([127, 0, 0, 1], 0)));
        })
        .await?;
        agent.wait_until_serving().await?;
        Ok(agent)
    }

    async fn spawn(config: Config, hooks: Hooks, state: Arc<TempDir>) -> anyhow::Result<Self> {
        crate::init_tracing();
        // Bind before spawning, so the address is known and connections queue up.
        let listener = TcpListener::bind("127.0.0.1:0").await.context("bind a free port")?;
        let addr = listener.local_addr()?;
        let (metrics_listener, metrics_addr) =
            crate::metrics_listener::bind(config.metrics_addr.0).await?;
        let shutdown = CancellationToken::new();
        let stopped = shutdown.clone();
        let task = tokio::spawn(vary_edge_agent::run_with_metrics_listener(
            listener,
            metrics_listener,
            config.clone(),
            hooks.clone(),
            async move { stopped.cancelled().await },
        ));
        Ok(Self { addr, config, metrics_addr, hooks, state, shutdown, task })
    }

    /// The agent's state directory.
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// A new connection to the agent's API.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await
            .context("connect to the edge agent")
    }

    /// An `AssignmentService` client over a new connection.
    pub async fn client(&self) -> anyhow::Result<AssignmentServiceClient<Channel>> {
        Ok(AssignmentServiceClient::new(self.channel().await?))
    }

    /// The whole server's health ("").
    pub async fn health(&self) -> anyhow::Result<ServingStatus> {
        let mut health = HealthClient::new(self.channel().await?);
        let response = health.check(HealthCheckRequest { service: String::new() }).await?;
        Ok(response.into_inner().status())
    }

    /// Waits for SERVING on the health Watch stream (a signal, not a poll).
    pub async fn wait_until_serving(&self) -> anyhow::Result<()> {
        let watch = async {
            let mut health = HealthClient::new(self.channel().await?);
            let mut updates =
                health.watch(HealthCheckRequest { service: String::new() }).await?.into_inner();
            while let Some(update) = updates.message().await? {
                if update.status() == ServingStatus::Serving {
                    return Ok(());
                }
            }
            bail!("health stream ended before SERVING")
        };
        tokio::time::timeout(AGENT_WAIT, watch).await.context("edge agent not SERVING in time")?
    }

    /// Assigns `user_id` on pdp in Germany (where the fixture spec is eligible).
    pub async fn assign(&self, user_id: &str) -> Result<pb::AssignResponse, tonic::Status> {
        let request = pb::AssignRequest {
            user_id: user_id.to_owned(),
            context: Some(pb::AssignmentContext {
                placement: "pdp".to_owned(),
                country: "DE".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut client =
            self.client().await.map_err(|error| tonic::Status::unavailable(error.to_string()))?;
        client.assign(request).await.map(tonic::Response::into_inner)
    }

    /// Polls `assign(user_id)` until its response satisfies `done`, within [`AGENT_WAIT`];
    /// returns that response.
    pub async fn assign_until(
        &self,
        user_id: &str,
        what: &str,
        mut done: impl FnMut(&pb::AssignResponse) -> bool,
    ) -> anyhow::Result<pb::AssignResponse> {
        let deadline = tokio::time::Instant::now() + AGENT_WAIT;
        loop {
            let response = self.assign(user_id).await;
            if let Ok(response) = &response
                && done(response)
            {
                return Ok(response.clone());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("agent {} never answered {what}; last: {response:?}", self.addr);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the agent serves `revision` or a later one.
    pub async fn wait_for_revision(&self, revision: i64) -> anyhow::Result<pb::AssignResponse> {
        self.assign_until("revision-probe", &format!("revision >= {revision}"), |response| {
            response.revision >= revision
        })
        .await
    }

    /// Stops the agent, keeping its state directory for [`StoppedEdgeAgent::start`].
    pub async fn stop(self) -> anyhow::Result<StoppedEdgeAgent> {
        self.shutdown.cancel();
        let result = match self.task.await {
            Ok(result) => result.map_err(anyhow::Error::from),
            Err(join_error) if join_error.is_panic() => {
                std::panic::resume_unwind(join_error.into_panic())
            }
            Err(join_error) => Err(join_error.into()),
        };
        result.context("edge agent failed")?;
        Ok(StoppedEdgeAgent { config: self.config, hooks: self.hooks, state: self.state })
    }
}

// === impl StoppedEdgeAgent ===

impl StoppedEdgeAgent {
    /// Its last-known-good file.
    pub fn lkg_path(&self) -> PathBuf {
        lkg::path_in(self.state.path())
    }

    /// Starts it again on a new port with the same state directory, without waiting for
    /// SERVING. `control_plane` replaces the address it follows, if given.
    pub async fn start(self, control_plane: Option<&str>) -> anyhow::Result<TestEdgeAgent> {
        let mut config = self.config;
        if let Some(control_plane) = control_plane {
            config.control_plane_addr = control_plane.to_owned();
        }
        TestEdgeAgent::spawn(config, self.hooks, self.state).await
    }
}

/// An agent configuration with timers short enough for tests. The control planes of the
/// harness heartbeat every second, so five seconds of silence means a dead stream.
pub fn test_config(control_plane: &str, agent_id: &str, state_dir: &Path) -> Config {
    Config {
        labels: vec![("suite".to_owned(), "vary-tests".to_owned())],
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_secs(1),
        first_message_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
        token: Some(crate::auth::TestToken::of(Role::Agent).secret.to_owned().into()),
        ..Config::new(control_plane, agent_id, state_dir)
    }
}

/// Polls `check` (every 20 ms) until it returns true; an error after `timeout`. For the
/// conditions with no signal to await.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let poll = async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(timeout, poll).await.context("condition not met in time")
}
