//! Sample-ratio-mismatch check: do the exposed units match the configured split?

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::error::NotComputable;

/// Pearson's chi-square goodness-of-fit test of observed units per variant against the
/// configured weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRatioTest {
    /// `Σ (O_i − E_i)² / E_i`.
    pub chi_square: f64,
    /// Variants − 1.
    pub degrees_of_freedom: u64,
    /// `P(χ²_{k−1} ≥ chi_square)`. Callers flag a mismatch below
    /// [`SRM_ALERT_P_VALUE`].
    pub p_value: f64,
}

/// The p-value below which a sample ratio mismatch is flagged (DESIGN.md §7; Kohavi, Tang &
/// Xu 2020, §21 recommend a strict threshold because an SRM invalidates every other result).
pub const SRM_ALERT_P_VALUE: f64 = 0.001;

/// Tests whether units split across variants as configured.
///
/// With `N = Σ O_i` and expected counts `E_i = N·w_i/Σw`:
/// `χ² = Σ (O_i − E_i)²/E_i` on `k − 1` degrees of freedom, `p = P(χ²_{k−1} ≥ χ²)` (Pearson
/// 1900; scipy `chisquare(f_obs, f_exp)`; Kohavi, Tang & Xu 2020, §21 "Sample Ratio
/// Mismatch"). Weights need not sum to 1 or 100; only their proportions matter.
///
/// Errors: fewer than two variants, a count/weight length mismatch, a weight that is not
/// positive and finite (leave variants with weight 0 out), or no units at all.
pub fn sample_ratio_test(
    observed_units: &[u64],
    expected_weights: &[f64],
) -> Result<SampleRatioTest, NotComputable> {
    let variants = observed_units.len();
    let weights_valid = expected_weights.iter().all(|weight| weight.is_finite() && *weight > 0.0);
    if variants < 2 || variants != expected_weights.len() || !weights_valid {
        return Err(NotComputable::InvalidWeights { variants, weights: expected_weights.len() });
    }
    let total_units: f64 = observed_units.iter().map(|&units| units as f64).sum();
    if total_units == 0.0 {
        return Err(NotComputable::NoExposures);
    }
    let total_weight: f64 = expected_weights.iter().sum();
    let chi_square: f64 = observed_units
        .iter()
        .zip(expected_weights)
        .map(|(&observed, weight)| {
            let expected = total_units * (weight / total_weight);
            let deviation = observed as f64 - expected;
            deviation * deviation / expected
        })
        .sum();
    let degrees_of_freedom = (variants - 1) as u64;
    let distribution = ChiSquared::new(degrees_of_freedom as f64)
        .expect("degrees of freedom are at least 1, checked above");
    Ok(SampleRatioTest { chi_square, degrees_of_freedom, p_value: distribution.sf(chi_square) })
}
