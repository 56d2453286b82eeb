//! Results benchmark (issue 6: `GetResults` for 1,000,000 exposed units and 3,000,000
//! outcome events within 5 s on this machine).
//!
//! An experiment with four metrics (conversion, ratio, sum, mean) is created and started
//! through the API; its events are generated inside PostgreSQL (fast, and the same for
//! every run): N units with one exposure each over a day, split 50/50, and 3N outcomes
//! (impressions, clicks, add-to-carts, purchases with revenue) after each unit's
//! exposure. The tables are then vacuumed and analysed, as autovacuum would have done by
//! the time anyone asks for results (index-only scans need the visibility map). Then
//! `GetResults` is timed over gRPC, three times, with the aggregation's parts timed
//! separately, and the sums of every strategy at hand are checked to be equal.
//!
//! Run: `cargo bench -p vary-tests --bench results -- [--units 1000000] [--explain]`.

use std::time::Instant;

use anyhow::Context as _;
use time::{Duration, OffsetDateTime};
use vary_control_plane::analysis::aggregate::{
    Strategy, Window, choose, explain_metrics_sums, exposure_summary_with, metrics_sums_with,
};
use vary_proto::model::{ExperimentSpec, Metric};
use vary_proto::pb::{self, analysis_service_client::AnalysisServiceClient};
use vary_tests::{TestControlPlane, fixtures};

fn main() -> anyhow::Result<()> {
    let mut units: i64 = 1_000_000;
    let mut explain = false;
    let mut arguments = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(flag) = arguments.next() {
        match flag.as_str() {
            "--units" => units = arguments.next().context("--units needs a number")?.parse()?,
            "--explain" => explain = true,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(units, explain))
}

fn metric(key: &str, kind: pb::MetricKind, event_type: &str, denominator: &str) -> pb::Metric {
    pb::Metric {
        key: key.into(),
        role: pb::MetricRole::Secondary as i32,
        kind: kind as i32,
        event_type: event_type.into(),
        denominator_event_type: denominator.into(),
        direction: pb::MetricDirection::Increase as i32,
        ..Default::default()
    }
}

/// Creates and starts `bench` with four metrics; returns a time just after the phase start.
async fn start_experiment(server: &TestControlPlane) -> anyhow::Result<OffsetDateTime> {
    let mut spec = fixtures::spec("bench");
    spec.metrics = vec![
        pb::Metric {
            role: pb::MetricRole::Primary as i32,
            ..metric("add_to_cart_rate", pb::MetricKind::Conversion, "add_to_cart", "")
        },
        metric("ctr", pb::MetricKind::Ratio, "click", "impression"),
        metric("revenue_per_user", pb::MetricKind::Sum, "purchase", ""),
        metric("order_value", pb::MetricKind::Mean, "purchase", ""),
    ];
    let mut client = server.experiments().await?;
    let request = pb::CreateExperimentRequest {
        key: "bench".into(),
        spec: Some(spec),
        change_note: String::new(),
    };
    client.create_experiment(request).await?;
    let start = pb::StartExperimentRequest { key: "bench".into(), ..Default::default() };
    client.start_experiment(start).await?;
    Ok(OffsetDateTime::now_utc() + Duration::seconds(1))
}

async fn run(units: i64, explain: bool) -> anyhow::Result<()> {
    let server = TestControlPlane::start().await?;
    let start = start_experiment(&server).await?;
    let database = server.database.connect().await?;
    let generating = Instant::now();
    database
        .execute(
            "INSERT INTO exposures (event_id, occurred_at, experiment_key, experiment_version, \
               variant_key, unit_type, unit_id, user_id, placement, forced, config_revision) \
             SELECT gen_random_uuid(), $1::timestamptz + (i % 86400) * interval '1 second', 'bench', 2, \
               CASE WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END, 'user', 'u' || i, 'u' || i, \
               'pdp', false, 1 \
             FROM generate_series(1, $2::int8) AS i",
            &[&start, &units],
        )
        .await?;
    database
        .execute(
            "INSERT INTO outcomes (event_id, occurred_at, event_type, user_id, placement, value) \
             SELECT gen_random_uuid(), $1::timestamptz + ((u % 86400) + 60 + i % 600) * interval '1 second', \
               (ARRAY['impression','impression','click','add_to_cart','impression','purchase'])[1 + i % 6], \
               'u' || u, 'pdp', CASE WHEN i % 6 = 5 THEN 10 + (i % 90) END \
             FROM (SELECT i, 1 + (i * 7919) % $2::int8 AS u FROM generate_series(1, 3 * $2::int8) AS i) AS g",
            &[&start, &units],
        )
        .await?;
    let generated = generating.elapsed();
    let vacuuming = Instant::now();
    all_visible(&database).await?;
    println!(
        "generated {units} units and {} outcomes in {generated:.1?}, vacuumed and analysed in {:.1?}",
        3 * units,
        vacuuming.elapsed()
    );

    let pool = vary_control_plane::db::connect_pool(&server.database.url.clone().into(), 4)?;
    let window = Window { experiment_key: "bench", start, end: None };
    let metrics: Vec<Metric> = server_metrics(&server).await?;
    let strategy = choose(&pool, &window).await?;
    println!("strategy: {strategy:?}");
    if explain {
        for line in explain_metrics_sums(&pool, &window, &metrics, &strategy).await? {
            println!("{line}");
        }
    }
    let mut results = AnalysisServiceClient::new(server.channel().await?);
    for round in 1..=3 {
        let cpu_before = database_cpu(&database).await?;
        let started = Instant::now();
        let response = results
            .get_results(pb::GetResultsRequest { experiment_key: "bench".into(), phase: 0 })
            .await?
            .into_inner();
        let get_results = started.elapsed();
        let cpu = database_cpu(&database).await?.since(&cpu_before);
        let exposed: i64 = response.units.iter().map(|variant| variant.units).sum();
        anyhow::ensure!(exposed == units, "GetResults counted {exposed} units, not {units}");
        anyhow::ensure!(response.metrics.len() == metrics.len(), "metrics missing");

        let started = Instant::now();
        let strategy = choose(&pool, &window).await?;
        let after_choosing = started.elapsed();
        let summary = exposure_summary_with(&pool, &window, &strategy).await?;
        let after_units = started.elapsed() - after_choosing;
        let sums = metrics_sums_with(&pool, &window, &metrics, &strategy).await?;
        let after_metrics = started.elapsed() - after_choosing - after_units;
        anyhow::ensure!(summary.units.values().sum::<i64>() == units, "units lost in the summary");
        for (metric, sums) in metrics.iter().zip(&sums) {
            let counted = sums.values().map(|sums| sums.units).sum::<i64>();
            anyhow::ensure!(counted == units, "units lost in {}", metric.key);
        }
        println!(
            "round {round}: GetResults {get_results:.2?} (PostgreSQL CPU {cpu:.2?}); its aggregation: \
             choosing {after_choosing:.2?}, units per variant {after_units:.2?}, all {} metrics in \
             one pass {after_metrics:.2?}",
            metrics.len()
        );
    }
    // Every way of reading the data gives the same sums (probing a million units takes
    // long: only for smaller runs).
    let reference = metrics_sums_with(&pool, &window, &metrics, &strategy).await?;
    let mut others = vec![Strategy { streaming: true, boundaries: vec![] }];
    if units <= 200_000 {
        others.push(Strategy { streaming: false, boundaries: vec![] });
    }
    for other in others {
        let sums = metrics_sums_with(&pool, &window, &metrics, &other).await?;
        anyhow::ensure!(sums == reference, "{other:?} gives other sums than {strategy:?}");
    }
    println!("the sums of {strategy:?} are those of one range");
    server.stop().await
}

/// CPU time of each server process of the database, from `/proc` (read by the server,
/// whose superuser the bench is): what `GetResults` costs whatever else the machine runs.
struct DatabaseCpu(std::collections::HashMap<i32, u64>);

impl DatabaseCpu {
    /// CPU used since `before` by the processes there now.
    fn since(&self, before: &DatabaseCpu) -> std::time::Duration {
        let ticks: u64 = self
            .0
            .iter()
            .map(|(pid, ticks)| ticks.saturating_sub(before.0.get(pid).copied().unwrap_or(0)))
            .sum();
        // Linux reports in clock ticks of 1/100 s (USER_HZ).
        std::time::Duration::from_millis(ticks * 10)
    }
}

async fn database_cpu(database: &tokio_postgres::Client) -> anyhow::Result<DatabaseCpu> {
    let rows = database
        .query(
            "SELECT pid, split_part(stat, ' ', 14)::int8 + split_part(stat, ' ', 15)::int8 \
             FROM pg_stat_activity, \
                  LATERAL pg_read_file('/proc/' || pid || '/stat', 0, 1000, true) AS stat \
             WHERE datname = current_database() AND stat IS NOT NULL",
            &[],
        )
        .await?;
    Ok(DatabaseCpu(rows.iter().map(|row| (row.get(0), row.get::<_, i64>(1) as u64)).collect()))
}

/// Vacuums and analyses the event tables until every page is marked all-visible, as
/// autovacuum will have done by the time anyone asks for results. A transaction that was
/// open while the events were written (autoanalyze, the control plane's own) keeps
/// VACUUM from marking their pages, hence a few tries.
async fn all_visible(database: &tokio_postgres::Client) -> anyhow::Result<()> {
    for _ in 0..30 {
        // One statement per message: VACUUM refuses the implicit transaction of several.
        database.batch_execute("VACUUM ANALYZE exposures").await?;
        database.batch_execute("VACUUM ANALYZE outcomes").await?;
        let row = database
            .query_one(
                "SELECT bool_and(relallvisible >= relpages) FROM pg_class \
                 WHERE oid IN ('exposures'::regclass, 'outcomes'::regclass)",
                &[],
            )
            .await?;
        if row.get::<_, bool>(0) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    anyhow::bail!("the event tables' pages never became all-visible")
}

/// The experiment's metrics as the control plane stored them.
async fn server_metrics(server: &TestControlPlane) -> anyhow::Result<Vec<Metric>> {
    let mut client = server.experiments().await?;
    let experiment =
        client.get_experiment(pb::GetExperimentRequest { key: "bench".into() }).await?.into_inner();
    let spec = experiment.experiment.and_then(|experiment| experiment.spec).context("no spec")?;
    Ok(ExperimentSpec::try_from(spec)?.metrics)
}
