//! The scenarios of docs/BENCHMARKS.md, end to end: (1) closed-loop maximum throughput
//! with 200 running experiments, agent and load on different CPUs, against the echo
//! baseline; (2) open loop at a fraction (50%) of that maximum; (3) the same while the
//! control plane publishes a new revision every second; (4) exposure logging on against
//! off; (5) the agent's memory with 1,000 and 10,000 experiments.

mod stack;

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use crate::{
    cli::{MixArgs, ShapeArgs, default_bin_dir},
    load::Target,
    probe::{self, Probe},
    processes::{ServerProcess, load_child},
    procfs::{self, Memory},
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
    /// Only these scenarios (1–5); scenarios 2–4 run 1 too, for the rate.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    pub only: Vec<u8>,
    /// Where `vary-edge-agent` is; defaults to this executable's directory.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
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
    /// Agent / baseline ratios, named.
    pub comparisons: Vec<(String, Comparison)>,
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
    if args.only.iter().any(|scenario| (1..=4).contains(scenario)) {
        throughput_and_latency(args, &agent_bin, &mut report).await?;
    }
    if args.only.contains(&5) {
        for &experiments in &args.rss_experiments {
            memory(args, &agent_bin, experiments, &mut report).await?;
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

/// Scenarios 1–4 on one stack.
async fn throughput_and_latency(
    args: &ScenarioArgs,
    agent_bin: &std::path::Path,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    eprintln!("==> seeding {} running experiments and starting the agent", args.experiments);
    let mut stack = Stack::start(agent_bin, args.agent_cpus(), args.experiments).await?;
    eprintln!(
        "    seeded in {:.1} s; agent pid {} at revision {}",
        stack.seeding.as_secs_f64(),
        stack.agent.pid,
        stack.seeded_revision
    );
    let baseline = ServerProcess::baseline(args.agent_cpus()).await?;
    let pool = args.mix(false).settings().encoded();
    let probe = probe::probe(&stack.agent.addr, &pool.requests, 512).await?;
    let echo_sizes =
        Some((probe.mean_request_bytes.round() as usize, probe.mean_response_bytes.round() as u32));
    report.probe = Some(probe);
    let (agent, agent_pid, load_cpus) =
        (stack.agent.addr.clone(), Some(stack.agent.pid), args.load_cpus());

    eprintln!("==> scenario 1: closed loop, maximum throughput (echo baseline, then agent)");
    let echo_max = load_child(
        load_cpus,
        Target::Echo,
        &baseline.addr,
        Some(baseline.pid),
        &args.closed(),
        &args.mix(false),
        echo_sizes,
    )
    .await?;
    let assign_max = load_child(
        load_cpus,
        Target::Assign,
        &agent,
        agent_pid,
        &args.closed(),
        &args.mix(false),
        None,
    )
    .await?;
    let max = Comparison::of(&assign_max, &echo_max);
    report.checks.push(BudgetCheck::at_least(
        "1. throughput, agent / echo",
        max.throughput_ratio,
        THROUGHPUT_RATIO_BUDGET,
        "x",
    ));
    report.comparisons.push(("1. closed loop".to_owned(), max));
    let rate = assign_max.throughput * args.open_fraction;
    report.runs.push(("1. echo, closed".to_owned(), echo_max));
    report.runs.push(("1. agent, closed".to_owned(), assign_max.clone()));

    if args.only.contains(&2) || args.only.contains(&3) {
        eprintln!("==> scenario 2: open loop at {rate:.0} calls/s");
        let echo_open = load_child(
            load_cpus,
            Target::Echo,
            &baseline.addr,
            Some(baseline.pid),
            &args.open(rate),
            &args.mix(false),
            echo_sizes,
        )
        .await?;
        let assign_open = load_child(
            load_cpus,
            Target::Assign,
            &agent,
            agent_pid,
            &args.open(rate),
            &args.mix(false),
            None,
        )
        .await?;
        report.checks.push(BudgetCheck::at_most(
            "2. p99 at the open rate",
            assign_open.latency.p99_us / 1_000.0,
            P99_BUDGET_US / 1_000.0,
            "ms",
        ));
        report
            .comparisons
            .push(("2. open loop".to_owned(), Comparison::of(&assign_open, &echo_open)));
        report.runs.push(("2. echo, open".to_owned(), echo_open));
        report.runs.push(("2. agent, open".to_owned(), assign_open));
    }
    if args.only.contains(&3) {
        eprintln!(
            "==> scenario 3: open loop at {rate:.0} calls/s, a new revision every {:?}",
            args.publish_every
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let publisher = tokio::spawn(stack::publish_every(
            stack.experiments().await?,
            args.publish_every,
            stop_rx,
        ));
        let publishing = load_child(
            load_cpus,
            Target::Assign,
            &agent,
            agent_pid,
            &args.open(rate),
            &args.mix(false),
            None,
        )
        .await;
        let _ = stop_tx.send(());
        let (published, last) = publisher.await.context("the publisher panicked")??;
        let publishing = publishing?;
        let served = stack.wait_for_revision(last, Duration::from_secs(30)).await?;
        eprintln!("    published {published} revisions; the agent serves {served}");
        report.published_revisions = published;
        report.checks.push(BudgetCheck::at_most(
            "3. p99 while publishing",
            publishing.latency.p99_us / 1_000.0,
            P99_BUDGET_US / 1_000.0,
            "ms",
        ));
        report.runs.push(("3. agent, open, publishing".to_owned(), publishing));
    }
    if args.only.contains(&4) {
        eprintln!("==> scenario 4: exposure logging on (closed loop, then open at {rate:.0}/s)");
        let closed_on = load_child(
            load_cpus,
            Target::Assign,
            &agent,
            agent_pid,
            &args.closed(),
            &args.mix(true),
            None,
        )
        .await?;
        let open_on = load_child(
            load_cpus,
            Target::Assign,
            &agent,
            agent_pid,
            &args.open(rate),
            &args.mix(true),
            None,
        )
        .await?;
        report.comparisons.push((
            "4. exposures on, closed loop, vs echo".to_owned(),
            Comparison::of(&closed_on, &report.runs[0].1),
        ));
        report.runs.push(("4. agent, closed, exposures on".to_owned(), closed_on));
        report.runs.push(("4. agent, open, exposures on".to_owned(), open_on));
    }
    let memory = procfs::memory(stack.agent.pid)?;
    eprintln!(
        "    agent with {} experiments after the runs: VmRSS {} KiB, VmHWM {} KiB",
        args.experiments, memory.rss_kib, memory.hwm_kib
    );
    report.memory.push(MemoryReading {
        experiments: args.experiments,
        idle: memory,
        after_load: memory,
        seeding_seconds: stack.seeding.as_secs_f64(),
    });
    baseline.stop().await?;
    stack.stop().await
}

/// Scenario 5 for one experiment count: a fresh stack, memory idle and after a closed loop.
async fn memory(
    args: &ScenarioArgs,
    agent_bin: &std::path::Path,
    experiments: usize,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    eprintln!("==> scenario 5: agent memory with {experiments} running experiments");
    let stack = Stack::start(agent_bin, args.agent_cpus(), experiments).await?;
    let idle = procfs::memory(stack.agent.pid)?;
    let run = load_child(
        args.load_cpus(),
        Target::Assign,
        &stack.agent.addr,
        Some(stack.agent.pid),
        &args.closed(),
        &args.mix(false),
        None,
    )
    .await?;
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
            "5. RSS with 1,000 experiments, after load",
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
    out += "\n| comparison | throughput | p50 | p99 |\n| --- | ---: | ---: | ---: |\n";
    for (name, comparison) in &report.comparisons {
        out += &format!(
            "| {name} | {:.2}x | {:.2}x | {:.2}x |\n",
            comparison.throughput_ratio, comparison.p50_ratio, comparison.p99_ratio
        );
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
