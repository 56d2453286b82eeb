//! `results -o json|yaml`: the full `GetResultsResponse` with enum names spelled out and
//! timestamps as RFC 3339. The table for people is in `results_table`.

use serde::Serialize;
use vary_proto::pb;

use crate::output::timestamp;

/// `results -o json|yaml`: every field of `GetResultsResponse`.
#[derive(Debug, Serialize)]
pub struct ResultsView {
    /// The experiment.
    pub experiment_key: String,
    /// Its current version.
    pub version: i64,
    /// The phase these results are for.
    pub phase: i32,
    /// Every phase so far.
    pub phases: Vec<PhaseView>,
    /// Units per variant against the configured split.
    pub units: Vec<VariantUnitsView>,
    /// The sample-ratio-mismatch check.
    pub sample_ratio: Option<SampleRatioView>,
    /// Units exposed to more than one variant in this phase (excluded).
    pub units_in_several_variants: i64,
    /// Forced (QA override) exposures in this phase (excluded).
    pub forced_exposures: i64,
    /// The metrics, in the spec's order.
    pub metrics: Vec<MetricView>,
    /// RFC 3339.
    pub compute_time: String,
    /// Every guardrail metric against every treatment.
    pub guardrails: Vec<GuardrailView>,
}

/// One phase.
#[derive(Debug, Serialize)]
pub struct PhaseView {
    /// 1, 2, 3…
    pub number: i32,
    /// The version that started it.
    pub start_version: i64,
    /// RFC 3339.
    pub start_time: String,
    /// RFC 3339; empty for the current phase.
    pub end_time: String,
    /// Why it started.
    pub reason: String,
}

/// Units of one variant.
#[derive(Debug, Serialize)]
pub struct VariantUnitsView {
    /// The variant.
    pub variant_key: String,
    /// Whether it is the control.
    pub control: bool,
    /// Configured share, 0..1.
    pub expected_share: f64,
    /// Units counted.
    pub units: i64,
}

/// The chi-square split check.
#[derive(Debug, Serialize)]
pub struct SampleRatioView {
    /// The statistic.
    pub chi_square: f64,
    /// Its p-value.
    pub p_value: f64,
    /// Whether the split is broken (p < 0.001).
    pub mismatch: bool,
}

/// One metric for every variant.
#[derive(Debug, Serialize)]
pub struct MetricView {
    /// The metric.
    pub metric_key: String,
    /// `PRIMARY`, `SECONDARY` or `GUARDRAIL`.
    pub role: String,
    /// `CONVERSION`, `COUNT`, `SUM`, `MEAN` or `RATIO`.
    pub kind: String,
    /// `INCREASE` or `DECREASE`: which way is good.
    pub direction: String,
    /// One entry per variant.
    pub variants: Vec<VariantMetricView>,
}

/// One variant's value of one metric.
#[derive(Debug, Serialize)]
pub struct VariantMetricView {
    /// The variant.
    pub variant_key: String,
    /// Units analysed.
    pub units: i64,
    /// The value.
    pub value: f64,
    /// Against the control; null for the control or when not computable.
    pub comparison: Option<ComparisonView>,
    /// Why a treatment has no comparison.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub not_computable_reason: String,
}

/// One treatment against the control.
#[derive(Debug, Serialize)]
pub struct ComparisonView {
    /// Treatment minus control.
    pub absolute_lift: f64,
    /// Its 95% CI.
    pub absolute_ci: Option<IntervalView>,
    /// Relative lift; null when the control value is 0.
    pub relative_lift: Option<f64>,
    /// Its 95% CI.
    pub relative_ci: Option<IntervalView>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Holm-adjusted over the metric's treatments.
    pub adjusted_p_value: f64,
    /// adjusted_p_value < 0.05.
    pub significant: bool,
}

/// A two-sided interval.
#[derive(Debug, Serialize)]
pub struct IntervalView {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// One guardrail metric for one treatment.
#[derive(Debug, Serialize)]
pub struct GuardrailView {
    /// The metric.
    pub metric_key: String,
    /// The treatment.
    pub variant_key: String,
    /// Tolerated relative degradation.
    pub max_relative_degradation: f64,
    /// `ALERT` or `PAUSE`.
    pub action: String,
    /// Whether it is breached.
    pub breached: bool,
    /// The server's sentence.
    pub detail: String,
}

// === impl ResultsView ===

impl From<&pb::GetResultsResponse> for ResultsView {
    fn from(response: &pb::GetResultsResponse) -> Self {
        ResultsView {
            experiment_key: response.experiment_key.clone(),
            version: response.version,
            phase: response.phase,
            phases: response
                .phases
                .iter()
                .map(|phase| PhaseView {
                    number: phase.number,
                    start_version: phase.start_version,
                    start_time: timestamp(phase.start_time.as_ref()),
                    end_time: timestamp(phase.end_time.as_ref()),
                    reason: phase.reason.clone(),
                })
                .collect(),
            units: response
                .units
                .iter()
                .map(|units| VariantUnitsView {
                    variant_key: units.variant_key.clone(),
                    control: units.control,
                    expected_share: units.expected_share,
                    units: units.units,
                })
                .collect(),
            sample_ratio: response.sample_ratio.map(|check| SampleRatioView {
                chi_square: check.chi_square,
                p_value: check.p_value,
                mismatch: check.mismatch,
            }),
            units_in_several_variants: response.units_in_several_variants,
            forced_exposures: response.forced_exposures,
            metrics: response.metrics.iter().map(metric_view).collect(),
            compute_time: timestamp(response.compute_time.as_ref()),
            guardrails: response
                .guardrails
                .iter()
                .map(|check| GuardrailView {
                    metric_key: check.metric_key.clone(),
                    variant_key: check.variant_key.clone(),
                    max_relative_degradation: check.max_relative_degradation,
                    action: action_name(check.action),
                    breached: check.breached,
                    detail: check.detail.clone(),
                })
                .collect(),
        }
    }
}

fn metric_view(metric: &pb::MetricResult) -> MetricView {
    let interval =
        |ci: Option<pb::Interval>| ci.map(|ci| IntervalView { low: ci.low, high: ci.high });
    MetricView {
        metric_key: metric.metric_key.clone(),
        role: role_name(metric.role),
        kind: kind_name(metric.kind),
        direction: direction_name(metric.direction),
        variants: metric
            .variants
            .iter()
            .map(|variant| VariantMetricView {
                variant_key: variant.variant_key.clone(),
                units: variant.units,
                value: variant.value,
                comparison: variant.comparison.map(|comparison| ComparisonView {
                    absolute_lift: comparison.absolute_lift,
                    absolute_ci: interval(comparison.absolute_ci),
                    relative_lift: comparison.relative_lift,
                    relative_ci: interval(comparison.relative_ci),
                    p_value: comparison.p_value,
                    adjusted_p_value: comparison.adjusted_p_value,
                    significant: comparison.significant,
                }),
                not_computable_reason: variant.not_computable_reason.clone(),
            })
            .collect(),
    }
}

// === names ===

/// Unspecified is stored and returned as INCREASE.
pub(crate) fn is_decrease(direction: i32) -> bool {
    pb::MetricDirection::try_from(direction) == Ok(pb::MetricDirection::Decrease)
}

/// `PRIMARY`, or the number for a role this client does not know.
pub(crate) fn role_name(role: i32) -> String {
    pb::MetricRole::try_from(role).map_or_else(
        |_| format!("UNKNOWN({role})"),
        |role| role.as_str_name().trim_start_matches("METRIC_ROLE_").to_owned(),
    )
}

/// `CONVERSION`, or the number for a kind this client does not know.
pub(crate) fn kind_name(kind: i32) -> String {
    pb::MetricKind::try_from(kind).map_or_else(
        |_| format!("UNKNOWN({kind})"),
        |kind| kind.as_str_name().trim_start_matches("METRIC_KIND_").to_owned(),
    )
}

/// `INCREASE` or `DECREASE`.
pub(crate) fn direction_name(direction: i32) -> String {
    if is_decrease(direction) { "DECREASE" } else { "INCREASE" }.to_owned()
}

/// `PAUSE`, or the number for an action this client does not know.
pub(crate) fn action_name(action: i32) -> String {
    pb::GuardrailAction::try_from(action).map_or_else(
        |_| format!("UNKNOWN({action})"),
        |action| action.as_str_name().trim_start_matches("GUARDRAIL_ACTION_").to_owned(),
    )
}
