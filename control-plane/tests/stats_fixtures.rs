//! Compares `analysis::stats` with reference values from scipy / statsmodels
//! (`tests/fixtures/stats/generate.py`, see the README there) to 1e-9 relative.
//!
//! Every failing number is reported with its case and field, and all failures of a test are
//! collected before it fails. Where the reference value is exactly 0 (an absolute lift of
//! equal arms, a p-value that underflowed) a relative tolerance is meaningless, so those
//! values must be within 1e-15 of 0 instead; no other value gets an absolute floor.

use std::sync::LazyLock;

use serde_json::Value;
use vary_control_plane::analysis::stats::{
    Comparison, MeanSample, NotComputable, ProportionSample, RatioSample, SRM_ALERT_P_VALUE,
    delta_method_ratio_test, holm_adjust, sample_ratio_test, two_proportion_z_test, welch_t_test,
};

const RELATIVE_TOLERANCE: f64 = 1e-9;
const ZERO_FLOOR: f64 = 1e-15;

static CASES: LazyLock<Value> = LazyLock::new(|| {
    let text = include_str!("fixtures/stats/cases.json");
    serde_json::from_str(text).expect("cases.json is valid JSON")
});

#[test]
fn two_proportion_z_test_matches_statsmodels() {
    check_comparisons("two_proportion_z_test", |case| {
        let arm = |key: &str| ProportionSample {
            units: case[key]["units"].as_u64().expect("units"),
            conversions: case[key]["conversions"].as_u64().expect("conversions"),
        };
        two_proportion_z_test(&arm("control"), &arm("treatment"), number(&case["confidence"]))
    });
}

#[test]
fn welch_t_test_matches_scipy() {
    check_comparisons("welch_t_test", |case| {
        let arm = |key: &str| MeanSample {
            n: case[key]["n"].as_u64().expect("n"),
            sum: number(&case[key]["sum"]),
            sum_of_squares: number(&case[key]["sum_of_squares"]),
        };
        welch_t_test(&arm("control"), &arm("treatment"), number(&case["confidence"]))
    });
}

#[test]
fn delta_method_ratio_test_matches_numpy_delta_method() {
    check_comparisons("delta_method_ratio_test", |case| {
        let arm = |key: &str| RatioSample {
            units: case[key]["units"].as_u64().expect("units"),
            numerator_sum: number(&case[key]["numerator_sum"]),
            denominator_sum: number(&case[key]["denominator_sum"]),
            numerator_sum_of_squares: number(&case[key]["numerator_sum_of_squares"]),
            denominator_sum_of_squares: number(&case[key]["denominator_sum_of_squares"]),
            cross_sum: number(&case[key]["cross_sum"]),
        };
        delta_method_ratio_test(&arm("control"), &arm("treatment"), number(&case["confidence"]))
    });
}

#[test]
fn holm_adjust_matches_statsmodels_multipletests() {
    let mut failures = Vec::new();
    for case in cases("holm") {
        let name = case["name"].as_str().expect("name");
        let p_values: Vec<f64> = numbers(&case["p_values"]);
        let expected: Vec<f64> = numbers(&case["expected"]);
        let actual = holm_adjust(&p_values);
        if actual.len() != expected.len() {
            failures.push(format!(
                "{name}: {} adjusted values, expected {}",
                actual.len(),
                expected.len()
            ));
            continue;
        }
        for (index, (actual, expected)) in actual.iter().zip(&expected).enumerate() {
            compare(&mut failures, name, &format!("adjusted[{index}]"), *actual, *expected);
        }
    }
    assert_no_failures("holm", &failures);
}

#[test]
fn sample_ratio_test_matches_scipy_chisquare() {
    let mut failures = Vec::new();
    for case in cases("sample_ratio_test") {
        let name = case["name"].as_str().expect("name");
        let observed: Vec<u64> = case["observed"]
            .as_array()
            .expect("observed")
            .iter()
            .map(|v| v.as_u64().expect("count"))
            .collect();
        let weights = numbers(&case["weights"]);
        let result = sample_ratio_test(&observed, &weights);
        let test = match (result, case.get("error")) {
            (Err(error), Some(expected)) => {
                check_error(&mut failures, name, &error, expected);
                continue;
            }
            (Ok(test), None) => test,
            (Err(error), None) => {
                failures.push(format!("{name}: unexpected error {error:?}"));
                continue;
            }
            (Ok(test), Some(expected)) => {
                failures.push(format!("{name}: expected error {expected}, got {test:?}"));
                continue;
            }
        };
        let expected = &case["expected"];
        compare(
            &mut failures,
            name,
            "chi_square",
            test.chi_square,
            number(&expected["chi_square"]),
        );
        compare(&mut failures, name, "p_value", test.p_value, number(&expected["p_value"]));
        if Some(test.degrees_of_freedom) != expected["degrees_of_freedom"].as_u64() {
            failures.push(format!("{name}: degrees_of_freedom {}", test.degrees_of_freedom));
        }
        if let Some(flagged) = case.get("flagged").and_then(Value::as_bool)
            && (test.p_value < SRM_ALERT_P_VALUE) != flagged
        {
            failures.push(format!("{name}: p = {} should be flagged: {flagged}", test.p_value));
        }
    }
    assert_no_failures("sample_ratio_test", &failures);
}

fn check_comparisons(test: &str, run: impl Fn(&Value) -> Result<Comparison, NotComputable>) {
    let mut failures = Vec::new();
    let all = cases(test);
    assert!(all.len() > 10, "{test}: only {} cases", all.len());
    for case in all {
        let name = case["name"].as_str().expect("name");
        match (run(case), case.get("error")) {
            (Err(error), Some(expected)) => check_error(&mut failures, name, &error, expected),
            (Ok(comparison), None) => {
                check_comparison(&mut failures, name, &comparison, &case["expected"])
            }
            (Err(error), None) => failures.push(format!("{name}: unexpected error {error:?}")),
            (Ok(comparison), Some(expected)) => {
                failures.push(format!("{name}: expected error {expected}, got {comparison:?}"))
            }
        }
    }
    assert_no_failures(test, &failures);
}

fn check_comparison(failures: &mut Vec<String>, name: &str, actual: &Comparison, expected: &Value) {
    let fields = [
        ("control_value", actual.control_value),
        ("treatment_value", actual.treatment_value),
        ("absolute_lift", actual.absolute_lift),
        ("absolute_ci_low", actual.absolute_ci.low),
        ("absolute_ci_high", actual.absolute_ci.high),
        ("p_value", actual.p_value),
        ("standard_error", actual.standard_error),
    ];
    for (field, value) in fields {
        compare(failures, name, field, value, number(&expected[field]));
    }
    match (actual.relative(), expected["relative_lift"].is_null()) {
        (Ok((lift, ci)), false) => {
            compare(failures, name, "relative_lift", lift, number(&expected["relative_lift"]));
            compare(
                failures,
                name,
                "relative_ci_low",
                ci.low,
                number(&expected["relative_ci_low"]),
            );
            compare(
                failures,
                name,
                "relative_ci_high",
                ci.high,
                number(&expected["relative_ci_high"]),
            );
        }
        (Err(NotComputable::ZeroControlValue), true) => {}
        (relative, _) => failures
            .push(format!("{name}: relative {relative:?}, expected {}", expected["relative_lift"])),
    }
}

/// The variant name of the error (`NoUnits` from `NoUnits { arm: Control }`).
fn check_error(failures: &mut Vec<String>, name: &str, error: &NotComputable, expected: &Value) {
    let debug = format!("{error:?}");
    let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
    if Some(variant) != expected.as_str() {
        failures.push(format!("{name}: error {debug}, expected {expected}"));
    }
}

fn compare(failures: &mut Vec<String>, name: &str, field: &str, actual: f64, expected: f64) {
    let ok = if expected == 0.0 {
        actual.abs() <= ZERO_FLOOR
    } else {
        (actual - expected).abs() <= RELATIVE_TOLERANCE * expected.abs()
    };
    if !ok {
        let relative = ((actual - expected) / expected).abs();
        failures.push(format!(
            "{name}.{field}: {actual:e}, expected {expected:e} (relative error {relative:e})"
        ));
    }
}

fn assert_no_failures(test: &str, failures: &[String]) {
    assert!(failures.is_empty(), "{test}: {} mismatches:\n{}", failures.len(), failures.join("\n"));
}

fn cases(test: &str) -> &'static [Value] {
    CASES[test].as_array().unwrap_or_else(|| panic!("cases.json has no {test}"))
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("not a number: {value}"))
}

fn numbers(value: &Value) -> Vec<f64> {
    value.as_array().expect("array").iter().map(number).collect()
}
