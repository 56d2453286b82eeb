//! What one load run measured, its comparison with the baseline's run, and the budgets
//! of DESIGN §9. Pure: numbers in, numbers and text out.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
}

/// One measured run against one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// `assign` (the agent) or `echo` (the baseline).
    pub target: String,
    /// The server's address.
    pub addr: String,
    /// `closed` (fixed concurrency, as fast as answers come) or `open` (fixed rate).
    pub mode: String,
    /// HTTP/2 connections.
    pub connections: usize,
    /// Closed loop: calls in flight. Open loop: the bound on calls in flight.
    pub concurrency: usize,
    /// Open loop: the intended rate, calls per second.
    pub target_rate: Option<f64>,
    /// Length of the measured window (after the warm-up), seconds.
    pub seconds: f64,
    /// Calls answered OK within the window.
    pub completed: u64,
    /// Calls that failed within the window.
    pub errors: u64,
    /// The first failure's status, if any.
    pub first_error: Option<String>,
    /// Completed calls per second of the window.
    pub throughput: f64,
    /// Latency: closed loop from the send, open loop from the intended send time.
    pub latency: Percentiles,
    /// Open loop: how late the tool itself sent calls (part of their latency).
    pub send_lag: Option<Percentiles>,
    /// Mean encoded request size, bytes.
    pub request_bytes: f64,
    /// Mean encoded response size, bytes.
    pub response_bytes: f64,
    /// CPU the server process used during the window, percent of one core (when its
    /// pid was given).
    pub server_cpu_percent: Option<f64>,
    /// CPU this load tool used during the window, percent of one core.
    pub client_cpu_percent: Option<f64>,
}

// === impl LoadReport ===

impl LoadReport {
    /// Server CPU time per completed call, microseconds: what one call costs the server
    /// whatever else runs on the machine (the throughput a whole core would give is its
    /// inverse), when the server's pid was given.
    pub fn server_cpu_us_per_call(&self) -> Option<f64> {
        let percent = self.server_cpu_percent?;
        (self.completed > 0)
            .then(|| percent / 100.0 * self.seconds / self.completed as f64 * 1_000_000.0)
    }
}

/// The agent's run as a ratio of the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Agent throughput / baseline throughput (closed loop: ≥ 0.8 is the budget).
    pub throughput_ratio: f64,
    /// Agent p50 / baseline p50.
    pub p50_ratio: f64,
    /// Agent p99 / baseline p99.
    pub p99_ratio: f64,
    /// Baseline server CPU per call / agent server CPU per call: the throughput ratio
    /// the two would reach with a core each to themselves (when both pids were given).
    pub cpu_capacity_ratio: Option<f64>,
}

/// Whether a measured value is within its budget, and by how much it misses or beats it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetCheck {
    /// What is checked, e.g. "p99 at 50% of max".
    pub what: String,
    /// The measurement.
    pub measured: f64,
    /// The budget.
    pub budget: f64,
    /// The unit of both, for humans.
    pub unit: String,
    /// Within the budget.
    pub met: bool,
    /// How far from the budget, in percent of it: positive misses, negative is headroom.
    pub miss_percent: f64,
}

// === impl Percentiles ===

impl Percentiles {
    /// From a histogram of nanoseconds.
    pub fn from_nanos(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let us = |nanos: u64| nanos as f64 / 1_000.0;
        Self {
            p50_us: us(histogram.value_at_quantile(0.50)),
            p90_us: us(histogram.value_at_quantile(0.90)),
            p99_us: us(histogram.value_at_quantile(0.99)),
            p999_us: us(histogram.value_at_quantile(0.999)),
            max_us: us(histogram.max()),
            mean_us: histogram.mean() / 1_000.0,
        }
    }
}

// === impl Comparison ===

impl Comparison {
    /// `ours` against `baseline`; a zero in the baseline gives 0.
    pub fn of(ours: &LoadReport, baseline: &LoadReport) -> Self {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Self {
            throughput_ratio: ratio(ours.throughput, baseline.throughput),
            p50_ratio: ratio(ours.latency.p50_us, baseline.latency.p50_us),
            p99_ratio: ratio(ours.latency.p99_us, baseline.latency.p99_us),
            cpu_capacity_ratio: baseline
                .server_cpu_us_per_call()
                .zip(ours.server_cpu_us_per_call())
                .map(|(baseline, ours)| ratio(baseline, ours)),
        }
    }
}

// === impl BudgetCheck ===

impl BudgetCheck {
    /// A check where at most `budget` passes (latency, memory).
    pub fn at_most(what: &str, measured: f64, budget: f64, unit: &str) -> Self {
        Self {
            what: what.to_owned(),
            measured,
            budget,
            unit: unit.to_owned(),
            met: measured <= budget,
            miss_percent: (measured - budget) / budget * 100.0,
        }
    }

    /// A check where at least `budget` passes (throughput ratios).
    pub fn at_least(what: &str, measured: f64, budget: f64, unit: &str) -> Self {
        Self {
            what: what.to_owned(),
            measured,
            budget,
            unit: unit.to_owned(),
            met: measured >= budget,
            miss_percent: (budget - measured) / budget * 100.0,
        }
    }

    /// One line: `p99 at 50% of max: 0.61 ms (budget ≤ 1 ms): met, 39% headroom`.
    pub fn line(&self) -> String {
        let verdict = if self.met {
            format!("met, {:.0}% headroom", -self.miss_percent)
        } else {
            format!("MISSED by {:.0}%", self.miss_percent)
        };
        format!(
            "{}: {} {} (budget {}): {verdict}",
            self.what,
            trim_number(self.measured),
            self.unit,
            trim_number(self.budget)
        )
    }
}

/// A table of runs, one line each, for terminals and the docs.
pub fn table(runs: &[(&str, &LoadReport)]) -> String {
    let mut out = String::from(
        "| run | mode | calls/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | errors | server CPU | server CPU µs/call | client CPU |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (name, report) in runs {
        let mode = match report.target_rate {
            Some(rate) => format!("open {rate:.0}/s"),
            None => format!("closed c={}", report.concurrency),
        };
        let percent = |value: Option<f64>| value.map_or("–".to_owned(), |v| format!("{v:.0}%"));
        let _ = writeln!(
            out,
            "| {name} | {mode} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} |",
            report.throughput,
            report.latency.p50_us,
            report.latency.p90_us,
            report.latency.p99_us,
            report.latency.p999_us,
            report.latency.max_us,
            report.errors,
            percent(report.server_cpu_percent),
            report.server_cpu_us_per_call().map_or("–".to_owned(), |us| format!("{us:.1}")),
            percent(report.client_cpu_percent),
        );
    }
    out
}

/// A short human summary of one run.
pub fn summary(report: &LoadReport) -> String {
    let mut out = format!(
        "{} {} ({}): {:.0} calls/s over {:.1} s, {} ok, {} errors\n  latency µs: p50 {:.0}  p90 {:.0}  p99 {:.0}  p99.9 {:.0}  max {:.0}\n",
        report.target,
        report.addr,
        report.mode,
        report.throughput,
        report.seconds,
        report.completed,
        report.errors,
        report.latency.p50_us,
        report.latency.p90_us,
        report.latency.p99_us,
        report.latency.p999_us,
        report.latency.max_us,
    );
    if let Some(lag) = &report.send_lag {
        let _ = writeln!(
            out,
            "  send lag µs (tool's own): p50 {:.0}  p99 {:.0}",
            lag.p50_us, lag.p99_us
        );
    }
    if let Some(error) = &report.first_error {
        let _ = writeln!(out, "  first error: {error}");
    }
    out
}

fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(throughput: f64, p50_us: f64, p99_us: f64) -> LoadReport {
        LoadReport {
            target: "assign".into(),
            addr: "127.0.0.1:1".into(),
            mode: "closed".into(),
            connections: 1,
            concurrency: 1,
            target_rate: None,
            seconds: 1.0,
            completed: throughput as u64,
            errors: 0,
            first_error: None,
            throughput,
            latency: Percentiles { p50_us, p99_us, ..Percentiles::default() },
            send_lag: None,
            request_bytes: 0.0,
            response_bytes: 0.0,
            server_cpu_percent: None,
            client_cpu_percent: None,
        }
    }

    #[test]
    fn comparisons_divide_ours_by_the_baseline() {
        let comparison = Comparison::of(&run(8_000.0, 150.0, 900.0), &run(10_000.0, 100.0, 300.0));
        assert!((comparison.throughput_ratio - 0.8).abs() < 1e-9);
        assert!((comparison.p50_ratio - 1.5).abs() < 1e-9);
        assert!((comparison.p99_ratio - 3.0).abs() < 1e-9);
        assert_eq!(comparison.cpu_capacity_ratio, None);
        let against_nothing = Comparison::of(&run(1.0, 1.0, 1.0), &run(0.0, 0.0, 0.0));
        assert_eq!(against_nothing.throughput_ratio, 0.0);
    }

    #[test]
    fn cpu_per_call_gives_the_capacity_ratio() {
        // 50% of a core for 2 s over 10,000 calls: 100 µs a call; 25% over 10,000: 50 µs.
        let agent = LoadReport {
            server_cpu_percent: Some(50.0),
            seconds: 2.0,
            completed: 10_000,
            ..run(5_000.0, 1.0, 1.0)
        };
        let echo = LoadReport {
            server_cpu_percent: Some(25.0),
            seconds: 2.0,
            completed: 10_000,
            ..run(5_000.0, 1.0, 1.0)
        };
        assert!((agent.server_cpu_us_per_call().unwrap() - 100.0).abs() < 1e-9);
        let ratio = Comparison::of(&agent, &echo).cpu_capacity_ratio.unwrap();
        assert!((ratio - 0.5).abs() < 1e-9);
    }

    #[test]
    fn budgets_say_by_how_much_they_are_missed_or_met() {
        let latency = BudgetCheck::at_most("p99", 1.25, 1.0, "ms");
        assert!(!latency.met);
        assert!((latency.miss_percent - 25.0).abs() < 1e-9);
        assert!(latency.line().contains("MISSED by 25%"), "{}", latency.line());
        let throughput = BudgetCheck::at_least("ratio", 0.9, 0.8, "");
        assert!(throughput.met);
        assert!((throughput.miss_percent + 12.5).abs() < 1e-9);
        // (0.8 - 0.9) / 0.8 * 100 is -12.499999999999996 in f64, which `{:.0}` rounds to 12.
        assert!(throughput.line().ends_with(": met, 12% headroom"), "{}", throughput.line());
        let short = BudgetCheck::at_least("ratio", 0.6, 0.8, "");
        assert!(!short.met);
        assert!((short.miss_percent - 25.0).abs() < 1e-9);
        assert!(BudgetCheck::at_most("rss", 32.0, 32.0, "MiB").met);
    }

    #[test]
    fn percentiles_come_from_a_histogram_of_nanoseconds() {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for micros in 1..=1_000u64 {
            histogram.record(micros * 1_000).unwrap();
        }
        let percentiles = Percentiles::from_nanos(&histogram);
        assert!((percentiles.p50_us - 500.0).abs() <= 1.0, "{percentiles:?}");
        assert!((percentiles.p99_us - 990.0).abs() <= 1.0, "{percentiles:?}");
        assert!((percentiles.max_us - 1_000.0).abs() <= 1.0, "{percentiles:?}");
        assert_eq!(Percentiles::from_nanos(&Histogram::new(3).unwrap()), Percentiles::default());
    }

    #[test]
    fn reports_round_trip_through_json() {
        let report = run(1_234.0, 80.0, 400.0);
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<LoadReport>(&json).unwrap(), report);
        assert!(table(&[("agent", &report)]).contains("| agent | closed c=1 | 1234 | 80 |"));
    }
}
