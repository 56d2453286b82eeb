//! Ingest throughput benchmark (DESIGN §9: ≥ 50,000 events/s sustained into PostgreSQL on
//! 2 cores).
//!
//! A real control plane (in process, release build) and PostgreSQL on the same machine;
//! several senders in the same process push `IngestEvents` batches (30% exposures, 70%
//! outcomes, fresh UUIDv7 ids) for a fixed time, and the rate of events accepted (stored)
//! is reported, per second and overall.
//!
//! Run: `cargo bench -p vary-tests --bench ingest -- [--seconds 60] [--batch 1000]
//! [--senders 4]`. Without `DATABASE_URL` it uses the harness's throwaway cluster, which
//! runs with fsync off; set `DATABASE_URL` to a durable server for the honest figure
//! (e.g. the local stack's: `postgres://vary@127.0.0.1:5433/postgres`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use time::OffsetDateTime;
use vary_proto::{
    model::timestamp_from_time,
    pb::{self, event::Kind, event_ingest_service_client::EventIngestServiceClient},
};
use vary_tests::TestControlPlane;

struct Settings {
    seconds: u64,
    batch: usize,
    senders: usize,
}

fn settings() -> anyhow::Result<Settings> {
    let mut settings = Settings { seconds: 60, batch: 1_000, senders: 4 };
    let mut arguments = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(flag) = arguments.next() {
        let value: u64 =
            arguments.next().with_context(|| format!("{flag} needs a number"))?.parse()?;
        match flag.as_str() {
            "--seconds" => settings.seconds = value,
            "--batch" => settings.batch = value as usize,
            "--senders" => settings.senders = value as usize,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(settings)
}

fn main() -> anyhow::Result<()> {
    let settings = settings()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let server = TestControlPlane::start().await?;
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(settings.seconds);
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..settings.senders {
        let channel = server.channel().await?;
        let accepted = accepted.clone();
        let batch = settings.batch;
        senders.spawn(async move {
            let mut client =
                EventIngestServiceClient::new(channel).max_encoding_message_size(64 << 20);
            let mut sequence = 0u64;
            while Instant::now() < deadline {
                let events = (0..batch).map(|_| {
                    sequence += 1;
                    event(sender, sequence)
                });
                let response = client
                    .ingest_events(pb::IngestEventsRequest {
                        events: events.collect(),
                        source: format!("bench-{sender}"),
                    })
                    .await?
                    .into_inner();
                anyhow::ensure!(
                    response.rejections.is_empty(),
                    "rejections: {:?}",
                    response.rejections.first()
                );
                accepted.fetch_add(response.accepted as u64, Ordering::Relaxed);
            }
            anyhow::Ok(())
        });
    }
    let started = Instant::now();
    let mut last = 0;
    let mut per_second = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = accepted.load(Ordering::Relaxed);
        per_second.push(now - last);
        eprintln!("{:>4}s {:>8} events/s", per_second.len(), now - last);
        last = now;
    }
    while let Some(sender) = senders.join_next().await {
        sender??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = accepted.load(Ordering::Relaxed);
    per_second.sort_unstable();
    println!(
        "batch {} x {} senders, {:.0} s: {total} events stored, {:.0} events/s overall; per-second min {} median {}",
        settings.batch,
        settings.senders,
        elapsed,
        total as f64 / elapsed,
        per_second.first().copied().unwrap_or(0),
        per_second.get(per_second.len() / 2).copied().unwrap_or(0),
    );
    let database = server.database.connect().await?;
    let stored: i64 = database
        .query_one("SELECT (SELECT count(*) FROM exposures) + (SELECT count(*) FROM outcomes)", &[])
        .await?
        .get(0);
    anyhow::ensure!(stored as u64 == total, "database holds {stored}, senders counted {total}");
    server.stop().await
}

/// Event `sequence` of `sender`: three in ten are exposures, the rest outcomes.
fn event(sender: usize, sequence: u64) -> pb::Event {
    let user = format!("user-{}", (sequence * 7919 + sender as u64) % 200_000);
    let time = Some(timestamp_from_time(OffsetDateTime::now_utc()));
    let event_id = uuid::Uuid::now_v7().to_string();
    let kind = if sequence % 10 < 3 {
        Kind::Exposure(pb::ExposureEvent {
            event_id,
            experiment_key: "reco_ymal_v1".into(),
            experiment_version: 3,
            variant_key: if sequence.is_multiple_of(2) {
                "control".into()
            } else {
                "treatment".into()
            },
            unit_type: pb::UnitType::User as i32,
            unit_id: user.clone(),
            user_id: user,
            session_id: format!("session-{sequence}"),
            placement: "pdp".into(),
            forced: false,
            config_revision: 42,
            time,
        })
    } else {
        let event_type = [
            "impression",
            "impression",
            "impression",
            "click",
            "add_to_cart",
            "purchase",
            "impression",
        ][(sequence % 7) as usize];
        Kind::Outcome(pb::OutcomeEvent {
            event_id,
            event_type: event_type.into(),
            user_id: user,
            session_id: format!("session-{sequence}"),
            placement: "pdp".into(),
            item_id: format!("sku-{}", sequence % 5_000),
            value: (event_type == "purchase").then_some(49.5),
            time,
            properties: Default::default(),
        })
    };
    pb::Event { kind: Some(kind) }
}
