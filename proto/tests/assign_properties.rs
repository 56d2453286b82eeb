//! Statistical and property tests of the assignment engine (issue 3): determinism,
//! variant shares against weights, ramp stability, layer exclusivity and independence,
//! salt reshuffling. Fixed seeds throughout: the same units on every run.

mod support;

use proptest::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use support::{compile, in_layer, now, proptest_config, running, units, variant_of};
use vary_proto::assign::{AssignRequest, Context};

/// Significance level of every chi-square test: pass when p > 0.001.
const ALPHA: f64 = 0.001;
const UNITS: usize = 100_000;

/// Upper-tail p-value of Pearson's chi-square goodness of fit.
fn goodness_of_fit_p(observed: &[u64], expected_shares: &[f64]) -> f64 {
    let total: u64 = observed.iter().sum();
    let statistic: f64 = observed
        .iter()
        .zip(expected_shares)
        .map(|(&count, share)| {
            let expected = share * total as f64;
            (count as f64 - expected).powi(2) / expected
        })
        .sum();
    let degrees_of_freedom = (observed.len() - 1) as f64;
    let distribution = ChiSquared::new(degrees_of_freedom).expect("at least 1 degree of freedom");
    1.0 - distribution.cdf(statistic)
}

/// p-value of Pearson's chi-square test of independence on a 2x2 table.
fn independence_p(table: [[u64; 2]; 2]) -> f64 {
    let total: u64 = table.iter().flatten().sum();
    let rows = [table[0][0] + table[0][1], table[1][0] + table[1][1]];
    let columns = [table[0][0] + table[1][0], table[0][1] + table[1][1]];
    let mut statistic = 0.0;
    for row in 0..2 {
        for column in 0..2 {
            let expected = rows[row] as f64 * columns[column] as f64 / total as f64;
            statistic += (table[row][column] as f64 - expected).powi(2) / expected;
        }
    }
    1.0 - ChiSquared::new(1.0).expect("1 degree of freedom").cdf(statistic)
}

fn observed_variant_counts(weights: &[f64], seed: u64) -> Vec<u64> {
    let compiled = compile(vec![running("share_test", weights)]);
    let mut counts = vec![0_u64; weights.len()];
    let mut request = AssignRequest {
        context: Context { placement: "pdp".into(), ..Context::default() },
        ..AssignRequest::default()
    };
    for unit in units(seed, UNITS) {
        request.user_id = unit;
        let result = compiled.evaluate(&request, now());
        let variant = result.assignments[0].variant_key;
        let index: usize = variant[1..].parse().expect("variants are named v<index>");
        counts[index] += 1;
    }
    counts
}

fn assert_shares_match(weights: &[f64], seed: u64) {
    let counts = observed_variant_counts(weights, seed);
    let total_weight: f64 = weights.iter().sum();
    let shares: Vec<f64> = weights.iter().map(|weight| weight / total_weight).collect();
    let p = goodness_of_fit_p(&counts, &shares);
    assert!(p > ALPHA, "weights {weights:?}: counts {counts:?}, p = {p:.6}");
}

#[test]
fn variant_shares_match_50_50() {
    assert_shares_match(&[50.0, 50.0], 1);
}

#[test]
fn variant_shares_match_90_10() {
    assert_shares_match(&[90.0, 10.0], 2);
}

#[test]
fn variant_shares_match_80_10_10() {
    assert_shares_match(&[80.0, 10.0, 10.0], 3);
}

#[test]
fn chi_square_test_detects_a_share_off_by_one_point() {
    // The power check: the same 100,000 units judged against 51/49 must fail, so a
    // passing share test above means something.
    let counts = observed_variant_counts(&[50.0, 50.0], 1);
    let p = goodness_of_fit_p(&counts, &[0.51, 0.49]);
    assert!(p < ALPHA, "counts {counts:?} were not told apart from 51/49: p = {p}");
}

#[test]
fn experiments_in_different_layers_are_independent() {
    let compiled = compile(vec![
        in_layer(running("left", &[1.0, 1.0]), "layer_one", 0, 5_000),
        in_layer(running("right", &[1.0, 1.0]), "layer_two", 0, 3_000),
    ]);
    let mut table = [[0_u64; 2]; 2];
    let mut request = support::user_request("", "pdp");
    for unit in units(4, UNITS) {
        request.user_id = unit;
        let result = compiled.evaluate(&request, now());
        let has = |key: &str| result.assignments.iter().any(|a| a.experiment_key == key);
        table[usize::from(has("left"))][usize::from(has("right"))] += 1;
    }
    let p = independence_p(table);
    assert!(p > ALPHA, "enrolment table {table:?}: p = {p:.6}");
    // And the marginals are the layer ranges: 50% and 30%.
    let left = (table[1][0] + table[1][1]) as f64 / UNITS as f64;
    let right = (table[0][1] + table[1][1]) as f64 / UNITS as f64;
    assert!((left - 0.5).abs() < 0.01 && (right - 0.3).abs() < 0.01, "{left} {right}");
}

#[test]
fn changing_the_salt_reshuffles_variants() {
    let mut salted = running("reshuffle", &[1.0, 1.0]);
    let before = compile(vec![salted.clone()]);
    salted.spec.salt = "reshuffle-v2".into();
    let after = compile(vec![salted]);
    let mut table = [[0_u64; 2]; 2];
    for unit in units(5, 20_000) {
        let old = variant_of(&before, "reshuffle", &unit).expect("everyone is enrolled");
        let new = variant_of(&after, "reshuffle", &unit).expect("everyone is enrolled");
        table[usize::from(old == "v1")][usize::from(new == "v1")] += 1;
    }
    // Independent of the old assignment: about half of each old variant moves.
    let p = independence_p(table);
    assert!(p > ALPHA, "variants before/after the salt change are correlated: {table:?}, p = {p}");
    let moved = table[0][1] + table[1][0];
    assert!((9_000..11_000).contains(&moved), "{moved} of 20000 units changed variant");
}

proptest! {
    #![proptest_config(proptest_config(256))]

    #[test]
    fn assignment_is_deterministic(
        user_id in "\\PC{0,40}",
        session_id in "[a-z0-9]{0,12}",
        placement in prop::sample::select(vec!["pdp", "home", "search", ""]),
    ) {
        let experiments = vec![
            running("alpha", &[1.0, 2.0, 3.0]),
            in_layer(running("beta", &[1.0, 1.0]), "pdp", 0, 6_000),
            in_layer(running("gamma", &[9.0, 1.0]), "pdp", 6_000, 10_000),
        ];
        let first = compile(experiments.clone());
        let second = compile(experiments);
        let request = AssignRequest {
            user_id,
            session_id,
            context: Context { placement: placement.into(), ..Context::default() },
            ..AssignRequest::default()
        };
        let once = first.evaluate(&request, now());
        prop_assert_eq!(&once, &first.evaluate(&request, now()));
        prop_assert_eq!(&once, &second.evaluate(&request, now()));
        prop_assert_eq!(first.explain(&request, now()), second.explain(&request, now()));
    }

    #[test]
    fn raising_the_allocation_never_moves_an_enrolled_unit(
        unit in "[a-zA-Z0-9é-]{1,24}",
        low in 0_u32..=10_000,
        raise in 0_u32..=10_000,
        weights in prop::collection::vec(0.1_f64..10.0, 2..5),
    ) {
        let high = low.saturating_add(raise).min(10_000);
        let mut experiment = running("ramp", &weights);
        experiment.spec.allocation_bps = low;
        let before = variant_of(&compile(vec![experiment.clone()]), "ramp", &unit);
        experiment.spec.allocation_bps = high;
        let after = variant_of(&compile(vec![experiment]), "ramp", &unit);
        if let Some(variant) = before {
            prop_assert_eq!(Some(variant), after, "allocation {} -> {}", low, high);
        }
    }

    #[test]
    fn two_experiments_in_one_layer_never_both_assign(
        unit in "\\PC{1,30}",
        split in 1_u32..10_000,
        gap in 0_u32..500,
        allocations in (0_u32..=10_000, 0_u32..=10_000),
    ) {
        let second_start = (split + gap).min(9_999);
        let mut first = in_layer(running("first", &[1.0, 1.0]), "shared", 0, split);
        let mut second = in_layer(running("second", &[1.0, 1.0]), "shared", second_start, 10_000);
        first.spec.allocation_bps = allocations.0;
        second.spec.allocation_bps = allocations.1;
        let compiled = compile(vec![first, second]);
        let request = support::user_request(&unit, "pdp");
        let assigned = compiled.evaluate(&request, now()).assignments;
        prop_assert!(assigned.len() <= 1, "{:?}", assigned);
        if gap == 0 && allocations == (10_000, 10_000) {
            // Ranges that tile the layer at full allocation enrol everyone exactly once.
            prop_assert_eq!(assigned.len(), 1);
        }
    }
}
