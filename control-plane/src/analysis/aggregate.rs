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

use std::collections::BTreeMap;

use time::OffsetDateTime;
use vary_proto::model::{Metric, MetricKind};

use crate::error::Error;

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

const EXPOSURE_SUMMARY: &str = "\
    WITH per_unit AS ( \
        SELECT unit_id, min(variant_key) AS variant_key, max(variant_key) AS last_variant_key \
        FROM exposures \
        WHERE experiment_key = $1 AND NOT forced AND occurred_at >= $2 \
          AND ($3::timestamptz IS NULL OR occurred_at < $3) \
        GROUP BY unit_id) \
    SELECT CASE WHEN variant_key = last_variant_key THEN variant_key END AS variant_key, \
           count(*) AS units \
    FROM per_unit GROUP BY 1";

const FORCED_EXPOSURES: &str = "\
    SELECT count(*) FROM exposures \
    WHERE experiment_key = $1 AND forced AND occurred_at >= $2 \
      AND ($3::timestamptz IS NULL OR occurred_at < $3)";

/// The exposed units of the window, the outcomes of the event types `$4` after each
/// unit's first exposure, and per-unit values; the per-metric columns are added by
/// [`metrics_sums_sql`].
const UNITS_AND_EVENTS: &str = "\
    WITH units AS MATERIALIZED ( \
        SELECT unit_id, min(unit_type) AS unit_type, min(variant_key) AS variant_key, \
               min(occurred_at) AS first_exposed_at \
        FROM exposures \
        WHERE experiment_key = $1 AND NOT forced AND occurred_at >= $2 \
          AND ($3::timestamptz IS NULL OR occurred_at < $3) \
        GROUP BY unit_id HAVING min(variant_key) = max(variant_key)), \
    unit_events AS ( \
        SELECT u.unit_id, o.event_type, o.value, o.occurred_at - u.first_exposed_at AS since \
        FROM units u JOIN outcomes o ON u.unit_type = 'user' AND o.user_id = u.unit_id \
        WHERE o.event_type = ANY($4::text[]) AND o.occurred_at >= u.first_exposed_at \
          AND ($3::timestamptz IS NULL OR o.occurred_at < $3) \
        UNION ALL \
        SELECT u.unit_id, o.event_type, o.value, o.occurred_at - u.first_exposed_at AS since \
        FROM units u JOIN outcomes o ON u.unit_type = 'session' AND o.session_id = u.unit_id \
        WHERE o.event_type = ANY($4::text[]) AND o.occurred_at >= u.first_exposed_at \
          AND ($3::timestamptz IS NULL OR o.occurred_at < $3)) ";

/// The query computing the sums of every metric in one pass. Metric `i` takes three
/// parameters: its numerator event type, its denominator event type (NULL unless a
/// ratio) and its attribution window in seconds (NULL for none).
pub fn metrics_sums_sql(metric_count: usize) -> String {
    let mut per_unit = Vec::new();
    let mut sums = Vec::new();
    for metric in 0..metric_count {
        let numerator = 5 + 3 * metric;
        let (denominator, window) = (numerator + 1, numerator + 2);
        let within =
            format!("(${window}::float8 IS NULL OR e.since < make_interval(secs => ${window}))");
        per_unit.push(format!(
            "count(*) FILTER (WHERE e.event_type = ${numerator} AND {within})::float8 AS n{metric}, \
             coalesce(sum(e.value) FILTER (WHERE e.event_type = ${numerator} AND {within}), 0)::float8 AS v{metric}, \
             count(*) FILTER (WHERE e.event_type = ${denominator} AND {within})::float8 AS d{metric}"
        ));
        sums.push(format!(
            "count(*) FILTER (WHERE n{metric} > 0), sum(n{metric}), sum(n{metric} * n{metric}), \
             sum(v{metric}), sum(v{metric} * v{metric}), sum(d{metric}), sum(d{metric} * d{metric}), \
             sum(n{metric} * d{metric}), sum(v{metric} * n{metric})"
        ));
    }
    let per_unit = if per_unit.is_empty() { "0 AS none".to_owned() } else { per_unit.join(", ") };
    let sums = if sums.is_empty() { String::new() } else { format!(", {}", sums.join(", ")) };
    format!(
        "{UNITS_AND_EVENTS}, per_unit AS ( \
             SELECT u.variant_key, {per_unit} \
             FROM units u LEFT JOIN unit_events e ON e.unit_id = u.unit_id \
             GROUP BY u.variant_key, u.unit_id) \
         SELECT variant_key, count(*){sums} FROM per_unit GROUP BY variant_key"
    )
}

/// Units per variant in the window, and what was excluded.
pub async fn exposure_summary(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
) -> Result<ExposureSummary, Error> {
    let client = pool.get().await?;
    let parameters: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&window.experiment_key, &window.start, &window.end];
    let mut summary = ExposureSummary::default();
    for row in client.query(EXPOSURE_SUMMARY, &parameters).await? {
        let units: i64 = row.try_get("units")?;
        match row.try_get::<_, Option<String>>("variant_key")? {
            Some(variant) => {
                summary.units.insert(variant, units);
            }
            None => summary.units_in_several_variants = units,
        }
    }
    summary.forced_exposures = client.query_one(FORCED_EXPOSURES, &parameters).await?.try_get(0)?;
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
    let mut client = pool.get().await?;
    // The planner cannot estimate how many exposed units survive the one-variant filter
    // and, guessing few, would probe the outcomes index once per unit and sort the units
    // to group them: linear with a large constant, and a sort. Hash joins and hash
    // aggregation over the whole window are what this query wants (2x faster at 200,000
    // units than with sorting); say so for this read-only transaction only, with the
    // memory for a million-unit hash table.
    let transaction = client.build_transaction().read_only(true).start().await?;
    transaction
        .batch_execute("SET LOCAL enable_nestloop = off; SET LOCAL enable_sort = off; SET LOCAL work_mem = '256MB'")
        .await?;
    let mut event_types: Vec<&str> = Vec::new();
    let mut per_metric: Vec<(&str, Option<&str>, Option<f64>)> = Vec::new();
    for metric in metrics {
        let denominator = match metric.kind {
            MetricKind::Ratio => metric.denominator_event_type.as_deref(),
            _ => None,
        };
        event_types.push(&metric.event_type);
        event_types.extend(denominator);
        per_metric.push((
            &metric.event_type,
            denominator,
            metric.attribution_window_seconds.map(|s| s as f64),
        ));
    }
    event_types.sort_unstable();
    event_types.dedup();
    let mut parameters: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        vec![&window.experiment_key, &window.start, &window.end, &event_types];
    for (numerator, denominator, seconds) in &per_metric {
        parameters.push(numerator);
        parameters.push(denominator);
        parameters.push(seconds);
    }
    let rows = transaction.query(&metrics_sums_sql(metrics.len()), &parameters).await?;
    transaction.commit().await?;
    let mut result = vec![BTreeMap::new(); metrics.len()];
    for row in &rows {
        let variant: String = row.try_get(0)?;
        let units: i64 = row.try_get(1)?;
        for (metric, sums) in result.iter_mut().enumerate() {
            let column = 2 + 9 * metric;
            let sum = |offset: usize| -> Result<f64, Error> {
                Ok(row.try_get::<_, Option<f64>>(column + offset)?.unwrap_or(0.0))
            };
            sums.insert(
                variant.clone(),
                VariantSums {
                    units,
                    converted_units: row.try_get(column)?,
                    numerator_events: sum(1)?,
                    numerator_events_squared: sum(2)?,
                    numerator_value: sum(3)?,
                    numerator_value_squared: sum(4)?,
                    denominator_events: sum(5)?,
                    denominator_events_squared: sum(6)?,
                    events_cross: sum(7)?,
                    value_events_cross: sum(8)?,
                },
            );
        }
    }
    Ok(result)
}
