//! The one-pass metrics query of a unit range, and where each metric's sums are in its
//! rows.
//!
//! Per unit, the query counts the events of each distinct (event type, attribution window)
//! the metrics read, and sums their values where some metric takes them as its numerator;
//! per variant, it sums those per-unit columns, their squares and the products the
//! metrics need, each distinct sum once. Metrics sharing an event type share its columns.
//!
//! User units are joined to outcomes on `user_id`, session units on `session_id`. Every
//! unit of the range goes through the user branch (LEFT JOIN, so units without events
//! count as zeros, and session units there have no events); when the experiment has
//! session units, a second branch adds their events (INNER JOIN). Every sum is zero at
//! zero, so adding the two branches per variant is exact.

use vary_proto::model::{Metric, MetricKind};

use super::units_sql::{RANGE_PARAMETERS, units_sql};

/// Events of one type within one attribution window, per unit.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Column {
    pub(super) event_type: String,
    /// `None`: every event from the first exposure to the end of the window.
    pub(super) window_seconds: Option<f64>,
    /// Some metric takes this column as its numerator, so its values are summed too.
    pub(super) values: bool,
}

/// Where one of a metric's sums is in a result row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Output {
    /// The result column at this index (a `float8`, NULL when no unit had a row).
    Column(usize),
    /// The metric has no denominator: the sum is 0.
    Zero,
}

/// Where a metric's `VariantSums` fields are in a result row.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MetricOutputs {
    /// Units with at least one numerator event (a `bigint` column).
    pub(super) converted_units: usize,
    /// Σn, Σn², Σv, Σv², Σd, Σd², Σn·d, Σv·n, in the order of `VariantSums`.
    pub(super) sums: [Output; 8],
}

/// The metrics query: its columns (each binding two parameters), its SQL and its outputs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MetricsQuery {
    pub(super) columns: Vec<Column>,
    /// Every event type a column reads, sorted, without repeats (`$6`).
    pub(super) event_types: Vec<String>,
    /// One per metric, in the order given.
    pub(super) outputs: Vec<MetricOutputs>,
    /// Per-variant aggregate expressions; result column `2 + i` is `aggregates[i]`.
    aggregates: Vec<String>,
}

/// Result columns before the aggregates: the variant key and its units.
pub(super) const LEADING_COLUMNS: usize = 2;

impl MetricsQuery {
    /// The query for `metrics`.
    pub(super) fn new(metrics: &[Metric]) -> Self {
        let mut query = MetricsQuery {
            columns: Vec::new(),
            event_types: Vec::new(),
            outputs: Vec::new(),
            aggregates: Vec::new(),
        };
        for metric in metrics {
            let window = metric.attribution_window_seconds.map(|seconds| seconds as f64);
            let numerator = query.column(&metric.event_type, window, true);
            let denominator = match metric.kind {
                MetricKind::Ratio => metric
                    .denominator_event_type
                    .as_deref()
                    .map(|event_type| query.column(event_type, window, false)),
                _ => None,
            };
            let (n, v) = (format!("c{numerator}"), format!("v{numerator}"));
            let converted_units = query.aggregate(format!("count(*) FILTER (WHERE {n} > 0)"));
            let mut sum = |expression: String| Output::Column(query.aggregate(expression));
            let numerator_sums = [
                sum(format!("sum({n})")),
                sum(format!("sum({n} * {n})")),
                sum(format!("sum({v})")),
                sum(format!("sum({v} * {v})")),
            ];
            let denominator_sums = match denominator {
                Some(denominator) => {
                    let d = format!("c{denominator}");
                    [
                        sum(format!("sum({d})")),
                        sum(format!("sum({d} * {d})")),
                        sum(format!("sum({n} * {d})")),
                    ]
                }
                None => [Output::Zero; 3],
            };
            let value_events_cross = sum(format!("sum({v} * {n})"));
            let [a, b, c, d] = numerator_sums;
            let [e, f, g] = denominator_sums;
            query.outputs.push(MetricOutputs {
                converted_units,
                sums: [a, b, c, d, e, f, g, value_events_cross],
            });
        }
        query.event_types = query.columns.iter().map(|column| column.event_type.clone()).collect();
        query.event_types.sort_unstable();
        query.event_types.dedup();
        query
    }

    /// Index of the column for events of `event_type` within `window`, added if new.
    fn column(&mut self, event_type: &str, window_seconds: Option<f64>, values: bool) -> usize {
        let found = self.columns.iter().position(|column| {
            column.event_type == event_type && column.window_seconds == window_seconds
        });
        let index = found.unwrap_or_else(|| {
            self.columns.push(Column {
                event_type: event_type.to_owned(),
                window_seconds,
                values: false,
            });
            self.columns.len() - 1
        });
        self.columns[index].values |= values;
        index
    }

    /// Result column of `expression`, added if new.
    fn aggregate(&mut self, expression: String) -> usize {
        let index = match self.aggregates.iter().position(|known| *known == expression) {
            Some(index) => index,
            None => {
                self.aggregates.push(expression);
                self.aggregates.len() - 1
            }
        };
        LEADING_COLUMNS + index
    }

    /// Parameter number of column `index`'s event type; its window is the next one.
    fn event_type_parameter(index: usize) -> usize {
        RANGE_PARAMETERS + 2 + 2 * index
    }

    /// The SQL; with `sessions`, the branch joining session units to outcomes too.
    pub(super) fn sql(&self, sessions: bool) -> String {
        let per_unit = self.per_unit_columns();
        let event_types = RANGE_PARAMETERS + 1;
        let outcomes = |key: &str| {
            format!(
                "o.{key} = u.unit_id AND o.{key} IS NOT NULL \
                 AND ($4::text IS NULL OR o.{key} >= $4) AND ($5::text IS NULL OR o.{key} < $5) \
                 AND o.event_type = ANY(${event_types}::text[]) \
                 AND o.occurred_at >= u.first_exposed_at \
                 AND ($3::timestamptz IS NULL OR o.occurred_at < $3)"
            )
        };
        let mut branches = format!(
            "SELECT true AS counted, min(u.variant_key) AS variant_key, {per_unit} \
             FROM ({units}) u \
             LEFT JOIN outcomes o ON u.unit_type = 'user' AND {on} \
             GROUP BY u.unit_id",
            units = units_sql(""),
            on = outcomes("user_id"),
        );
        if sessions {
            branches.push_str(&format!(
                " UNION ALL \
                 SELECT false, min(u.variant_key), {per_unit} \
                 FROM ({units}) u \
                 JOIN outcomes o ON {on} \
                 GROUP BY u.unit_id",
                units = units_sql(" AND min(unit_type) = 'session'"),
                on = outcomes("session_id"),
            ));
        }
        format!(
            "SELECT variant_key, count(*) FILTER (WHERE counted) AS units, {aggregates} \
             FROM ({branches}) per_unit GROUP BY variant_key",
            aggregates = self.aggregates.join(", "),
        )
    }

    /// Per-unit counts `c{i}` and value sums `v{i}` of every column.
    fn per_unit_columns(&self) -> String {
        let mut columns = Vec::new();
        for (index, column) in self.columns.iter().enumerate() {
            let event_type = Self::event_type_parameter(index);
            let window = event_type + 1;
            let events = format!(
                "o.event_type = ${event_type} AND (${window}::float8 IS NULL \
                 OR o.occurred_at - u.first_exposed_at < make_interval(secs => ${window}))"
            );
            columns.push(format!("count(*) FILTER (WHERE {events})::float8 AS c{index}"));
            if column.values {
                columns.push(format!(
                    "coalesce(sum(o.value) FILTER (WHERE {events}), 0)::float8 AS v{index}"
                ));
            }
        }
        columns.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use vary_proto::model::{MetricDirection, MetricRole};

    use super::*;

    fn metric(kind: MetricKind, event_type: &str, denominator: Option<&str>) -> Metric {
        Metric {
            key: "m".into(),
            role: MetricRole::Secondary,
            kind,
            event_type: event_type.into(),
            denominator_event_type: denominator.map(str::to_owned),
            attribution_window_seconds: None,
            direction: MetricDirection::Increase,
            guardrail: None,
        }
    }

    #[test]
    fn metrics_on_the_same_events_share_columns_and_sums() {
        let query = MetricsQuery::new(&[
            metric(MetricKind::Sum, "purchase", None),
            metric(MetricKind::Mean, "purchase", None),
            metric(MetricKind::Ratio, "click", Some("impression")),
        ]);
        let types: Vec<_> =
            query.columns.iter().map(|c| (c.event_type.as_str(), c.values)).collect();
        assert_eq!(types, [("purchase", true), ("click", true), ("impression", false)]);
        assert_eq!(query.event_types, ["click", "impression", "purchase"]);
        assert_eq!(query.outputs[0], query.outputs[1]);
        assert_eq!(query.outputs[0].sums[4..7], [Output::Zero; 3]);
        assert!(query.outputs[2].sums.iter().all(|sum| matches!(sum, Output::Column(_))));
    }

    #[test]
    fn a_different_attribution_window_is_a_column_of_its_own() {
        let mut windowed = metric(MetricKind::Count, "click", None);
        windowed.attribution_window_seconds = Some(3_600);
        let query = MetricsQuery::new(&[metric(MetricKind::Count, "click", None), windowed]);
        assert_eq!(query.columns.len(), 2);
        assert_eq!(query.event_types, ["click"]);
        assert_ne!(query.outputs[0], query.outputs[1]);
    }

    #[test]
    fn the_session_branch_is_only_there_when_asked_for() {
        let query = MetricsQuery::new(&[metric(MetricKind::Conversion, "add_to_cart", None)]);
        assert!(!query.sql(false).contains("session_id"));
        assert!(query.sql(true).contains("o.session_id = u.unit_id"));
        // $1..$5 the range, $6 the event types, $7 and $8 the one column.
        assert!(query.sql(false).contains("$8::float8"));
        assert!(!query.sql(false).contains("$9"));
    }
}
