//! Scenarios 1–4 on one stack of N running experiments: closed-loop maximum against the
//! echo, open loop at a fraction of it, the same while revisions are published, and
//! exposure logging on.

use std::{path::Path, time::Duration};

use anyhow::Context as _;

use super::{
    P99_BUDGET_US, ScenarioArgs, ScenarioReport, THROUGHPUT_RATIO_BUDGET, runner::Runner, stack,
    stack::Stack,
};
use crate::{
    compare::PROBE_CALLS,
    probe,
    processes::ServerProcess,
    procfs,
    report::{BudgetCheck, Comparison},
};

/// Runs the scenarios among 1–4 that `args` asks for.
pub(super) async fn run(
    args: &ScenarioArgs,
    agent_bin: &Path,
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
    let idle = procfs::memory(stack.agent.pid)?;
    let baseline = ServerProcess::baseline(args.agent_cpus()).await?;
    let pool = args.mix(false).settings().encoded();
    let probe = probe::probe(&stack.agent.addr, &pool.requests, PROBE_CALLS).await?;
    report.probe = Some(probe);
    let echo_sizes =
        (probe.mean_request_bytes.round() as usize, probe.mean_response_bytes.round() as u32);
    let wanted = |scenario: u8| args.only.contains(&scenario);
    if (1..=4).any(wanted) {
        let runner = Runner::new(args, &stack, Some(&baseline), echo_sizes);
        let rate = closed_loop(&runner, report).await? * args.open_fraction;
        report.open_rate = Some(rate);
        if wanted(2) {
            open_loop(&runner, rate, report).await?;
        }
        if wanted(3) {
            publishing(&runner, &mut stack, rate, report).await?;
        }
        if wanted(4) {
            exposures(&runner, report).await?;
        }
    }
    if args.hold {
        eprintln!(
            "    holding: agent {} (pid {}), echo baseline {} (pid {}); Ctrl-C stops",
            stack.agent.addr, stack.agent.pid, baseline.addr, baseline.pid
        );
        tokio::signal::ctrl_c().await?;
    }
    let after_load = procfs::memory(stack.agent.pid)?;
    report.memory.push(super::MemoryReading {
        experiments: args.experiments,
        idle,
        after_load,
        seeding_seconds: stack.seeding.as_secs_f64(),
    });
    baseline.stop().await?;
    stack.stop().await
}

/// Scenario 1: rounds of echo then agent, closed loop. Returns the agent's median maximum.
async fn closed_loop(runner: &Runner<'_>, report: &mut ScenarioReport) -> anyhow::Result<f64> {
    let args = runner.args;
    let mut comparisons = Vec::new();
    let mut maxima = Vec::new();
    for round in 1..=args.rounds.max(1) {
        eprintln!(
            "==> scenario 1, round {round}: closed loop, maximum throughput (echo, then agent)"
        );
        let echo = runner.echo(&args.closed()).await?;
        let agent = runner.agent(&args.closed(), false).await?;
        comparisons.push(Comparison::of(&agent, &echo));
        maxima.push(agent.throughput);
        report.runs.push((format!("1. echo, closed, round {round}"), echo));
        report.runs.push((format!("1. agent, closed, round {round}"), agent));
    }
    let median = median_comparison(&comparisons);
    for (round, comparison) in comparisons.into_iter().enumerate() {
        report.comparisons.push((format!("1. closed loop, round {}", round + 1), comparison));
    }
    report.comparisons.push(("1. closed loop, median".to_owned(), median));
    report.checks.push(BudgetCheck::at_least(
        "1. throughput, agent / echo (median of rounds)",
        median.throughput_ratio,
        THROUGHPUT_RATIO_BUDGET,
        "x",
    ));
    if let Some(capacity) = median.cpu_capacity_ratio {
        report.checks.push(BudgetCheck::at_least(
            "1. CPU capacity, echo CPU per call / agent CPU per call (median)",
            capacity,
            THROUGHPUT_RATIO_BUDGET,
            "x",
        ));
    }
    Ok(median_of(&mut maxima))
}

/// Scenario 2: rounds of echo then agent, open loop at `rate`.
async fn open_loop(
    runner: &Runner<'_>,
    rate: f64,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let args = runner.args;
    let mut comparisons = Vec::new();
    let mut p99s = Vec::new();
    for round in 1..=args.rounds.max(1) {
        eprintln!(
            "==> scenario 2, round {round}: open loop at {rate:.0} calls/s (echo, then agent)"
        );
        let echo = runner.echo(&args.open(rate)).await?;
        let agent = runner.agent(&args.open(rate), false).await?;
        comparisons.push(Comparison::of(&agent, &echo));
        p99s.push(agent.latency.p99_us);
        report.runs.push((format!("2. echo, open, round {round}"), echo));
        report.runs.push((format!("2. agent, open, round {round}"), agent));
    }
    report.comparisons.push(("2. open loop, median".to_owned(), median_comparison(&comparisons)));
    report.checks.push(BudgetCheck::at_most(
        "2. agent p99 at the open rate (median of rounds)",
        median_of(&mut p99s) / 1_000.0,
        P99_BUDGET_US / 1_000.0,
        "ms",
    ));
    Ok(())
}

/// Scenario 3: the agent in an open loop while a revision is published every interval.
async fn publishing(
    runner: &Runner<'_>,
    stack: &mut Stack,
    rate: f64,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let args = runner.args;
    eprintln!(
        "==> scenario 3: open loop at {rate:.0} calls/s, a new revision every {:?}",
        args.publish_every
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let client = stack.control_plane.experiments().await?;
    let publisher = tokio::spawn(stack::publish_every(client, args.publish_every, stop_rx));
    let run = runner.agent(&args.open(rate), false).await;
    let _ = stop_tx.send(());
    let (published, last) = publisher.await.context("the publisher panicked")??;
    let run = run?;
    let served = stack.wait_for_revision(last, Duration::from_secs(30)).await?;
    eprintln!("    published {published} revisions; the agent serves revision {served}");
    report.published_revisions = published;
    report.checks.push(BudgetCheck::at_most(
        "3. agent p99 while publishing",
        run.latency.p99_us / 1_000.0,
        P99_BUDGET_US / 1_000.0,
        "ms",
    ));
    report.runs.push(("3. agent, open, publishing".to_owned(), run));
    Ok(())
}

/// Scenario 4: exposure logging on, closed loop, then open loop at `--open-fraction` (half)
/// of that closed loop's throughput (off is scenarios 1 and 2). Not at scenario 2's rate: exposures cost
/// CPU on the same two cores (the agent's forwarder, the control plane's ingest and
/// PostgreSQL), so that rate can exceed the capacity with exposures on, and an open loop
/// above capacity only measures its own growing queue.
async fn exposures(runner: &Runner<'_>, report: &mut ScenarioReport) -> anyhow::Result<()> {
    let args = runner.args;
    eprintln!("==> scenario 4: exposure logging on (closed loop, then open at a fraction of it)");
    let closed = runner.agent(&args.closed(), true).await?;
    let rate = (closed.throughput * args.open_fraction).max(1.0);
    eprintln!("    open loop at {rate:.0} calls/s");
    let open = runner.agent(&args.open(rate), true).await?;
    report.runs.push(("4. agent, closed, exposures on".to_owned(), closed));
    report.runs.push((format!("4. agent, open at {rate:.0}/s, exposures on"), open));
    Ok(())
}

/// The median of each ratio separately.
pub(super) fn median_comparison(comparisons: &[Comparison]) -> Comparison {
    let median = |pick: fn(&Comparison) -> f64| {
        median_of(&mut comparisons.iter().map(pick).collect::<Vec<_>>())
    };
    let mut capacities: Vec<f64> =
        comparisons.iter().filter_map(|c| c.cpu_capacity_ratio).collect();
    Comparison {
        throughput_ratio: median(|c| c.throughput_ratio),
        p50_ratio: median(|c| c.p50_ratio),
        p99_ratio: median(|c| c.p99_ratio),
        cpu_capacity_ratio: (!capacities.is_empty()).then(|| median_of(&mut capacities)),
    }
}

/// The median (the mean of the middle two for an even count); 0 for none.
pub(super) fn median_of(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_take_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median_of(&mut []), 0.0);
        assert_eq!(median_of(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_of(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        let comparison = |throughput_ratio, capacity| Comparison {
            throughput_ratio,
            p50_ratio: 1.0,
            p99_ratio: 1.0,
            cpu_capacity_ratio: capacity,
        };
        let median = median_comparison(&[
            comparison(0.5, Some(0.6)),
            comparison(0.9, None),
            comparison(0.7, Some(0.8)),
        ]);
        assert_eq!(median.throughput_ratio, 0.7);
        assert_eq!(median.cpu_capacity_ratio, Some(0.7));
    }
}
