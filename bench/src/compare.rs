//! `vary-bench assign`: the agent and the echo baseline loaded the same way in one run,
//! the baseline first, and the agent reported as a ratio of it.

use std::sync::Arc;

use serde::Serialize;

use crate::{
    cli::AssignArgs,
    load::{self, Target},
    probe::{self, Probe},
    processes::ServerProcess,
    report::{self, Comparison, LoadReport},
};

/// Calls the probe samples before the run.
pub(crate) const PROBE_CALLS: usize = 512;

/// The whole run, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// What the agent's answers looked like.
    pub probe: Probe,
    /// The bare tonic echo.
    pub baseline: LoadReport,
    /// The agent.
    pub assign: LoadReport,
    /// The agent as a ratio of the baseline.
    pub comparison: Comparison,
}

/// Runs the baseline (started here unless given) and then the agent.
pub async fn run(args: &AssignArgs) -> anyhow::Result<CompareReport> {
    let pool = args.mix.settings().encoded();
    let probe = probe::probe(&args.addr, &pool.requests, PROBE_CALLS).await?;
    let started;
    let (baseline_addr, baseline_pid) = match &args.baseline_addr {
        Some(addr) => (addr.clone(), None),
        None => {
            started = ServerProcess::baseline(args.baseline_cpus.as_deref()).await?;
            (started.addr.clone(), Some(started.pid))
        }
    };
    let echo = Arc::new(vec![probe::echo_request_like(&probe)]);
    let baseline =
        load::run(&args.shape.settings(Target::Echo, &baseline_addr, baseline_pid), echo).await?;
    let assign = load::run(
        &args.shape.settings(Target::Assign, &args.addr, args.agent_pid),
        Arc::new(pool.requests),
    )
    .await?;
    let comparison = Comparison::of(&assign, &baseline);
    Ok(CompareReport { probe, baseline, assign, comparison })
}

/// The text report.
pub fn render(report: &CompareReport) -> String {
    let probe = &report.probe;
    format!(
        "{}{}\n{}\nagent / baseline: throughput {:.2}x, p50 {:.2}x, p99 {:.2}x\n\
         each call: request {:.0} B, response {:.0} B, {:.1} experiments assigned (revision {})\n",
        report::summary(&report.baseline),
        report::summary(&report.assign),
        report::table(&[("echo baseline", &report.baseline), ("agent Assign", &report.assign)]),
        report.comparison.throughput_ratio,
        report.comparison.p50_ratio,
        report.comparison.p99_ratio,
        probe.mean_request_bytes,
        probe.mean_response_bytes,
        probe.mean_assignments,
        probe.revision,
    )
}
