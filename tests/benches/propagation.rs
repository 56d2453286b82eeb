//! Propagation benchmark (DESIGN §9: publish → applied by 1,000 agents, p99 ≤ 1 s).
//!
//! A real control plane (in process, release build) over a throwaway PostgreSQL; N
//! simulated agents, each a Watch stream on its own HTTP/2 connection, that ACK every
//! snapshot the moment it is decoded. Each round commits one change (a ramp) and
//! measures, per agent, the time from just before the commit RPC to the agent's ACK:
//! commit + NOTIFY + snapshot read and encoding + fan-out + decoding.
//!
//! Run: `cargo bench -p vary-tests --bench propagation` (optionally `-- 100 1000` to
//! choose the fleet sizes and `--rounds N`).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::mpsc;
use vary_proto::pb;
use vary_tests::{TestControlPlane, WatchClient, fixtures};

/// Default number of publishes measured per fleet size.
const DEFAULT_ROUNDS: usize = 20;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; the rest is `[SIZES…] [--rounds N]`.
    let mut rounds = DEFAULT_ROUNDS;
    let mut sizes = Vec::new();
    let mut arguments = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(argument) = arguments.next() {
        if argument == "--rounds" {
            rounds = arguments.next().context("--rounds needs a number")?.parse()?;
        } else {
            sizes.push(
                argument
                    .parse::<usize>()
                    .with_context(|| format!("not a fleet size: {argument}"))?,
            );
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 1_000];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        println!("agents  rounds  per-agent p50  per-agent p99  per-agent max  all-acked p50  all-acked p99");
        for agents in sizes {
            let mut report = measure(agents, rounds).await?;
            println!(
                "{agents:>6}  {rounds:>6}  {:>13?}  {:>13?}  {:>13?}  {:>13?}  {:>13?}",
                report.per_agent.percentile(0.50),
                report.per_agent.percentile(0.99),
                report.per_agent.percentile(1.0),
                report.all_acked.percentile(0.50),
                report.all_acked.percentile(0.99),
            );
        }
        anyhow::Ok(())
    })
}

struct Report {
    per_agent: Samples,
    all_acked: Samples,
}

async fn measure(agents: usize, rounds: usize) -> anyhow::Result<Report> {
    let server = TestControlPlane::start().await?;
    let mut client = server.experiments().await?;
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: "propagation".into(),
            spec: Some(fixtures::spec("Propagation")),
            change_note: String::new(),
        })
        .await?;
    let started = client
        .start_experiment(pb::StartExperimentRequest {
            key: "propagation".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .experiment
        .context("experiment")?
        .revision;

    // Every agent reports (revision, when it ACKed) here.
    let (receipts_tx, mut receipts) = mpsc::unbounded_channel::<(i64, Instant)>();
    // Agents connect at most 64 at a time: a fleet does not dial in one millisecond, and
    // a thousand simultaneous handshakes only measure the listen backlog.
    let dialing = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut connecting = tokio::task::JoinSet::new();
    for agent in 0..agents {
        let endpoint = server.endpoint();
        let receipts = receipts_tx.clone();
        let dialing = dialing.clone();
        connecting.spawn(async move {
            let permit = dialing.acquire_owned().await?;
            let mut watch = WatchClient::connect(endpoint, &format!("bench-agent-{agent}"), 0)
                .await
                .with_context(|| format!("agent {agent} connects"))?;
            drop(permit);
            let first = watch.snapshot_at_least(started).await?;
            watch.ack(first.revision).await?;
            tokio::spawn(async move {
                while let Ok(snapshot) = watch.next_snapshot().await {
                    let acked_at = Instant::now();
                    if watch.ack(snapshot.revision).await.is_err()
                        || receipts.send((snapshot.revision, acked_at)).is_err()
                    {
                        break;
                    }
                }
            });
            anyhow::Ok(())
        });
    }
    while let Some(connected) = connecting.join_next().await {
        connected??;
    }
    drop(receipts_tx);

    let mut per_agent = Samples::default();
    let mut all_acked = Samples::default();
    for round in 0..rounds {
        let published_at = Instant::now();
        let revision = client
            .set_experiment_allocation(pb::SetExperimentAllocationRequest {
                key: "propagation".into(),
                allocation_bps: 5_000 + round as u32,
                change_note: String::new(),
            })
            .await?
            .into_inner()
            .experiment
            .context("experiment")?
            .revision;
        let mut acked = 0;
        let mut last = Duration::ZERO;
        while acked < agents {
            let (received, at) = tokio::time::timeout(Duration::from_secs(60), receipts.recv())
                .await
                .context("agents did not all ACK within 60 s")?
                .context("agents gone")?;
            if received == revision {
                let latency = at.duration_since(published_at);
                per_agent.push(latency);
                last = last.max(latency);
                acked += 1;
            }
        }
        all_acked.push(last);
    }
    Ok(Report { per_agent, all_acked })
}

/// Latencies, with nearest-rank percentiles.
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn push(&mut self, sample: Duration) {
        self.0.push(sample);
    }

    fn percentile(&mut self, quantile: f64) -> Duration {
        self.0.sort_unstable();
        let rank = ((quantile * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1]
    }
}
