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

pub const METRIC_SUMS: &str = "\
    WITH units AS ( \
        SELECT unit_id, min(unit_type) AS unit_type, min(variant_key) AS variant_key, \
               min(occurred_at) AS first_exposed_at \
        FROM exposures \
        WHERE experiment_key = $1 AND NOT forced AND occurred_at >= $2 \
          AND ($3::timestamptz IS NULL OR occurred_at < $3) \
        GROUP BY unit_id HAVING min(variant_key) = max(variant_key)), \
    unit_events AS ( \
        SELECT u.unit_id, o.event_type, o.value FROM units u \
        JOIN outcomes o ON u.unit_type = 'user' AND o.user_id = u.unit_id \
        WHERE o.event_type IN ($4, $5) AND o.occurred_at >= u.first_exposed_at \
          AND ($3::timestamptz IS NULL OR o.occurred_at < $3) \
          AND ($6::float8 IS NULL OR o.occurred_at < u.first_exposed_at + make_interval(secs => $6)) \
        UNION ALL \
        SELECT u.unit_id, o.event_type, o.value FROM units u \
        JOIN outcomes o ON u.unit_type = 'session' AND o.session_id = u.unit_id \
        WHERE o.event_type IN ($4, $5) AND o.occurred_at >= u.first_exposed_at \
          AND ($3::timestamptz IS NULL OR o.occurred_at < $3) \
          AND ($6::float8 IS NULL OR o.occurred_at < u.first_exposed_at + make_interval(secs => $6))), \
    per_unit AS ( \
        SELECT u.variant_key, \
               count(e.event_type) FILTER (WHERE e.event_type = $4)::float8 AS n, \
               coalesce(sum(e.value) FILTER (WHERE e.event_type = $4), 0)::float8 AS v, \
               count(e.event_type) FILTER (WHERE e.event_type = $5)::float8 AS d \
        FROM units u LEFT JOIN unit_events e ON e.unit_id = u.unit_id \
        GROUP BY u.variant_key, u.unit_id) \
    SELECT variant_key, count(*) AS units, count(*) FILTER (WHERE n > 0) AS converted, \
           sum(n), sum(n * n), sum(v), sum(v * v), sum(d), sum(d * d), sum(n * d), sum(v * n) \
    FROM per_unit GROUP BY variant_key";

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
    let mut client = pool.get().await?;
    // The planner cannot estimate how many exposed units survive the one-variant filter
    // and, guessing few, probes the outcomes index once per unit: linear with a large
    // constant. Hash joins over the whole window are what this query wants; say so for
    // this read-only transaction only, with the memory to hold a million-unit hash table.
    let transaction = client.build_transaction().read_only(true).start().await?;
    transaction
        .batch_execute("SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '256MB'")
        .await?;
    let denominator = match metric.kind {
        MetricKind::Ratio => metric.denominator_event_type.as_deref(),
        _ => None,
    };
    let attribution_seconds = metric.attribution_window_seconds.map(|seconds| seconds as f64);
    let rows = transaction
        .query(
            METRIC_SUMS,
            &[
                &window.experiment_key,
                &window.start,
                &window.end,
                &metric.event_type,
                &denominator,
                &attribution_seconds,
            ],
        )
        .await?;
    transaction.commit().await?;
    rows.iter()
        .map(|row| {
            let sums = VariantSums {
                units: row.try_get(1)?,
                converted_units: row.try_get(2)?,
                numerator_events: row.try_get(3)?,
                numerator_events_squared: row.try_get(4)?,
                numerator_value: row.try_get(5)?,
                numerator_value_squared: row.try_get(6)?,
                denominator_events: row.try_get(7)?,
                denominator_events_squared: row.try_get(8)?,
                events_cross: row.try_get(9)?,
                value_events_cross: row.try_get(10)?,
            };
            Ok((row.try_get(0)?, sums))
        })
        .collect()
}
