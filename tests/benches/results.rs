//! Results benchmark (issue 6: `GetResults` for 1,000,000 exposed units and 3,000,000
//! outcome events within 5 s on this machine).
//!
//! Data is generated inside PostgreSQL (fast, and the same for every run): N units with
//! one exposure each over a day, split 50/50, and 3N outcomes (impressions, clicks,
//! add-to-carts, purchases with revenue) after each unit's exposure. Then the per-unit
//! aggregation that results run (units per variant, and the sums of four metrics:
//! conversion, ratio, sum, mean, in one pass) is timed, three times.
//!
//! Run: `cargo bench -p vary-tests --bench results -- [--units 1000000]`.

use std::time::Instant;

use anyhow::Context as _;
use time::{Duration, OffsetDateTime};
use vary_control_plane::analysis::aggregate::{
    Window, exposure_summary, metrics_sums, metrics_sums_sql,
};
use vary_proto::model::{Metric, MetricDirection, MetricKind, MetricRole};
use vary_tests::TestControlPlane;

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

fn metric(key: &str, kind: MetricKind, event_type: &str, denominator: Option<&str>) -> Metric {
    Metric {
        key: key.into(),
        role: MetricRole::Secondary,
        kind,
        event_type: event_type.into(),
        denominator_event_type: denominator.map(str::to_owned),
        attribution_window_seconds: None,
        direction: MetricDirection::Increase,
        guardrail: None,
    }
}

async fn run(units: i64, explain: bool) -> anyhow::Result<()> {
    let server = TestControlPlane::start().await?;
    let database = server.database.connect().await?;
    let start = OffsetDateTime::now_utc() - Duration::days(2);
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
    database.batch_execute("ANALYZE exposures; ANALYZE outcomes;").await?;
    println!("generated {units} units and {} outcomes in {:.1?}", 3 * units, generating.elapsed());

    if explain {
        database.batch_execute("SET enable_nestloop = off; SET work_mem = '256MB'").await?;
        let plan = database
            .query(
                &format!("EXPLAIN (ANALYZE, BUFFERS) {}", metrics_sums_sql(1)),
                &[
                    &"bench",
                    &start,
                    &None::<OffsetDateTime>,
                    &vec!["add_to_cart"],
                    &"add_to_cart",
                    &None::<&str>,
                    &None::<f64>,
                ],
            )
            .await?;
        for row in plan {
            println!("{}", row.get::<_, &str>(0));
        }
    }
    let pool = vary_control_plane::db::connect_pool(&server.database.url.clone().into(), 4)?;
    let window = Window { experiment_key: "bench", start, end: None };
    let metrics = [
        metric("add_to_cart_rate", MetricKind::Conversion, "add_to_cart", None),
        metric("ctr", MetricKind::Ratio, "click", Some("impression")),
        metric("revenue_per_user", MetricKind::Sum, "purchase", None),
        metric("order_value", MetricKind::Mean, "purchase", None),
    ];
    for round in 1..=3 {
        let started = Instant::now();
        let summary = exposure_summary(&pool, &window).await?;
        let after_units = started.elapsed();
        let sums = metrics_sums(&pool, &window, &metrics).await?;
        let after_metrics = started.elapsed() - after_units;
        for (metric, sums) in metrics.iter().zip(&sums) {
            anyhow::ensure!(
                sums.values().map(|s| s.units).sum::<i64>() == units,
                "units lost in {}",
                metric.key
            );
        }
        anyhow::ensure!(summary.units.values().sum::<i64>() == units, "units lost in the summary");
        println!(
            "round {round}: total {:.2?} (units per variant {after_units:.2?}; all {} metrics in one pass {after_metrics:.2?})",
            started.elapsed(),
            metrics.len()
        );
    }
    server.stop().await
}
