//! Properties that hold for any input, checked on seeded random samples; reference values
//! are in `tests/stats_fixtures.rs`.

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::distributions::{t_critical_value, t_two_sided_p};
use super::samples::sample_variance;
use super::*;

const CASES: usize = 300;

fn random_proportion(rng: &mut StdRng) -> ProportionSample {
    let units = rng.random_range(1..2_000_000_u64);
    let rate = rng.random_range(0.0..0.2);
    ProportionSample { units, conversions: (units as f64 * rate) as u64 }
}

fn random_mean(rng: &mut StdRng) -> MeanSample {
    let n = rng.random_range(2..500);
    let values: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1.0_f64).powi(4) * 500.0).collect();
    MeanSample::from_values(&values)
}

fn random_ratio(rng: &mut StdRng) -> RatioSample {
    let users = rng.random_range(2..500);
    let pairs: Vec<(f64, f64)> = (0..users)
        .map(|_| {
            let impressions = f64::from(rng.random_range(1..40_u32));
            (f64::from(rng.random_range(0..=(impressions as u32) / 4)), impressions)
        })
        .collect();
    RatioSample::from_pairs(&pairs)
}

/// Runs `test` on random pairs, skipping the pairs it cannot compute.
fn comparisons<S>(
    sample: fn(&mut StdRng) -> S,
    test: fn(&S, &S, f64) -> Result<Comparison, NotComputable>,
    mut check: impl FnMut(&S, &S, &Comparison),
) {
    let mut rng = StdRng::seed_from_u64(6);
    let mut checked = 0;
    for _ in 0..CASES {
        let (control, treatment) = (sample(&mut rng), sample(&mut rng));
        if let Ok(comparison) = test(&control, &treatment, DEFAULT_CONFIDENCE) {
            check(&control, &treatment, &comparison);
            checked += 1;
        }
    }
    assert!(checked > CASES / 2, "only {checked} computable cases");
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 1e-12 * expected.abs().max(1e-300),
        "{what}: {actual} vs {expected}"
    );
}

fn assert_well_formed(comparison: &Comparison) {
    assert!((0.0..=1.0).contains(&comparison.p_value), "p = {}", comparison.p_value);
    assert!(comparison.absolute_ci.contains(comparison.absolute_lift), "{comparison:?}");
    if let Ok((lift, ci)) = comparison.relative() {
        assert!(ci.contains(lift), "{comparison:?}");
    }
    assert!(comparison.standard_error >= 0.0);
}

fn assert_swapping_arms_negates_the_lift<S>(
    sample: fn(&mut StdRng) -> S,
    test: fn(&S, &S, f64) -> Result<Comparison, NotComputable>,
) {
    comparisons(sample, test, |control, treatment, forward| {
        assert_well_formed(forward);
        let backward = test(treatment, control, DEFAULT_CONFIDENCE).expect("computable both ways");
        assert_close(backward.absolute_lift, -forward.absolute_lift, "lift");
        assert_close(backward.absolute_ci.low, -forward.absolute_ci.high, "ci low");
        assert_close(backward.absolute_ci.high, -forward.absolute_ci.low, "ci high");
        assert_close(backward.p_value, forward.p_value, "p");
        assert_close(backward.standard_error, forward.standard_error, "standard error");
    });
}

#[test]
fn swapping_arms_negates_the_lift_and_keeps_p() {
    assert_swapping_arms_negates_the_lift(random_proportion, two_proportion_z_test);
    assert_swapping_arms_negates_the_lift(random_mean, welch_t_test);
    assert_swapping_arms_negates_the_lift(random_ratio, delta_method_ratio_test);
}

#[test]
fn higher_confidence_gives_wider_intervals() {
    let control = ProportionSample { units: 40_000, conversions: 2_000 };
    let treatment = ProportionSample { units: 40_000, conversions: 2_150 };
    let widths: Vec<f64> = [0.8, 0.9, 0.95, 0.99]
        .iter()
        .map(|&confidence| {
            let comparison =
                two_proportion_z_test(&control, &treatment, confidence).expect("computable");
            comparison.absolute_ci.high - comparison.absolute_ci.low
        })
        .collect();
    assert!(widths.windows(2).all(|pair| pair[0] < pair[1]), "{widths:?}");
}

#[test]
fn zero_control_value_keeps_the_absolute_result() {
    let control = ProportionSample { units: 1_000, conversions: 0 };
    let treatment = ProportionSample { units: 1_000, conversions: 5 };
    let comparison =
        two_proportion_z_test(&control, &treatment, DEFAULT_CONFIDENCE).expect("computable");
    assert_eq!(comparison.relative(), Err(NotComputable::ZeroControlValue));
    assert!((comparison.absolute_lift - 0.005).abs() < 1e-15);
    assert!(comparison.p_value < 0.05);
}

#[test]
fn errors_name_the_arm_and_read_as_sentences() {
    let empty = ProportionSample { units: 0, conversions: 0 };
    let some = ProportionSample { units: 10, conversions: 1 };
    let error = two_proportion_z_test(&some, &empty, DEFAULT_CONFIDENCE).expect_err("no units");
    assert_eq!(error, NotComputable::NoUnits { arm: Arm::Treatment });
    assert_eq!(error.to_string(), "the treatment variant has no exposed units yet");
    let one = MeanSample { n: 1, sum: 3.0, sum_of_squares: 9.0 };
    let error = welch_t_test(&one, &one, DEFAULT_CONFIDENCE).expect_err("one unit");
    assert_eq!(
        error.to_string(),
        "the control variant has 1 exposed unit(s); this test needs at least 2"
    );
}

#[test]
fn huge_samples_stay_finite_and_precise() {
    let control = ProportionSample { units: 4_000_000_000_000, conversions: 200_000_000_000 };
    let treatment = ProportionSample { units: 4_000_000_000_000, conversions: 200_000_400_000 };
    let comparison =
        two_proportion_z_test(&control, &treatment, DEFAULT_CONFIDENCE).expect("computable");
    assert_well_formed(&comparison);
    // Each rate is rounded to 1e-16 relative, so their difference to ~1e-10 relative.
    assert!((comparison.absolute_lift - 1e-7).abs() < 1e-9 * 1e-7, "{comparison:?}");
    let constant = MeanSample { n: 1_000_000_000, sum: 7.5e9, sum_of_squares: 5.625e10 };
    assert_eq!(
        welch_t_test(&constant, &constant, DEFAULT_CONFIDENCE),
        Err(NotComputable::ZeroVariance)
    );
}

#[test]
fn constant_values_have_exactly_zero_variance() {
    for value in [0.0, 0.1, 3.7, 1234.5678, 1e9] {
        let sample = MeanSample::from_values(&vec![value; 1_001]);
        assert_eq!(sample_variance(sample.n, sample.sum, sample.sum_of_squares), 0.0, "{value}");
    }
}

#[test]
fn t_distribution_is_continuous_across_the_expansion_thresholds() {
    for t in [0.5, 1.96, 3.0, 5.0] {
        let below = t_two_sided_p(t, 2e5 * (1.0 - 1e-12));
        let above = t_two_sided_p(t, 2e5);
        assert!((below - above).abs() <= 2e-9 * above, "t = {t}: {below} vs {above}");
    }
    for confidence in [0.8, 0.95, 0.999] {
        let below = t_critical_value(confidence, 1e4 * (1.0 - 1e-12));
        let above = t_critical_value(confidence, 1e4);
        assert!((below - above).abs() <= 1e-10 * above, "{confidence}: {below} vs {above}");
    }
}

#[test]
fn holm_never_lowers_p_values_and_keeps_their_order() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..CASES {
        let p_values: Vec<f64> =
            (0..rng.random_range(1..10)).map(|_| rng.random_range(0.0..0.3)).collect();
        let adjusted = holm_adjust(&p_values);
        for (i, (&raw, &adj)) in p_values.iter().zip(&adjusted).enumerate() {
            assert!(raw <= adj && adj <= 1.0, "{p_values:?} -> {adjusted:?}");
            for (j, &other) in p_values.iter().enumerate() {
                if raw <= other {
                    assert!(adj <= adjusted[j], "order broken at {i}, {j}: {adjusted:?}");
                }
            }
        }
    }
    assert_eq!(holm_adjust(&[0.03]), vec![0.03]);
    assert!(holm_adjust(&[]).is_empty());
    let with_nan = holm_adjust(&[0.01, f64::NAN, 0.02]);
    assert!(with_nan[1].is_nan() && with_nan[0] == 0.02 && with_nan[2] == 0.02, "{with_nan:?}");
}

#[test]
fn sample_ratio_test_depends_only_on_weight_proportions() {
    let exact = sample_ratio_test(&[500, 500], &[50.0, 50.0]).expect("computable");
    assert_eq!((exact.chi_square, exact.p_value), (0.0, 1.0));
    let percent = sample_ratio_test(&[1_020, 8_980], &[10.0, 90.0]).expect("computable");
    let fraction = sample_ratio_test(&[1_020, 8_980], &[0.1, 0.9]).expect("computable");
    assert_close(fraction.chi_square, percent.chi_square, "chi square");
    assert!((0.0..=1.0).contains(&percent.p_value));
}
