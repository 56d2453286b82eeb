//! How results look to people. A PM reads top-down: can these numbers be trusted (the
//! sample-ratio check, exclusions), then each metric with the decision metric first, then
//! the guardrails.

use vary_proto::pb;

use crate::{
    output::{Term, new_table, timestamp},
    results_view::{action_name, is_decrease, kind_name, role_name},
};

/// `results` for people: the header, the units, one table per metric (primary first),
/// the guardrails.
pub fn print_results(term: &mut Term<'_>, response: &pb::GetResultsResponse) {
    for line in header(response) {
        term.line(line);
    }
    term.line("");
    let total: i64 = response.units.iter().map(|units| units.units).sum();
    let mut table = new_table(&["variant", "units", "share", "expected"]);
    for units in &response.units {
        let share = if total > 0 { units.units as f64 / total as f64 } else { 0.0 };
        let name = if units.control {
            format!("{} (control)", units.variant_key)
        } else {
            units.variant_key.clone()
        };
        let expected = format!("{:.1}%", units.expected_share * 100.0);
        table.add_row(vec![
            name,
            units.units.to_string(),
            format!("{:.1}%", share * 100.0),
            expected,
        ]);
    }
    term.table(&table);

    let mut metrics: Vec<&pb::MetricResult> = response.metrics.iter().collect();
    metrics.sort_by_key(|metric| role_rank(metric.role));
    for metric in metrics {
        term.line("");
        print_metric(term, metric, response);
    }

    term.line("");
    if response.guardrails.is_empty() {
        term.line("Guardrails: none");
        return;
    }
    term.line("Guardrails");
    let mut table = new_table(&["metric", "variant", "status", "action", "detail"]);
    for check in &response.guardrails {
        table.add_row(vec![
            check.metric_key.clone(),
            check.variant_key.clone(),
            if check.breached { "BREACHED" } else { "ok" }.to_owned(),
            action_name(check.action),
            check.detail.clone(),
        ]);
    }
    term.table(&table);
}

/// Experiment, phase, SRM verdict, exclusions.
fn header(response: &pb::GetResultsResponse) -> Vec<String> {
    let phase = response.phases.iter().find(|phase| phase.number == response.phase);
    let started = phase.map_or_else(String::new, |phase| {
        let ended = match timestamp(phase.end_time.as_ref()) {
            ended if ended.is_empty() => String::new(),
            ended => format!(", ended {ended}"),
        };
        format!(
            " (started {}{ended}, reason: {})",
            timestamp(phase.start_time.as_ref()),
            phase.reason
        )
    });
    let sample_ratio = match response.sample_ratio {
        None => "not computed".to_owned(),
        Some(check) => {
            let verdict =
                if check.mismatch { "MISMATCH: do not trust these results" } else { "OK" };
            format!("{verdict} (chi-square {:.2}, p {})", check.chi_square, p_value(check.p_value))
        }
    };
    vec![
        format!("Experiment:    {} (version {})", response.experiment_key, response.version),
        format!("Phase:         {} of {}{started}", response.phase, response.phases.len()),
        format!("Sample ratio:  {sample_ratio}"),
        format!(
            "Excluded:      {} units in several variants, {} forced exposures",
            response.units_in_several_variants, response.forced_exposures
        ),
        format!("Computed:      {}", timestamp(response.compute_time.as_ref())),
    ]
}

fn print_metric(term: &mut Term<'_>, metric: &pb::MetricResult, response: &pb::GetResultsResponse) {
    let kind = pb::MetricKind::try_from(metric.kind).unwrap_or(pb::MetricKind::Unspecified);
    let decrease = is_decrease(metric.direction);
    term.line(format!(
        "{} ({}, {}, {} is better)",
        metric.metric_key,
        role_name(metric.role),
        kind_name(metric.kind).to_lowercase(),
        if decrease { "lower" } else { "higher" }
    ));
    let mut table = new_table(&[
        "variant",
        "units",
        "value",
        "abs lift (95% CI)",
        "rel lift (95% CI)",
        "p",
        "adj p",
        "verdict",
    ]);
    for variant in &metric.variants {
        let is_control = response
            .units
            .iter()
            .any(|units| units.control && units.variant_key == variant.variant_key);
        let mut row = vec![
            variant.variant_key.clone(),
            variant.units.to_string(),
            value(kind, variant.value),
        ];
        match (&variant.comparison, is_control) {
            (Some(comparison), _) => row.extend(comparison_cells(kind, comparison, decrease)),
            (None, true) => row.extend(["", "", "", "", "(control)"].map(str::to_owned)),
            (None, false) => {
                let reason = match variant.not_computable_reason.as_str() {
                    "" => "n/a".to_owned(),
                    reason => format!("n/a: {reason}"),
                };
                row.extend(["", "", "", ""].map(str::to_owned));
                row.push(reason);
            }
        }
        table.add_row(row);
    }
    term.table(&table);
}

fn comparison_cells(
    kind: pb::MetricKind,
    comparison: &pb::Comparison,
    decrease: bool,
) -> [String; 5] {
    let absolute = match comparison.absolute_ci {
        Some(ci) => format!(
            "{} [{}, {}]",
            lift(kind, comparison.absolute_lift),
            lift(kind, ci.low),
            lift(kind, ci.high)
        ),
        None => lift(kind, comparison.absolute_lift),
    };
    let relative = match (comparison.relative_lift, comparison.relative_ci) {
        (Some(lift), Some(ci)) => {
            format!(
                "{} [{}, {}]",
                signed_percent(lift),
                signed_percent(ci.low),
                signed_percent(ci.high)
            )
        }
        (Some(lift), None) => signed_percent(lift),
        (None, _) => "n/a".to_owned(),
    };
    [
        absolute,
        relative,
        p_value(comparison.p_value),
        p_value(comparison.adjusted_p_value),
        verdict(comparison, decrease),
    ]
}

/// `▲ significant, better`; the arrow is the direction of the change, the word whether
/// that direction is good for this metric.
fn verdict(comparison: &pb::Comparison, decrease: bool) -> String {
    if !comparison.significant || comparison.absolute_lift == 0.0 {
        return "–".to_owned();
    }
    let up = comparison.absolute_lift > 0.0;
    let arrow = if up { "▲" } else { "▼" };
    let good = if up != decrease { "better" } else { "worse" };
    format!("{arrow} significant, {good}")
}

/// A rate as a percentage, anything else as a number.
fn value(kind: pb::MetricKind, value: f64) -> String {
    match kind {
        pb::MetricKind::Conversion => format!("{:.2}%", value * 100.0),
        _ => number(value),
    }
}

/// A difference of rates in percentage points, anything else as a signed number.
fn lift(kind: pb::MetricKind, lift: f64) -> String {
    match kind {
        pb::MetricKind::Conversion => format!("{:+.2}pp", lift * 100.0),
        _ if lift >= 0.0 => format!("+{}", number(lift)),
        _ => number(lift),
    }
}

fn signed_percent(fraction: f64) -> String {
    format!("{:+.1}%", fraction * 100.0)
}

/// Four significant digits, without an exponent for everyday magnitudes.
fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 || magnitude == 0.0 {
        format!("{value:.3}")
    } else {
        let decimals = (3.0 - magnitude.log10().floor()).clamp(4.0, 12.0) as usize;
        format!("{value:.decimals$}")
    }
}

/// `0.0312`, or `<0.0001` where more digits would only suggest false precision.
fn p_value(p: f64) -> String {
    if p < 0.0001 { "<0.0001".to_owned() } else { format!("{p:.4}") }
}

/// PRIMARY first, then SECONDARY, then GUARDRAIL, then anything this client does not know.
fn role_rank(role: i32) -> u8 {
    match pb::MetricRole::try_from(role) {
        Ok(pb::MetricRole::Primary) => 0,
        Ok(pb::MetricRole::Secondary) => 1,
        Ok(pb::MetricRole::Guardrail) => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison(lift: f64, significant: bool) -> pb::Comparison {
        pb::Comparison {
            absolute_lift: lift,
            absolute_ci: Some(pb::Interval { low: lift - 0.01, high: lift + 0.01 }),
            relative_lift: Some(lift * 10.0),
            relative_ci: Some(pb::Interval { low: lift * 5.0, high: lift * 15.0 }),
            p_value: 0.00001,
            adjusted_p_value: 0.02,
            significant,
        }
    }

    #[test]
    fn the_verdict_follows_the_metric_direction() {
        assert_eq!(verdict(&comparison(0.04, true), false), "▲ significant, better");
        assert_eq!(verdict(&comparison(-0.04, true), false), "▼ significant, worse");
        assert_eq!(verdict(&comparison(-0.04, true), true), "▼ significant, better");
        assert_eq!(verdict(&comparison(0.04, true), true), "▲ significant, worse");
        assert_eq!(verdict(&comparison(0.04, false), false), "–");
    }

    #[test]
    fn rates_read_as_percentages_and_means_as_numbers() {
        let cells = comparison_cells(pb::MetricKind::Conversion, &comparison(0.04, true), false);
        assert_eq!(cells[0], "+4.00pp [+3.00pp, +5.00pp]");
        assert_eq!(cells[1], "+40.0% [+20.0%, +60.0%]");
        assert_eq!((cells[2].as_str(), cells[3].as_str()), ("<0.0001", "0.0200"));
        let mut undefined = comparison(0.5, false);
        undefined.relative_lift = None;
        undefined.relative_ci = None;
        let cells = comparison_cells(pb::MetricKind::Sum, &undefined, false);
        assert_eq!(cells[0], "+0.5000 [+0.4900, +0.5100]");
        assert_eq!(cells[1], "n/a");
        assert_eq!(value(pb::MetricKind::Conversion, 0.1), "10.00%");
        assert_eq!(value(pb::MetricKind::Mean, 1234.56), "1234.6");
        assert_eq!(value(pb::MetricKind::Mean, 0.001234), "0.001234");
    }

    #[test]
    fn primary_metrics_come_first() {
        let mut roles = [
            pb::MetricRole::Guardrail as i32,
            pb::MetricRole::Secondary as i32,
            pb::MetricRole::Primary as i32,
        ];
        roles.sort_by_key(|role| role_rank(*role));
        assert_eq!(role_name(roles[0]), "PRIMARY");
        assert_eq!(role_name(roles[2]), "GUARDRAIL");
    }

    #[test]
    fn a_broken_split_and_a_breached_guardrail_are_spelled_out() {
        let response = pb::GetResultsResponse {
            experiment_key: "ymal".into(),
            version: 3,
            phase: 2,
            phases: vec![
                pb::Phase { number: 1, reason: "start".into(), ..Default::default() },
                pb::Phase { number: 2, reason: "weights changed".into(), ..Default::default() },
            ],
            sample_ratio: Some(pb::SampleRatioCheck {
                chi_square: 40.0,
                p_value: 2e-10,
                mismatch: true,
            }),
            units_in_several_variants: 7,
            forced_exposures: 3,
            guardrails: vec![pb::GuardrailCheck {
                metric_key: "page_load_ms".into(),
                variant_key: "treatment".into(),
                max_relative_degradation: 0.05,
                action: pb::GuardrailAction::Pause as i32,
                breached: true,
                detail: "relative change +9.0% [+6.1%, +11.9%] beyond +5.0%".into(),
            }],
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut term =
            Term { format: crate::cli::OutputFormat::Table, out: &mut out, err: &mut err };
        print_results(&mut term, &response);
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("Phase:         2 of 2"), "{text}");
        assert!(text.contains("reason: weights changed"), "{text}");
        assert!(
            text.contains("MISMATCH: do not trust these results (chi-square 40.00, p <0.0001)"),
            "{text}"
        );
        assert!(text.contains("7 units in several variants, 3 forced exposures"), "{text}");
        let guardrail = text.lines().find(|line| line.starts_with("page_load_ms")).expect("row");
        for cell in ["treatment", "BREACHED", "PAUSE", "beyond +5.0%"] {
            assert!(guardrail.contains(cell), "{guardrail}");
        }
    }
}
