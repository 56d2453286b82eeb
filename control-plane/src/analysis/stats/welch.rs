//! Welch's unequal-variances t-test for per-unit means (revenue per unit, page load time).

use super::distributions::{t_critical_value, t_two_sided_p};
use super::error::{Arm, NotComputable};
use super::lift::{TestOutcome, compare};
use super::samples::{Comparison, Estimate, MeanSample};
use super::validate_confidence;

/// Compares two means with Welch's two-sided t-test.
///
/// Per arm `x̄ = Σx/n`, `s² = (Σx² − x̄Σx)/(n − 1)` and `V = s²/n`:
/// - `t = (x̄_t − x̄_c)/√(V_c + V_t)` with Welch–Satterthwaite degrees of freedom
///   `ν = (V_c + V_t)² / (V_c²/(n_c − 1) + V_t²/(n_t − 1))`, `p = 2·P(T_ν > |t|)`
///   (scipy `ttest_ind_from_stats(..., equal_var=False)`; Welch 1947);
/// - absolute CI: `Δ ± t_{1−α/2, ν}·√(V_c + V_t)`;
/// - relative lift and CI: `(m_t − m_c)/m_c ± q·√(V_t/m_c² + m_t²·V_c/m_c⁴)` (delta
///   method, `lift.rs`), with the same `t_{1−α/2, ν}`.
///
/// Errors: an arm with fewer than 2 units (the sample variance needs n − 1 ≥ 1); both
/// variances 0 (every unit has the same value). One arm with zero variance is fine.
/// The relative lift is [`NotComputable::ZeroControlValue`] when the control mean is 0.
pub fn welch_t_test(
    control: &MeanSample,
    treatment: &MeanSample,
    confidence: f64,
) -> Result<Comparison, NotComputable> {
    validate_confidence(confidence)?;
    control.validate(Arm::Control)?;
    treatment.validate(Arm::Treatment)?;
    let control_estimate = mean_estimate(control);
    let treatment_estimate = mean_estimate(treatment);
    let variance = control_estimate.variance + treatment_estimate.variance;
    if variance <= 0.0 {
        return Err(NotComputable::ZeroVariance);
    }
    let dof = welch_satterthwaite_dof(
        control_estimate.variance,
        control.n,
        treatment_estimate.variance,
        treatment.n,
    );
    let t = (treatment_estimate.value - control_estimate.value) / variance.sqrt();
    let outcome = TestOutcome {
        p_value: t_two_sided_p(t, dof),
        critical_value: t_critical_value(confidence, dof),
    };
    Ok(compare(control_estimate, treatment_estimate, outcome))
}

/// `ν = (V_c + V_t)² / (V_c²/(n_c − 1) + V_t²/(n_t − 1))` for variances of the means `V`.
fn welch_satterthwaite_dof(
    control_variance: f64,
    control_n: u64,
    treatment_variance: f64,
    treatment_n: u64,
) -> f64 {
    let total = control_variance + treatment_variance;
    let control_term = control_variance * control_variance / (control_n - 1) as f64;
    let treatment_term = treatment_variance * treatment_variance / (treatment_n - 1) as f64;
    total * total / (control_term + treatment_term)
}

/// `x̄` and `Var(x̄) = s²/n`.
fn mean_estimate(sample: &MeanSample) -> Estimate {
    let variance = sample.sample_variance() / sample.n as f64;
    Estimate { value: sample.mean(), variance }
}
