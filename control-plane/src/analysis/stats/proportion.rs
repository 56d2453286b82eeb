//! Two-proportion z-test for binary metrics (conversion, add-to-cart rate, bounce rate).

use super::distributions::{normal_critical_value, normal_two_sided_p};
use super::error::{Arm, NotComputable};
use super::lift::{TestOutcome, compare};
use super::samples::{Comparison, Estimate, ProportionSample};
use super::validate_confidence;

/// Compares two conversion rates with a two-sided two-proportion z-test.
///
/// With `p̂ = x/n` per arm and the pooled rate `p̄ = (x_c + x_t)/(n_c + n_t)`:
/// - p-value: `z = (p̂_t − p̂_c) / √(p̄(1 − p̄)(1/n_c + 1/n_t))`, `p = 2·(1 − Φ(|z|))`, the
///   pooled test of H₀: p_c = p_t (statsmodels `proportions_ztest`; Kohavi, Tang & Xu 2020,
///   §17);
/// - absolute CI: `Δ ± z_{1−α/2}·√(p̂_c(1 − p̂_c)/n_c + p̂_t(1 − p̂_t)/n_t)`, the unpooled
///   Wald interval (statsmodels `confint_proportions_2indep(method="wald")`), which is also
///   the reported `standard_error`;
/// - relative lift and CI: `(m_t − m_c)/m_c ± q·√(V_t/m_c² + m_t²·V_c/m_c⁴)` (delta
///   method, `lift.rs`), with `V = p̂(1 − p̂)/n` per arm.
///
/// Errors: an arm without units; more conversions than units; no variation at all (no
/// conversions in either arm, or every unit converted in both), where the pooled standard
/// error is 0. The relative lift is [`NotComputable::ZeroControlValue`] when control has no
/// conversions but treatment has some; the absolute result is still returned.
pub fn two_proportion_z_test(
    control: &ProportionSample,
    treatment: &ProportionSample,
    confidence: f64,
) -> Result<Comparison, NotComputable> {
    validate_confidence(confidence)?;
    control.validate(Arm::Control)?;
    treatment.validate(Arm::Treatment)?;
    let (control_units, treatment_units) = (control.units as f64, treatment.units as f64);
    let pooled_rate = (control.conversions as f64 + treatment.conversions as f64)
        / (control_units + treatment_units);
    let pooled_variance =
        pooled_rate * (1.0 - pooled_rate) * (1.0 / control_units + 1.0 / treatment_units);
    if pooled_variance <= 0.0 {
        return Err(NotComputable::ZeroVariance);
    }
    let control_estimate = rate_estimate(control);
    let treatment_estimate = rate_estimate(treatment);
    let z = (treatment_estimate.value - control_estimate.value) / pooled_variance.sqrt();
    let outcome = TestOutcome {
        p_value: normal_two_sided_p(z),
        critical_value: normal_critical_value(confidence),
    };
    Ok(compare(control_estimate, treatment_estimate, outcome))
}

/// `p̂` and `Var(p̂) = p̂(1 − p̂)/n`.
fn rate_estimate(sample: &ProportionSample) -> Estimate {
    let rate = sample.rate();
    Estimate { value: rate, variance: rate * (1.0 - rate) / sample.units as f64 }
}
