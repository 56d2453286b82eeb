//! How an aggregation reads the data, chosen from a small sample of the exposures.
//!
//! Two ways to bring a unit's outcomes to it, and PostgreSQL cannot choose between them
//! itself: it cannot estimate how many units survive the one-variant filter (a `HAVING`
//! on grouped exposures), guesses a handful, and would probe the outcomes index once per
//! unit even for a million units.
//!
//! - **Streaming**: read the units and the outcomes both in unit order from their indexes
//!   and merge them, aggregating each unit as it passes (no hash table, no sort). The cost
//!   follows the outcomes in the unit range: right when the experiment has many units.
//! - **Probing**: one index lookup in the outcomes per unit (a nested loop). The cost
//!   follows the units: right for a small experiment in a large outcomes table.
//!
//! A probe costs about as much as streaming ten outcomes (measured at 1,000,000 units:
//! 13 s probing, 4 s streaming 3,000,000 outcomes), hence [`PROBE_COST_IN_OUTCOMES`].
//!
//! Large experiments are also split into ranges of unit ids, each aggregated on its own
//! connection at the same time, so a server with several cores uses them (PostgreSQL's
//! own parallel query cannot split a merge of two ordered streams).

use super::Window;
use crate::error::Error;

/// One probe of the outcomes index costs about this many streamed outcomes.
pub(super) const PROBE_COST_IN_OUTCOMES: f64 = 10.0;

/// Ranges aggregated at the same time for a large experiment: the cores of the database
/// server the budget is set on (2).
pub(super) const PARALLEL_RANGES: usize = 2;

/// Below this many (estimated) exposures, one range: splitting costs more than it saves.
pub(super) const PARALLEL_MIN_EXPOSURES: f64 = 100_000.0;

/// About this many pages of the exposures table are sampled (the whole table when it is
/// smaller): a few milliseconds, and thousands of rows for an experiment that matters.
const SAMPLED_PAGES: f64 = 256.0;

/// How one aggregation runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// Merge ordered streams (`true`) or probe the outcomes per unit (`false`).
    pub streaming: bool,
    /// Unit ids splitting the units into ranges `[.., b0), [b0, b1), …, [bn, ..)`, strictly
    /// increasing; empty for one range.
    pub boundaries: Vec<String>,
}

/// One range of unit ids, `[start, end)`; `None` is unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UnitRange {
    pub(super) start: Option<String>,
    pub(super) end: Option<String>,
}

impl Strategy {
    /// The ranges the boundaries make (at least one).
    pub(super) fn ranges(&self) -> Vec<UnitRange> {
        let mut starts = vec![None];
        starts.extend(self.boundaries.iter().cloned().map(Some));
        let mut ends: Vec<Option<String>> = self.boundaries.iter().cloned().map(Some).collect();
        ends.push(None);
        starts.into_iter().zip(ends).map(|(start, end)| UnitRange { start, end }).collect()
    }

    /// The session settings for one of this strategy's queries.
    pub(super) fn settings(&self) -> &'static str {
        // Common to both: JIT's compile time is a large share of these queries when the
        // disabled plan types inflate their costs; a custom plan per query lets the NULL
        // tests on parameters fold away; the ranges are the parallelism.
        if self.streaming {
            "SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_custom_plan; \
             SET LOCAL max_parallel_workers_per_gather = 0; \
             SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; \
             SET LOCAL enable_hashjoin = off; SET LOCAL enable_nestloop = off; \
             SET LOCAL work_mem = '64MB'"
        } else {
            "SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_custom_plan; \
             SET LOCAL max_parallel_workers_per_gather = 0; \
             SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; \
             SET LOCAL work_mem = '64MB'"
        }
    }
}

/// Samples about [`SAMPLED_PAGES`] pages of exposures (the same pages each time, so the
/// same data gives the same ranges and sums added in the same order): the experiment's
/// share of them, and the unit ids at the quantiles that split it into
/// [`PARALLEL_RANGES`] ranges; the outcomes' row count from the statistics.
const SAMPLE: &str = "\
    WITH size AS ( \
        SELECT least(100, 100 * $4::float8 \
            / greatest(pg_relation_size('exposures') / current_setting('block_size')::int8, 1)) \
            ::float4 AS percent) \
    SELECT (SELECT percent FROM size)::float8 AS percent, count(*) AS sampled, \
           percentile_disc($5::float8[]) WITHIN GROUP (ORDER BY unit_id) AS quantiles, \
           (SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = 'outcomes'::regclass) \
               AS outcomes \
    FROM exposures TABLESAMPLE SYSTEM ((SELECT percent FROM size)) REPEATABLE (0) \
    WHERE experiment_key = $1 AND NOT forced AND occurred_at >= $2 \
      AND ($3::timestamptz IS NULL OR occurred_at < $3)";

/// The strategy for `window`, from a sample of its exposures.
pub async fn choose(
    pool: &deadpool_postgres::Pool,
    window: &Window<'_>,
) -> Result<Strategy, Error> {
    let client = pool.get().await?;
    let quantiles: Vec<f64> =
        (1..PARALLEL_RANGES).map(|part| part as f64 / PARALLEL_RANGES as f64).collect();
    let row = client
        .query_one(
            SAMPLE,
            &[&window.experiment_key, &window.start, &window.end, &SAMPLED_PAGES, &quantiles],
        )
        .await?;
    let percent: f64 = row.try_get("percent")?;
    let sampled: i64 = row.try_get("sampled")?;
    let outcomes: f64 = row.try_get("outcomes")?;
    let quantiles: Option<Vec<Option<String>>> = row.try_get("quantiles")?;
    let exposures = sampled as f64 * 100.0 / percent.max(f64::MIN_POSITIVE);
    Ok(decide(exposures, outcomes, quantiles.unwrap_or_default()))
}

/// The strategy for about `exposures` exposures against `outcomes` outcomes, split at
/// `quantiles` when large.
fn decide(exposures: f64, outcomes: f64, quantiles: Vec<Option<String>>) -> Strategy {
    let streaming = exposures * PROBE_COST_IN_OUTCOMES >= outcomes;
    let mut boundaries: Vec<String> = Vec::new();
    if streaming && exposures >= PARALLEL_MIN_EXPOSURES {
        for quantile in quantiles.into_iter().flatten() {
            // Quantiles come sorted; equal ones (one unit with many exposures) would make
            // an empty range.
            if boundaries.last().is_none_or(|last| *last < quantile) {
                boundaries.push(quantile);
            }
        }
    }
    Strategy { streaming, boundaries }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[&str]) -> Vec<Option<String>> {
        ids.iter().map(|id| Some((*id).to_owned())).collect()
    }

    #[test]
    fn many_units_against_few_outcomes_stream_in_ranges() {
        let strategy = decide(1_000_000.0, 3_000_000.0, ids(&["u5"]));
        assert_eq!(strategy, Strategy { streaming: true, boundaries: vec!["u5".into()] });
        let ranges = strategy.ranges();
        assert_eq!(ranges.len(), 2);
        assert_eq!((ranges[0].start.as_deref(), ranges[0].end.as_deref()), (None, Some("u5")));
        assert_eq!((ranges[1].start.as_deref(), ranges[1].end.as_deref()), (Some("u5"), None));
    }

    #[test]
    fn few_units_against_many_outcomes_probe_in_one_range() {
        let strategy = decide(5_000.0, 10_000_000.0, ids(&["u5"]));
        assert_eq!(strategy, Strategy { streaming: false, boundaries: vec![] });
        assert_eq!(strategy.ranges(), [UnitRange { start: None, end: None }]);
    }

    #[test]
    fn a_small_experiment_streams_in_one_range() {
        assert_eq!(decide(50.0, 0.0, ids(&["u5"])).boundaries, Vec::<String>::new());
    }

    #[test]
    fn repeated_or_missing_quantiles_make_no_empty_range() {
        let mut quantiles = ids(&["a", "a", "b"]);
        quantiles.push(None);
        assert_eq!(decide(1e6, 0.0, quantiles).boundaries, ["a", "b"]);
    }
}
