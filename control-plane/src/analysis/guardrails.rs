//! Guardrail checks: is a treatment significantly worse than control on a metric that
//! must not degrade, by more than the tolerated amount?

use vary_proto::{
    model::{GuardrailAction, Metric, MetricDirection, MetricRole},
    pb,
};

/// Every guardrail metric of `metrics` against every treatment in `results` (the same
/// metrics, in the same order).
pub fn guardrail_checks(
    metrics: &[Metric],
    results: &[pb::MetricResult],
) -> Vec<pb::GuardrailCheck> {
    metrics
        .iter()
        .zip(results)
        .filter(|(metric, _)| metric.role == MetricRole::Guardrail)
        .filter_map(|(metric, result)| {
            metric.guardrail.map(|guardrail| (metric, guardrail, result))
        })
        .flat_map(|(metric, guardrail, result)| {
            result.variants.iter().filter_map(move |variant| {
                // The control has no comparison; a treatment without one is reported.
                let is_control =
                    variant.comparison.is_none() && variant.not_computable_reason.is_empty();
                if is_control {
                    return None;
                }
                let (breached, detail) = judge(metric, guardrail.max_relative_degradation, variant);
                Some(pb::GuardrailCheck {
                    metric_key: metric.key.clone(),
                    variant_key: variant.variant_key.clone(),
                    max_relative_degradation: guardrail.max_relative_degradation,
                    action: match guardrail.action {
                        GuardrailAction::Alert => pb::GuardrailAction::Alert,
                        GuardrailAction::Pause => pb::GuardrailAction::Pause,
                    } as i32,
                    breached,
                    detail,
                })
            })
        })
        .collect()
}

/// Breached when the relative change's confidence interval lies entirely beyond the
/// threshold on the bad side.
fn judge(metric: &Metric, threshold: f64, variant: &pb::VariantMetric) -> (bool, String) {
    let Some(comparison) = &variant.comparison else {
        return (false, format!("not computable: {}", variant.not_computable_reason));
    };
    let (Some(lift), Some(ci)) = (comparison.relative_lift, comparison.relative_ci) else {
        return (false, "relative change undefined (control value is 0)".to_owned());
    };
    let breached = match metric.direction {
        MetricDirection::Increase => ci.high < -threshold,
        MetricDirection::Decrease => ci.low > threshold,
    };
    let detail = format!(
        "relative change {:+.2}% (95% CI {:+.2}% to {:+.2}%), tolerated {} of {:.2}%",
        lift * 100.0,
        ci.low * 100.0,
        ci.high * 100.0,
        match metric.direction {
            MetricDirection::Increase => "a drop",
            MetricDirection::Decrease => "a rise",
        },
        threshold * 100.0,
    );
    (breached, detail)
}

#[cfg(test)]
mod tests {
    use vary_proto::model::{Guardrail, MetricKind};

    use super::*;

    fn metric(direction: MetricDirection) -> Metric {
        Metric {
            key: "bounce_rate".into(),
            role: MetricRole::Guardrail,
            kind: MetricKind::Conversion,
            event_type: "bounce".into(),
            denominator_event_type: None,
            attribution_window_seconds: None,
            direction,
            guardrail: Some(Guardrail {
                max_relative_degradation: 0.05,
                action: GuardrailAction::Pause,
            }),
        }
    }

    fn result(low: f64, high: f64) -> pb::MetricResult {
        pb::MetricResult {
            metric_key: "bounce_rate".into(),
            variants: vec![
                pb::VariantMetric { variant_key: "control".into(), ..Default::default() },
                pb::VariantMetric {
                    variant_key: "treatment".into(),
                    comparison: Some(pb::Comparison {
                        relative_lift: Some((low + high) / 2.0),
                        relative_ci: Some(pb::Interval { low, high }),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn breached(direction: MetricDirection, low: f64, high: f64) -> bool {
        let checks = guardrail_checks(&[metric(direction)], &[result(low, high)]);
        assert_eq!(checks.len(), 1, "one treatment, one check");
        checks[0].breached
    }

    #[test]
    fn a_rise_beyond_the_threshold_breaches_where_lower_is_better() {
        assert!(breached(MetricDirection::Decrease, 0.06, 0.30));
        assert!(
            !breached(MetricDirection::Decrease, 0.04, 0.30),
            "CI reaches inside the tolerance"
        );
        assert!(!breached(MetricDirection::Decrease, -0.30, -0.06), "an improvement");
    }

    #[test]
    fn a_drop_beyond_the_threshold_breaches_where_higher_is_better() {
        assert!(breached(MetricDirection::Increase, -0.30, -0.06));
        assert!(!breached(MetricDirection::Increase, -0.30, -0.04));
        assert!(!breached(MetricDirection::Increase, 0.06, 0.30));
    }
}
