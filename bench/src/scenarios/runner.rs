//! Runs one load child against the agent or the echo baseline, pinned to the load CPUs,
//! with the settings every scenario shares.

use crate::{
    cli::ShapeArgs,
    load::Target,
    processes::{ServerProcess, load_child},
    report::LoadReport,
};

use super::{ScenarioArgs, Stack};

/// Where the load goes and how.
#[derive(Debug)]
pub(super) struct Runner<'a> {
    pub(super) args: &'a ScenarioArgs,
    pub(super) agent: (String, u32),
    pub(super) baseline: Option<(String, u32)>,
    /// Encoded request and response sizes of the echo, like Assign's.
    pub(super) echo_sizes: (usize, u32),
}

// === impl Runner ===

impl<'a> Runner<'a> {
    /// Against `stack`'s agent and, when given, `baseline`.
    pub(super) fn new(
        args: &'a ScenarioArgs,
        stack: &Stack,
        baseline: Option<&ServerProcess>,
        echo_sizes: (usize, u32),
    ) -> Self {
        Self {
            args,
            agent: (stack.agent.addr.clone(), stack.agent.pid),
            baseline: baseline.map(|baseline| (baseline.addr.clone(), baseline.pid)),
            echo_sizes,
        }
    }

    /// The agent, with exposure logging on or off.
    pub(super) async fn agent(
        &self,
        shape: &ShapeArgs,
        log_exposure: bool,
    ) -> anyhow::Result<LoadReport> {
        let (addr, pid) = (&self.agent.0, self.agent.1);
        load_child(
            self.args.load_cpus(),
            Target::Assign,
            addr,
            Some(pid),
            shape,
            &self.args.mix(log_exposure),
            None,
        )
        .await
    }

    /// The echo baseline.
    pub(super) async fn echo(&self, shape: &ShapeArgs) -> anyhow::Result<LoadReport> {
        let (addr, pid) =
            self.baseline.as_ref().ok_or_else(|| anyhow::anyhow!("no baseline running"))?;
        load_child(
            self.args.load_cpus(),
            Target::Echo,
            addr,
            Some(*pid),
            shape,
            &self.args.mix(false),
            Some(self.echo_sizes),
        )
        .await
    }
}
