//! The SQL that derives an experiment's units from its exposures, shared by the exposure
//! summary and the metrics query.
//!
//! Every query of a unit range takes the same first parameters: `$1` the experiment, `$2`
//! and `$3` the window (end NULL for the current phase), `$4` and `$5` the range of unit
//! ids `[$4, $5)` (NULL for unbounded). Under a custom plan the NULL tests fold away and
//! the bounds become index conditions.

/// Parameters of [`UNIT_EXPOSURES`]: experiment, window start and end, range start and end.
pub(super) const RANGE_PARAMETERS: usize = 5;

/// The unforced exposures of the window and range, in the order of the
/// `exposures_experiment_unit_idx` index (experiment, unit, time).
pub(super) const UNIT_EXPOSURES: &str = "\
    FROM exposures \
    WHERE experiment_key = $1 AND NOT forced AND occurred_at >= $2 \
      AND ($3::timestamptz IS NULL OR occurred_at < $3) \
      AND ($4::text IS NULL OR unit_id >= $4) AND ($5::text IS NULL OR unit_id < $5)";

/// Units per variant in the range; units exposed to more than one variant under NULL.
pub(super) fn exposure_summary_sql() -> String {
    format!(
        "WITH per_unit AS ( \
             SELECT min(variant_key) AS first_variant, max(variant_key) AS last_variant \
             {UNIT_EXPOSURES} GROUP BY unit_id) \
         SELECT CASE WHEN first_variant = last_variant THEN first_variant END AS variant_key, \
                count(*) AS units \
         FROM per_unit GROUP BY 1"
    )
}

/// Forced exposures in the window (all ranges: the `exposures_forced_idx` index finds them).
pub(super) const FORCED_EXPOSURES: &str = "\
    SELECT count(*) FROM exposures \
    WHERE experiment_key = $1 AND forced AND occurred_at >= $2 \
      AND ($3::timestamptz IS NULL OR occurred_at < $3)";

/// Whether the window has session exposures (the `exposures_session_unit_idx` index
/// answers at once); forced ones are included, which only costs a join that finds nothing.
pub(super) const HAS_SESSION_EXPOSURES: &str = "\
    SELECT EXISTS (SELECT 1 FROM exposures \
        WHERE experiment_key = $1 AND unit_type = 'session' AND occurred_at >= $2 \
          AND ($3::timestamptz IS NULL OR occurred_at < $3))";

/// The units of the range exposed to one variant only (`extra_having` narrows them
/// further), in unit order: unit id, type, variant and first exposure.
pub(super) fn units_sql(extra_having: &str) -> String {
    format!(
        "SELECT unit_id, min(unit_type) AS unit_type, min(variant_key) AS variant_key, \
                min(occurred_at) AS first_exposed_at \
         {UNIT_EXPOSURES} \
         GROUP BY unit_id HAVING min(variant_key) = max(variant_key){extra_having}"
    )
}
