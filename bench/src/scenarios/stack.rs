//! The system under test for the scenarios: a throwaway PostgreSQL and a control plane
//! (the test harness's, in this process), N running experiments, and the agent binary as a
//! pinned child process following them.

use std::{path::Path, time::Duration};

use anyhow::{Context as _, bail};
use tempfile::TempDir;
use tokio::time::Instant;
use vary_proto::pb::experiment_service_client::ExperimentServiceClient;
use vary_tests::TestControlPlane;

use crate::{
    experiments::{self, Transport},
    mix::MixSettings,
    probe,
    processes::ServerProcess,
};

/// Longest wait for a new agent to serve the seeded revision (10,000 experiments take
/// seconds to validate and compile).
const AGENT_READY_TIMEOUT: Duration = Duration::from_secs(180);

/// The harness's test token of role `agent`, which it writes into every test database.
fn agent_token() -> anyhow::Result<&'static str> {
    vary_tests::auth::TEST_TOKENS
        .iter()
        .find(|token| token.role.as_str() == "agent")
        .map(|token| token.secret)
        .context("the harness has no agent token")
}

/// A control plane with experiments and an agent following it.
#[derive(Debug)]
pub struct Stack {
    /// The control plane (in this process).
    pub control_plane: TestControlPlane,
    /// The agent (a child process).
    pub agent: ServerProcess,
    /// The revision after seeding.
    pub seeded_revision: i64,
    /// How long seeding took.
    pub seeding: Duration,
    state_dir: TempDir,
}

// === impl Stack ===

impl Stack {
    /// A fresh database with `experiments` running, and an agent serving them.
    pub async fn start(
        agent_bin: &Path,
        agent_cpus: Option<&str>,
        experiments: usize,
    ) -> anyhow::Result<Self> {
        let control_plane = TestControlPlane::start().await.context("start the control plane")?;
        let seeding_started = Instant::now();
        let seeded_revision =
            experiments::seed(control_plane.experiments().await?, experiments).await?;
        let seeding = seeding_started.elapsed();
        let state_dir = tempfile::tempdir().context("agent state dir")?;
        let agent = ServerProcess::agent(
            agent_bin,
            agent_cpus,
            &control_plane.endpoint(),
            state_dir.path(),
            &[("VARY_TOKEN".to_owned(), agent_token()?.to_owned())],
        )
        .await?;
        let mut stack = Self { control_plane, agent, seeded_revision, seeding, state_dir };
        stack.wait_for_revision(seeded_revision, AGENT_READY_TIMEOUT).await?;
        Ok(stack)
    }

    /// Polls the agent (one Assign every 100 ms) until it serves `revision` or later.
    pub async fn wait_for_revision(
        &mut self,
        revision: i64,
        timeout: Duration,
    ) -> anyhow::Result<i64> {
        let deadline = Instant::now() + timeout;
        let requests = MixSettings { pool_size: 1, ..MixSettings::default() }.encoded().requests;
        loop {
            self.agent.ensure_running().with_context(|| self.agent_log_tail())?;
            if let Ok(probe) = probe::probe(&self.agent.addr, &requests, 1).await
                && probe.revision >= revision
            {
                return Ok(probe.revision);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the agent did not serve revision {revision} in {timeout:?}; {}",
                    self.agent_log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn agent_log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.state_dir.path().join("agent.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        format!("agent log tail:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
    }

    /// Stops the agent and the control plane.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.agent.stop().await?;
        self.control_plane.stop().await
    }
}

/// Publishes one new revision every `every` until `stop` fires; how many it published and
/// the last revision.
pub(super) async fn publish_every<T: Transport>(
    mut client: ExperimentServiceClient<T>,
    every: Duration,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<(u64, i64)> {
    let mut ticks = tokio::time::interval(every);
    let mut stop = stop;
    let (mut published, mut last) = (0, 0);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok((published, last)),
            _ = ticks.tick() => {
                last = experiments::publish_one(&mut client, published).await?;
                published += 1;
            }
        }
    }
}
