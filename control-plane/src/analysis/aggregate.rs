//! Per-unit aggregation in PostgreSQL: each query reduces millions of events to a few
//! sums per variant (sufficient statistics); the statistics are computed from those in
//! Rust (`stats`).
//!
//! Units: a unit belongs to the variant of its unforced exposures inside the phase
//! window. Units exposed to more than one variant there are counted and excluded;
//! forced (QA override) exposures are counted and excluded. A unit's outcomes count from
//! its first exposure in the phase, until the phase ends (and within the metric's
//! attribution window, if any), joined on the bucketed id: the user id for user units,
//! the session id for session units.
//!
//! How the data is read (streamed in unit order or probed per unit, in one range of unit
//! ids or several at once) is chosen per call by [`choose`]; see `strategy`. Every way
//! gives the same sums.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use vary_proto::model::Metric;

use crate::error::Error;

mod metrics_sql;
mod strategy;
mod units_sql;

use metrics_sql::{MetricsQuery, Output};
use strategy::UnitRange;
pub use strategy::{Strategy, choose};
use units_sql::{FORCED_EXPOSURES, HAS_SESSION_EXPOSURES, exposure_summary_sql};

/// The slice of exposures a result is computed over.
#[derive(Debug, Clone)]
pub struct Window<'a> {
    /// The experiment.
    pub experiment_key: &'a str,
    /// Phase start (inclusive).
    pub start: OffsetDateTime,
    /// Phase end (exclusive); `None` for the current phase.
    pub end: Option<OffsetDateTime>,
}

/// Who was exposed in the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExposureSummary {
    /// Units per variant (exposed to that variant only).
    pub units: BTreeMap<String, i64>,
    /// Units exposed to more than one variant: excluded.
    pub units_in_several_variants: i64,
    /// Forced exposures: excluded.
    pub forced_exposures: i64,
}

/// One variant's sums for one metric, over its units. `n` is a unit's count of numerator
/// events, `v` the sum of their values, `d` its count of denominator events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantSums {
    /// Units analysed (every unit of the variant).
    pub units: i64,
    /// Units with at least one numerator event.
    pub converted_units: i64,
    /// Σn.
    pub numerator_events: f64,
    /// Σn².
    pub numerator_events_squared: f64,
    /// Σv.
    pub numerator_value: f64,
    /// Σv².
    pub numerator_value_squared: f64,
    /// Σd.
    pub denominator_events: f64,
    /// Σd².
    pub denominator_events_squared: f64,
    /// Σn·d.
    pub events_cross: f64,
    /// Σv·n.
    pub value_events_cross: f64,
}

/// Units per variant in the window, and what was excluded.
pub async fn exposure_summary(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
) -> Result<ExposureSummary, Error> {
    let strategy = choose(pool, window).await?;
    exposure_summary_with(pool, window, &strategy).await
}

/// [`exposure_summary`], read the way `strategy` says.
pub async fn exposure_summary_with(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
    strategy: &Strategy,
) -> Result<ExposureSummary, Error> {
    let forced = async {
        let client = pool.get().await?;
        let parameters: [&(dyn ToSql + Sync); 3] =
            [&window.experiment_key, &window.start, &window.end];
        let row = client.query_one(FORCED_EXPOSURES, &parameters).await?;
        Ok::<i64, Error>(row.try_get(0)?)
    };
    let sql = exposure_summary_sql();
    let ranges = strategy.ranges();
    let (parts, forced_exposures) =
        futures::try_join!(query_ranges(pool, window, strategy, &ranges, &sql, &[]), forced)?;
    let mut summary = ExposureSummary { forced_exposures, ..ExposureSummary::default() };
    for row in parts.iter().flatten() {
        let units: i64 = row.try_get("units")?;
        match row.try_get::<_, Option<String>>("variant_key")? {
            Some(variant) => *summary.units.entry(variant).or_default() += units,
            None => summary.units_in_several_variants += units,
        }
    }
    Ok(summary)
}

/// The sums of `metric` per variant in the window.
pub async fn metric_sums(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
    metric: &Metric,
) -> Result<BTreeMap<String, VariantSums>, Error> {
    let mut all = metrics_sums(pool, window, std::slice::from_ref(metric)).await?;
    Ok(all.pop().unwrap_or_default())
}

/// The sums of every metric per variant in the window, in one pass over the units and
/// their outcomes; one map per metric, in the order given.
pub async fn metrics_sums(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
    metrics: &[Metric],
) -> Result<Vec<BTreeMap<String, VariantSums>>, Error> {
    if metrics.is_empty() {
        return Ok(Vec::new());
    }
    let strategy = choose(pool, window).await?;
    metrics_sums_with(pool, window, metrics, &strategy).await
}

/// [`metrics_sums`], read the way `strategy` says. The ranges' sums are added in range
/// order, so a strategy gives the same sums every time.
pub async fn metrics_sums_with(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
    metrics: &[Metric],
    strategy: &Strategy,
) -> Result<Vec<BTreeMap<String, VariantSums>>, Error> {
    if metrics.is_empty() {
        return Ok(Vec::new());
    }
    let query = MetricsQuery::new(metrics);
    let sql = query.sql(has_session_exposures(pool, window).await?);
    let parts =
        query_ranges(pool, window, strategy, &strategy.ranges(), &sql, &column_parameters(&query))
            .await?;
    let mut result = vec![BTreeMap::<String, VariantSums>::new(); metrics.len()];
    for row in parts.iter().flatten() {
        let variant: String = row.try_get(0)?;
        let units: i64 = row.try_get(1)?;
        for (outputs, sums) in query.outputs.iter().zip(result.iter_mut()) {
            let sums = sums.entry(variant.clone()).or_default();
            sums.units += units;
            sums.converted_units += row.try_get::<_, i64>(outputs.converted_units)?;
            let fields = [
                &mut sums.numerator_events,
                &mut sums.numerator_events_squared,
                &mut sums.numerator_value,
                &mut sums.numerator_value_squared,
                &mut sums.denominator_events,
                &mut sums.denominator_events_squared,
                &mut sums.events_cross,
                &mut sums.value_events_cross,
            ];
            for (field, output) in fields.into_iter().zip(outputs.sums) {
                if let Output::Column(column) = output {
                    *field += row.try_get::<_, Option<f64>>(column)?.unwrap_or(0.0);
                }
            }
        }
    }
    Ok(result)
}

/// The plan of the metrics query's first range, run: `EXPLAIN (ANALYZE, BUFFERS)` lines.
/// For benchmarks and for reading what PostgreSQL does with a strategy.
pub async fn explain_metrics_sums(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
    metrics: &[Metric],
    strategy: &Strategy,
) -> Result<Vec<String>, Error> {
    let query = MetricsQuery::new(metrics);
    let sql = format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        query.sql(has_session_exposures(pool, window).await?)
    );
    let first = strategy.ranges().swap_remove(0);
    let parts =
        query_ranges(pool, window, strategy, &[first], &sql, &column_parameters(&query)).await?;
    parts.iter().flatten().map(|row| Ok(row.try_get(0)?)).collect()
}

/// The parameters after the range ones: every event type, then each column's event type
/// and attribution window.
fn column_parameters(query: &MetricsQuery) -> Vec<&(dyn ToSql + Sync)> {
    let mut parameters: Vec<&(dyn ToSql + Sync)> = vec![&query.event_types];
    for column in &query.columns {
        parameters.push(&column.event_type);
        parameters.push(&column.window_seconds);
    }
    parameters
}

async fn has_session_exposures(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
) -> Result<bool, Error> {
    let client = pool.get().await?;
    let parameters: [&(dyn ToSql + Sync); 3] = [&window.experiment_key, &window.start, &window.end];
    Ok(client.query_one(HAS_SESSION_EXPOSURES, &parameters).await?.try_get(0)?)
}

/// Runs `sql` once per range, each in a read-only transaction of its own connection with
/// the strategy's settings, all at once; the rows of each range, in range order.
async fn query_ranges(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
    strategy: &Strategy,
    ranges: &[UnitRange],
    sql: &str,
    more_parameters: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Vec<tokio_postgres::Row>>, Error> {
    let settings = strategy.settings();
    futures::future::try_join_all(ranges.iter().map(|range| async move {
        let mut client = pool.get().await?;
        let transaction = client.build_transaction().read_only(true).start().await?;
        transaction.batch_execute(settings).await?;
        let mut parameters: Vec<&(dyn ToSql + Sync)> =
            vec![&window.experiment_key, &window.start, &window.end, &range.start, &range.end];
        parameters.extend_from_slice(more_parameters);
        let rows = transaction.query(sql, &parameters).await?;
        transaction.commit().await?;
        Ok::<_, Error>(rows)
    }))
    .await
}
