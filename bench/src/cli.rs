//! The command line: subcommands and the flags they share.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::{
    load::{LoadSettings, Target},
    mix::MixSettings,
};

/// Load tool for the edge agent's Assign, with a bare tonic echo baseline.
#[derive(Debug, Parser)]
#[command(name = "vary-bench", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Runtime worker threads; defaults to the CPUs this process may run on (`taskset`).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Loads an agent's Assign and, in the same run, a bare tonic echo sized like it;
    /// reports both and the agent as a ratio of the baseline.
    Assign(AssignArgs),
    /// Loads one server (agent or echo) and reports it alone.
    Load(LoadArgs),
    /// Serves the bare tonic echo baseline.
    BaselineServer(BaselineServerArgs),
    /// Runs the scenarios of docs/BENCHMARKS.md end to end (PostgreSQL, control plane,
    /// agent, pinned load) and prints the report.
    Scenarios(crate::scenarios::ScenarioArgs),
    /// Sends simulated shoppers through an agent (Assign, then Track) so that results have
    /// something to show: for demos and the console, not a measurement.
    Traffic(TrafficArgs),
}

/// Flags of `traffic`.
#[derive(Debug, Args)]
pub struct TrafficArgs {
    /// The agent, `http://host:port`.
    #[arg(long, default_value = "http://127.0.0.1:7171")]
    pub addr: String,
    /// Shoppers to simulate; each visits one to three placements.
    #[arg(long, default_value_t = 5_000)]
    pub shoppers: u32,
    /// Shoppers in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seed: the same seed simulates the same shoppers, ids included. A rerun sends their
    /// outcome events again (the agent gives them new event ids), so use another seed to
    /// add shoppers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Relative change of conversion for shoppers who saw a variant, repeatable:
    /// `v3=0.08` (that variant key anywhere) or `EXPERIMENT/VARIANT=-0.05`.
    #[arg(long = "effect")]
    pub effects: Vec<crate::traffic::Effect>,
}

/// Flags of `assign`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The agent, `http://host:port`.
    #[arg(long, default_value = "http://127.0.0.1:7171")]
    pub addr: String,
    /// An echo baseline already running (`vary-bench baseline-server`); without it one is
    /// started as a child process.
    #[arg(long)]
    pub baseline_addr: Option<String>,
    /// CPUs for the started baseline (`taskset -c` list), e.g. the agent's.
    #[arg(long)]
    pub baseline_cpus: Option<String>,
    /// The agent's pid, to report its CPU use.
    #[arg(long)]
    pub agent_pid: Option<u32>,
    /// How to load.
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// What to send.
    #[command(flatten)]
    pub mix: MixArgs,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Which method.
    #[arg(long, value_enum, default_value = "assign")]
    pub target: Target,
    /// The server, `http://host:port`.
    #[arg(long, default_value = "http://127.0.0.1:7171")]
    pub addr: String,
    /// Echo only: encoded request size, bytes.
    #[arg(long, default_value_t = 160)]
    pub request_bytes: usize,
    /// Echo only: response payload size, bytes.
    #[arg(long, default_value_t = 600)]
    pub response_bytes: u32,
    /// The server's pid, to report its CPU use.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// How to load.
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// What to send (assign only).
    #[command(flatten)]
    pub mix: MixArgs,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `baseline-server`.
#[derive(Debug, Args)]
pub struct BaselineServerArgs {
    /// Where to listen; port 0 picks a free one. The address is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:7272")]
    pub listen: std::net::SocketAddr,
}

/// How the load is shaped.
#[derive(Debug, Clone, Args)]
pub struct ShapeArgs {
    /// Open loop at this many calls per second; without it, a closed loop (max throughput).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Closed loop: calls in flight. Open loop: the most calls in flight.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// HTTP/2 connections.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// The measured window, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Unmeasured load before the window.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// The request mix.
#[derive(Debug, Clone, Args)]
pub struct MixArgs {
    /// Distinct user ids.
    #[arg(long, default_value_t = 1_000_000)]
    pub users: u32,
    /// Percent of requests without a user id (the session is the unit).
    #[arg(long, default_value_t = 25)]
    pub anonymous_percent: u32,
    /// Free-form attributes per request besides `tier` (0..=4).
    #[arg(long, default_value_t = 3)]
    pub extra_attributes: usize,
    /// Ask the agent to record exposures (`log_exposure = true`).
    #[arg(long)]
    pub log_exposure: bool,
    /// Distinct requests, cycled through.
    #[arg(long, default_value_t = 4_096)]
    pub pool: usize,
    /// Seed of the mix.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Where `scenarios` finds the release binaries by default: beside this one.
pub fn default_bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

// === impl ShapeArgs ===

impl ShapeArgs {
    /// The load settings against `addr` for `target`.
    pub fn settings(&self, target: Target, addr: &str, server_pid: Option<u32>) -> LoadSettings {
        LoadSettings {
            target,
            addr: addr.to_owned(),
            connections: self.connections,
            concurrency: self.concurrency,
            rate: self.rate,
            duration: self.duration,
            warmup: self.warmup,
            progress: !self.quiet,
            server_pid,
        }
    }

    /// The flags, for a child `vary-bench load`.
    pub fn to_flags(&self) -> Vec<String> {
        let mut flags = vec![
            format!("--concurrency={}", self.concurrency),
            format!("--connections={}", self.connections),
            format!("--duration={}ms", self.duration.as_millis()),
            format!("--warmup={}ms", self.warmup.as_millis()),
        ];
        if let Some(rate) = self.rate {
            flags.push(format!("--rate={rate}"));
        }
        if self.quiet {
            flags.push("--quiet".to_owned());
        }
        flags
    }
}

// === impl MixArgs ===

impl MixArgs {
    /// The mix these flags describe.
    pub fn settings(&self) -> MixSettings {
        MixSettings {
            users: self.users,
            anonymous_percent: self.anonymous_percent,
            extra_attributes: self.extra_attributes,
            log_exposure: self.log_exposure,
            pool_size: self.pool,
            seed: self.seed,
        }
    }

    /// The flags, for a child `vary-bench load`.
    pub fn to_flags(&self) -> Vec<String> {
        let mut flags = vec![
            format!("--users={}", self.users),
            format!("--anonymous-percent={}", self.anonymous_percent),
            format!("--extra-attributes={}", self.extra_attributes),
            format!("--pool={}", self.pool),
            format!("--seed={}", self.seed),
        ];
        if self.log_exposure {
            flags.push("--log-exposure".to_owned());
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_for_a_child_parse_back_to_the_same_values() {
        let cli = Cli::try_parse_from([
            "vary-bench",
            "load",
            "--rate",
            "5000",
            "--duration",
            "3s",
            "--log-exposure",
            "--users",
            "10",
        ])
        .expect("parses");
        let Command::Load(load) = cli.command else { panic!("not load") };
        let mut again = vec!["vary-bench".to_owned(), "load".to_owned()];
        again.extend(load.shape.to_flags());
        again.extend(load.mix.to_flags());
        let Command::Load(reparsed) = Cli::try_parse_from(again).expect("reparses").command else {
            panic!("not load")
        };
        assert_eq!(reparsed.shape.rate, Some(5_000.0));
        assert_eq!(reparsed.shape.duration, Duration::from_secs(3));
        assert_eq!(reparsed.mix.settings(), load.mix.settings());
        assert!(reparsed.mix.log_exposure);
    }
}
