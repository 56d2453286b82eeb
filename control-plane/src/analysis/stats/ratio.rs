//! Delta-method z-test for ratio metrics whose analysis unit (impression, session) differs
//! from the randomisation unit (user), such as CTR = clicks / impressions.

use super::distributions::{normal_critical_value, normal_two_sided_p};
use super::error::{Arm, NotComputable};
use super::lift::{TestOutcome, compare};
use super::samples::{
    Comparison, Estimate, ROUNDING_NOISE, RatioSample, sample_covariance, sample_variance,
};
use super::validate_confidence;

/// Compares two ratio metrics `R = Σx/Σy` with a two-sided z-test on delta-method variances.
///
/// Impressions of one user are correlated, so treating them as independent understates the
/// variance; the delta method works on per-user sums instead (Deng, Knoblich & Lu 2018,
/// "Applying the Delta Method in Metric Analytics", §2–3; Kohavi, Tang & Xu 2020, §18).
/// Per arm, with `n` users, `x̄ = Σx/n`, `ȳ = Σy/n`, `R = x̄/ȳ` and the unbiased sample
/// (co)variances `s_x²`, `s_y²`, `s_xy` (numpy `cov(ddof=1)`):
/// `Var(R) ≈ (s_x² − 2R·s_xy + R²·s_y²) / (n·ȳ²)`.
/// - `z = (R_t − R_c)/√(Var(R_c) + Var(R_t))`, `p = 2·(1 − Φ(|z|))`;
/// - absolute CI: `Δ ± z_{1−α/2}·√(Var(R_c) + Var(R_t))`;
/// - relative lift and CI: `(m_t − m_c)/m_c ± q·√(V_t/m_c² + m_t²·V_c/m_c⁴)` (delta
///   method, `lift.rs`), with `V = Var(R)` per arm.
///
/// Errors: an arm with fewer than 2 users; a denominator totalling 0 in an arm; no
/// variation in either arm (every user has the same ratio). The relative lift is
/// [`NotComputable::ZeroControlValue`] when the control ratio is 0.
pub fn delta_method_ratio_test(
    control: &RatioSample,
    treatment: &RatioSample,
    confidence: f64,
) -> Result<Comparison, NotComputable> {
    validate_confidence(confidence)?;
    control.validate(Arm::Control)?;
    treatment.validate(Arm::Treatment)?;
    let control_estimate = ratio_estimate(control);
    let treatment_estimate = ratio_estimate(treatment);
    let variance = control_estimate.variance + treatment_estimate.variance;
    if variance <= 0.0 {
        return Err(NotComputable::ZeroVariance);
    }
    let z = (treatment_estimate.value - control_estimate.value) / variance.sqrt();
    let outcome = TestOutcome {
        p_value: normal_two_sided_p(z),
        critical_value: normal_critical_value(confidence),
    };
    Ok(compare(control_estimate, treatment_estimate, outcome))
}

/// `R = Σx/Σy` and its delta-method variance; exactly 0 when, within rounding, every unit
/// has the same ratio.
fn ratio_estimate(sample: &RatioSample) -> Estimate {
    let n = sample.units;
    let ratio = sample.numerator_sum / sample.denominator_sum;
    let denominator_mean = sample.denominator_sum / n as f64;
    let numerator_variance =
        sample_variance(n, sample.numerator_sum, sample.numerator_sum_of_squares);
    let denominator_variance =
        sample_variance(n, sample.denominator_sum, sample.denominator_sum_of_squares);
    let covariance =
        sample_covariance(n, sample.numerator_sum, sample.denominator_sum, sample.cross_sum);
    let scale = numerator_variance + ratio * ratio * denominator_variance;
    let spread = scale - 2.0 * ratio * covariance;
    // Within rounding of the terms it cancels from, the spread is "no variation at all".
    let spread = if spread <= ROUNDING_NOISE * scale { 0.0 } else { spread };
    let variance = spread / (n as f64 * denominator_mean * denominator_mean);
    Estimate { value: ratio, variance }
}
