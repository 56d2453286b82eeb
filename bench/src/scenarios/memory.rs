//! Scenario 5: the agent's resident memory serving N running experiments, idle and after
//! a closed-loop run, on a fresh stack of its own.

use std::path::Path;

use super::{
    MemoryReading, RSS_BUDGET_EXPERIMENTS, RSS_BUDGET_MIB, ScenarioArgs, ScenarioReport,
    runner::Runner, stack::Stack,
};
use crate::{procfs, report::BudgetCheck};

/// Measures an agent serving `experiments`.
pub(super) async fn run(
    args: &ScenarioArgs,
    agent_bin: &Path,
    experiments: usize,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    eprintln!("==> scenario 5: agent memory with {experiments} running experiments");
    let stack = Stack::start(agent_bin, args.agent_cpus(), experiments).await?;
    let idle = procfs::memory(stack.agent.pid)?;
    let run = Runner::new(args, &stack, None, (0, 0)).agent(&args.closed(), false).await?;
    let after_load = procfs::memory(stack.agent.pid)?;
    eprintln!(
        "    seeded in {:.1} s; VmRSS idle {} KiB, after load {} KiB, VmHWM {} KiB",
        stack.seeding.as_secs_f64(),
        idle.rss_kib,
        after_load.rss_kib,
        after_load.hwm_kib
    );
    if experiments == RSS_BUDGET_EXPERIMENTS {
        report.checks.push(BudgetCheck::at_most(
            "5. agent VmRSS with 1,000 experiments, after load",
            after_load.rss_kib as f64 / 1_024.0,
            RSS_BUDGET_MIB,
            "MiB",
        ));
    }
    report.memory.push(MemoryReading {
        experiments,
        idle,
        after_load,
        seeding_seconds: stack.seeding.as_secs_f64(),
    });
    report.runs.push((format!("5. agent, closed, {experiments} experiments"), run));
    stack.stop().await
}
