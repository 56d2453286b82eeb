//! The scenarios of docs/BENCHMARKS.md, end to end: (1) closed-loop maximum throughput
//! with 200 running experiments, agent and load on different CPUs, against the echo
//! baseline; (2) open loop at a fraction (50%) of that maximum; (3) the same while the
//! control plane publishes a new revision every second; (4) exposure logging on against
//! off; (5) the agent's memory with 1,000 and 10,000 experiments.

mod memory;
mod runner;
mod stack;
mod throughput;

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use crate::{
    cli::{MixArgs, ShapeArgs, default_bin_dir},
    probe::Probe,
    procfs::Memory,
    report::{self, BudgetCheck, Comparison, LoadReport},
};
pub use stack::Stack;

/// DESIGN §9: p99 of Assign at half the maximum throughput, microseconds.
const P99_BUDGET_US: f64 = 1_000.0;
/// DESIGN §9: Assign throughput as a share of the bare echo's.
const THROUGHPUT_RATIO_BUDGET: f64 = 0.8;
/// DESIGN §9: the agent's resident memory with 1,000 experiments, MiB.
const RSS_BUDGET_MIB: f64 = 32.0;
/// The experiment count the memory budget is stated for.
const RSS_BUDGET_EXPERIMENTS: usize = 1_000;

/// Flags of `scenarios`.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Running experiments for scenarios 1–4.
    #[arg(long, default_value_t = 200)]
    pub experiments: usize,
    /// Experiment counts whose agent memory scenario 5 measures.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub rss_experiments: Vec<usize>,
    /// CPUs of the agent and of the echo baseline (`taskset -c` list).
    #[arg(long, default_value = "0")]
    pub agent_cpus: String,
    /// CPUs of the load tool.
    #[arg(long, default_value = "1")]
    pub load_cpus: String,
    /// Pin nothing (the CPU lists are ignored).
    #[arg(long)]
    pub no_pin: bool,
    /// The open loops' rate as a fraction of the agent's closed-loop maximum.
    #[arg(long, default_value_t = 0.5)]
    pub open_fraction: f64,
    /// Scenario 3's interval between published revisions.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub publish_every: Duration,
    /// Rounds of scenarios 1 and 2, each the echo then the agent: the machine is shared,
    /// so ratios are taken per round and the median reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Only these scenarios (1–5); scenarios 2–4 run 1 too, for the rate.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    pub only: Vec<u8>,
    /// Where `vary-edge-agent` is; defaults to this executable's directory.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Before stopping, print the agent's and the baseline's addresses and pids and wait
    /// for Ctrl-C: for profiling them (`perf record -p PID`) under `vary-bench load`.
    #[arg(long)]
    pub hold: bool,
    /// Also write the whole report as JSON here.
    #[arg(long)]
    pub json_out: Option<PathBuf>,
    /// How each run is shaped (`--rate` is ignored: the scenarios set it).
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// The request mix (`--log-exposure` is ignored: scenario 4 sets it).
    #[command(flatten)]
    pub mix: MixArgs,
}

/// Memory of an agent serving `experiments`.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryReading {
    /// Running experiments.
    pub experiments: usize,
    /// Once the snapshot is loaded, before any load.
    pub idle: Memory,
    /// After a closed-loop run.
    pub after_load: Memory,
    /// Seeding time through the control plane's API, seconds.
    pub seeding_seconds: f64,
}

/// Everything the scenarios measured.
#[derive(Debug, Default, Serialize)]
pub struct ScenarioReport {
    /// What Assign calls looked like with the scenario's experiments.
    pub probe: Option<Probe>,
    /// Every run, named.
    pub runs: Vec<(String, LoadReport)>,
    /// Agent / baseline ratios, named (per round, and the medians).
    pub comparisons: Vec<(String, Comparison)>,
    /// The open loops' rate, calls per second.
    pub open_rate: Option<f64>,
    /// Revisions published during scenario 3.
    pub published_revisions: u64,
    /// Agent memory readings.
    pub memory: Vec<MemoryReading>,
    /// The budgets.
    pub checks: Vec<BudgetCheck>,
}

/// Runs the chosen scenarios and prints the report.
pub async fn run(args: &ScenarioArgs) -> anyhow::Result<()> {
    let bin_dir = args.bin_dir.clone().unwrap_or_else(default_bin_dir);
    let agent_bin = bin_dir.join("vary-edge-agent");
    anyhow::ensure!(
        agent_bin.exists(),
        "{} not found (build it, or pass --bin-dir)",
        agent_bin.display()
    );
    let mut report = ScenarioReport::default();
    if args.hold || args.only.iter().any(|scenario| (1..=4).contains(scenario)) {
        throughput::run(args, &agent_bin, &mut report).await?;
    }
    if args.only.contains(&5) {
        for &experiments in &args.rss_experiments {
            memory::run(args, &agent_bin, experiments, &mut report).await?;
        }
    }
    print!("{}", render(&report));
    if let Some(path) = &args.json_out {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

impl ScenarioArgs {
    fn agent_cpus(&self) -> Option<&str> {
        (!self.no_pin).then_some(self.agent_cpus.as_str())
    }

    fn load_cpus(&self) -> Option<&str> {
        (!self.no_pin).then_some(self.load_cpus.as_str())
    }

    fn closed(&self) -> ShapeArgs {
        ShapeArgs { rate: None, ..self.shape.clone() }
    }

    fn open(&self, rate: f64) -> ShapeArgs {
        ShapeArgs { rate: Some(rate.round().max(1.0)), ..self.shape.clone() }
    }

    fn mix(&self, log_exposure: bool) -> MixArgs {
        MixArgs { log_exposure, ..self.mix.clone() }
    }
}

/// The text report: runs, ratios, memory, budgets.
pub fn render(report: &ScenarioReport) -> String {
    let mut out = String::new();
    if let Some(probe) = &report.probe {
        out += &format!(
            "Assign calls: request {:.0} B, response {:.0} B, {:.1} experiments assigned per call ({:.0}% assign any)\n\n",
            probe.mean_request_bytes,
            probe.mean_response_bytes,
            probe.mean_assignments,
            probe.assigned_share * 100.0
        );
    }
    let runs: Vec<(&str, &LoadReport)> =
        report.runs.iter().map(|(name, run)| (name.as_str(), run)).collect();
    out += &report::table(&runs);
    out += "\n| agent / echo | throughput | p50 | p99 | CPU capacity |\n| --- | ---: | ---: | ---: | ---: |\n";
    for (name, comparison) in &report.comparisons {
        let capacity =
            comparison.cpu_capacity_ratio.map_or("–".to_owned(), |ratio| format!("{ratio:.2}x"));
        out += &format!(
            "| {name} | {:.2}x | {:.2}x | {:.2}x | {capacity} |\n",
            comparison.throughput_ratio, comparison.p50_ratio, comparison.p99_ratio
        );
    }
    if let Some(rate) = report.open_rate {
        out += &format!("\nOpen loops ran at {rate:.0} calls/s.\n");
    }
    if report.published_revisions > 0 {
        out += &format!(
            "\nScenario 3 published {} revisions during its run.\n",
            report.published_revisions
        );
    }
    if !report.memory.is_empty() {
        out += "\n| experiments | VmRSS idle | VmRSS after load | VmHWM | seeding |\n| ---: | ---: | ---: | ---: | ---: |\n";
        for reading in &report.memory {
            let mib = |kib: u64| kib as f64 / 1_024.0;
            out += &format!(
                "| {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.0} s |\n",
                reading.experiments,
                mib(reading.idle.rss_kib),
                mib(reading.after_load.rss_kib),
                mib(reading.after_load.hwm_kib),
                reading.seeding_seconds
            );
        }
    }
    out += "\nBudgets (DESIGN §9):\n";
    for check in &report.checks {
        out += &format!("- {}\n", check.line());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_shows_ratios_memory_and_budget_verdicts() {
        let report = ScenarioReport {
            comparisons: vec![(
                "1. closed loop, median".to_owned(),
                Comparison {
                    throughput_ratio: 0.93,
                    p50_ratio: 1.5,
                    p99_ratio: 1.1,
                    cpu_capacity_ratio: Some(0.7),
                },
            )],
            open_rate: Some(4_243.0),
            memory: vec![MemoryReading {
                experiments: 1_000,
                idle: Memory { rss_kib: 40_960, hwm_kib: 40_960 },
                after_load: Memory { rss_kib: 40_960, hwm_kib: 41_984 },
                seeding_seconds: 24.0,
            }],
            checks: vec![BudgetCheck::at_most("5. rss", 40.0, 32.0, "MiB")],
            ..ScenarioReport::default()
        };
        let text = render(&report);
        assert!(
            text.contains("| 1. closed loop, median | 0.93x | 1.50x | 1.10x | 0.70x |"),
            "{text}"
        );
        assert!(text.contains("Open loops ran at 4243 calls/s."), "{text}");
        assert!(text.contains("| 1000 | 40.0 MiB | 40.0 MiB | 41.0 MiB | 24 s |"), "{text}");
        assert!(text.contains("- 5. rss: 40 MiB (budget 32): MISSED by 25%"), "{text}");
    }
}
