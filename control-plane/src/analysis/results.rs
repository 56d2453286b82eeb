//! Assembles `GetResults`: the phase, units per variant and the SRM check, then every
//! metric's value per variant and each treatment's comparison with the control, Holm-
//! adjusted across the treatments of the metric.

use time::OffsetDateTime;
use vary_proto::{
    assign::normalize_weights,
    model::{Experiment, Metric, MetricKind, ValidationError, timestamp_from_time},
    pb,
};

use super::aggregate::{ExposureSummary, VariantSums, Window, exposure_summary, metrics_sums};
use super::guardrails::guardrail_checks;
use super::phases::{Phase, phases};
use super::stats::{
    Comparison, MeanSample, NotComputable, ProportionSample, RatioSample, delta_method_ratio_test,
    holm_adjust, sample_ratio_test, two_proportion_z_test, welch_t_test,
};
use crate::error::Error;
use crate::store::Store;

/// Confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;
/// Significance level for `Comparison.significant` (on Holm-adjusted p-values).
pub const ALPHA: f64 = 0.05;
/// A sample-ratio mismatch is flagged below this p-value.
pub const SRM_ALPHA: f64 = 0.001;

/// Computes the results of `key` for `phase` (0 = the current one).
pub async fn compute_results(
    store: &Store,
    pool: &deadpool_postgres::Pool,
    key: &str,
    phase: i32,
) -> Result<pb::GetResultsResponse, Error> {
    let current = store.get_experiment(key).await?;
    let history = store.version_history(key).await?;
    let all_phases = phases(&history);
    let selected = select_phase(&all_phases, phase, key)?;
    let window = Window { experiment_key: key, start: selected.start, end: selected.end };
    let spec_metrics = &current.experiment.spec.metrics;
    // Two independent reads: run them side by side, each on its own connections, so a
    // large experiment's summary and metric sums share the database's cores.
    let (summary, all_sums) = tokio::try_join!(
        exposure_summary(pool, &window),
        metrics_sums(pool, &window, spec_metrics),
    )?;
    let config = &selected.experiment;
    let units = units_per_variant(config, &summary);
    let sample_ratio = sample_ratio(&units);
    let metrics: Vec<pb::MetricResult> = spec_metrics
        .iter()
        .zip(&all_sums)
        .map(|(metric, sums)| metric_result(config, metric, sums))
        .collect();
    Ok(pb::GetResultsResponse {
        experiment_key: key.to_owned(),
        version: current.experiment.version,
        phases: all_phases.iter().map(phase_to_pb).collect(),
        phase: selected.number,
        units,
        sample_ratio,
        units_in_several_variants: summary.units_in_several_variants,
        forced_exposures: summary.forced_exposures,
        guardrails: guardrail_checks(&current.experiment.spec.metrics, &metrics),
        metrics,
        compute_time: Some(timestamp_from_time(OffsetDateTime::now_utc())),
    })
}

fn select_phase<'a>(phases: &'a [Phase], requested: i32, key: &str) -> Result<&'a Phase, Error> {
    if phases.is_empty() {
        return Err(Error::NotStarted { key: key.to_owned() });
    }
    match requested {
        0 => Ok(phases.last().expect("checked non-empty above")),
        number if number >= 1 && number as usize <= phases.len() => {
            Ok(&phases[number as usize - 1])
        }
        number => Err(ValidationError::new(
            "phase",
            format!("must be 0 (current) or 1..={}, got {number}", phases.len()),
        )
        .into()),
    }
}

fn phase_to_pb(phase: &Phase) -> pb::Phase {
    pb::Phase {
        number: phase.number,
        start_version: phase.start_version,
        start_time: Some(timestamp_from_time(phase.start)),
        end_time: phase.end.map(timestamp_from_time),
        reason: phase.reason.to_owned(),
    }
}

fn units_per_variant(config: &Experiment, summary: &ExposureSummary) -> Vec<pb::VariantUnits> {
    let weights: Vec<f64> = config.spec.variants.iter().map(|variant| variant.weight).collect();
    let basis_points = normalize_weights(&weights).unwrap_or_default();
    config
        .spec
        .variants
        .iter()
        .enumerate()
        .map(|(index, variant)| pb::VariantUnits {
            variant_key: variant.key.clone(),
            control: variant.control,
            expected_share: f64::from(basis_points.get(index).copied().unwrap_or(0)) / 10_000.0,
            units: summary.units.get(&variant.key).copied().unwrap_or(0),
        })
        .collect()
}

fn sample_ratio(units: &[pb::VariantUnits]) -> Option<pb::SampleRatioCheck> {
    let observed: Vec<u64> = units.iter().map(|variant| variant.units.max(0) as u64).collect();
    let expected: Vec<f64> = units.iter().map(|variant| variant.expected_share).collect();
    let test = sample_ratio_test(&observed, &expected).ok()?;
    Some(pb::SampleRatioCheck {
        chi_square: test.chi_square,
        p_value: test.p_value,
        mismatch: test.p_value < SRM_ALPHA,
    })
}

/// One variant's sums as the sample its metric kind is tested with.
enum Sample {
    Proportion(ProportionSample),
    Mean(MeanSample),
    Ratio(RatioSample),
}

impl Sample {
    fn of(kind: MetricKind, sums: &VariantSums) -> Sample {
        let units = sums.units.max(0) as u64;
        match kind {
            MetricKind::Conversion => Sample::Proportion(ProportionSample {
                units,
                conversions: sums.converted_units.max(0) as u64,
            }),
            MetricKind::Count => Sample::Mean(MeanSample {
                n: units,
                sum: sums.numerator_events,
                sum_of_squares: sums.numerator_events_squared,
            }),
            MetricKind::Sum => Sample::Mean(MeanSample {
                n: units,
                sum: sums.numerator_value,
                sum_of_squares: sums.numerator_value_squared,
            }),
            // The mean of event values: events cluster within units, so it is the ratio
            // of per-unit value sums to per-unit event counts (delta method).
            MetricKind::Mean => Sample::Ratio(RatioSample {
                units,
                numerator_sum: sums.numerator_value,
                denominator_sum: sums.numerator_events,
                numerator_sum_of_squares: sums.numerator_value_squared,
                denominator_sum_of_squares: sums.numerator_events_squared,
                cross_sum: sums.value_events_cross,
            }),
            MetricKind::Ratio => Sample::Ratio(RatioSample {
                units,
                numerator_sum: sums.numerator_events,
                denominator_sum: sums.denominator_events,
                numerator_sum_of_squares: sums.numerator_events_squared,
                denominator_sum_of_squares: sums.denominator_events_squared,
                cross_sum: sums.events_cross,
            }),
        }
    }

    /// The metric's value for this variant (NaN when undefined, e.g. no units).
    fn value(&self) -> f64 {
        match self {
            Sample::Proportion(sample) => sample.conversions as f64 / sample.units as f64,
            Sample::Mean(sample) => sample.sum / sample.n as f64,
            Sample::Ratio(sample) => sample.numerator_sum / sample.denominator_sum,
        }
    }

    fn compare(&self, treatment: &Sample) -> Result<Comparison, NotComputable> {
        match (self, treatment) {
            (Sample::Proportion(c), Sample::Proportion(t)) => {
                two_proportion_z_test(c, t, CONFIDENCE)
            }
            (Sample::Mean(c), Sample::Mean(t)) => welch_t_test(c, t, CONFIDENCE),
            (Sample::Ratio(c), Sample::Ratio(t)) => delta_method_ratio_test(c, t, CONFIDENCE),
            _ => unreachable!("both samples come from the same metric kind"),
        }
    }
}

fn metric_result(
    config: &Experiment,
    metric: &Metric,
    sums: &std::collections::BTreeMap<String, VariantSums>,
) -> pb::MetricResult {
    let empty = VariantSums::default();
    let samples: Vec<(&str, bool, Sample)> = config
        .spec
        .variants
        .iter()
        .map(|variant| {
            let variant_sums = sums.get(&variant.key).unwrap_or(&empty);
            (variant.key.as_str(), variant.control, Sample::of(metric.kind, variant_sums))
        })
        .collect();
    let control = samples.iter().find(|(_, control, _)| *control).map(|(_, _, sample)| sample);
    let comparisons: Vec<Option<Result<Comparison, NotComputable>>> = samples
        .iter()
        .map(|(_, is_control, sample)| match (is_control, control) {
            (false, Some(control)) => Some(control.compare(sample)),
            _ => None,
        })
        .collect();
    let p_values: Vec<f64> = comparisons
        .iter()
        .filter_map(|comparison| comparison.as_ref()?.as_ref().ok().map(|c| c.p_value))
        .collect();
    let mut adjusted = holm_adjust(&p_values).into_iter();
    let variants = samples
        .iter()
        .zip(comparisons)
        .map(|((variant_key, _, sample), comparison)| {
            let units = match sample {
                Sample::Proportion(sample) => sample.units,
                Sample::Mean(sample) => sample.n,
                Sample::Ratio(sample) => sample.units,
            } as i64;
            let (comparison, not_computable_reason) = match comparison {
                None => (None, String::new()),
                Some(Err(reason)) => (None, reason.to_string()),
                Some(Ok(comparison)) => {
                    let adjusted_p_value = adjusted.next().unwrap_or(comparison.p_value);
                    (Some(comparison_to_pb(&comparison, adjusted_p_value)), String::new())
                }
            };
            pb::VariantMetric {
                variant_key: (*variant_key).to_owned(),
                units,
                value: sample.value(),
                comparison,
                not_computable_reason,
            }
        })
        .collect();
    pb::MetricResult {
        metric_key: metric.key.clone(),
        role: metric_role(metric) as i32,
        kind: metric_kind(metric) as i32,
        direction: match metric.direction {
            vary_proto::model::MetricDirection::Increase => pb::MetricDirection::Increase,
            vary_proto::model::MetricDirection::Decrease => pb::MetricDirection::Decrease,
        } as i32,
        variants,
    }
}

fn comparison_to_pb(comparison: &Comparison, adjusted_p_value: f64) -> pb::Comparison {
    let interval =
        |interval: super::stats::Interval| pb::Interval { low: interval.low, high: interval.high };
    // Undefined when the control value is 0: left unset rather than sent as NaN.
    let relative = comparison.relative().ok();
    pb::Comparison {
        absolute_lift: comparison.absolute_lift,
        absolute_ci: Some(interval(comparison.absolute_ci)),
        relative_lift: relative.map(|(lift, _)| lift),
        relative_ci: relative.map(|(_, ci)| interval(ci)),
        p_value: comparison.p_value,
        adjusted_p_value,
        significant: adjusted_p_value < ALPHA,
    }
}

fn metric_role(metric: &Metric) -> pb::MetricRole {
    match metric.role {
        vary_proto::model::MetricRole::Primary => pb::MetricRole::Primary,
        vary_proto::model::MetricRole::Secondary => pb::MetricRole::Secondary,
        vary_proto::model::MetricRole::Guardrail => pb::MetricRole::Guardrail,
    }
}

fn metric_kind(metric: &Metric) -> pb::MetricKind {
    match metric.kind {
        MetricKind::Conversion => pb::MetricKind::Conversion,
        MetricKind::Count => pb::MetricKind::Count,
        MetricKind::Sum => pb::MetricKind::Sum,
        MetricKind::Mean => pb::MetricKind::Mean,
        MetricKind::Ratio => pb::MetricKind::Ratio,
    }
}
