//! Absolute and relative lift with confidence intervals, shared by every two-sample test.

use super::samples::{Comparison, Estimate, Interval};

/// What a test contributes beyond the two arms' estimates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TestOutcome {
    /// Two-sided p-value of the test.
    pub(crate) p_value: f64,
    /// Critical value of the test's reference distribution at the confidence level
    /// (`z_{1−α/2}` or `t_{1−α/2, ν}`), used for both intervals.
    pub(crate) critical_value: f64,
}

/// Assembles a [`Comparison`] from independent per-arm estimates `(m_c, V_c)`, `(m_t, V_t)`,
/// where `V` is the variance of the estimate `m`.
///
/// - Absolute: `Δ = m_t − m_c`, `SE = √(V_c + V_t)`, CI `Δ ± q·SE`.
/// - Relative: `r = (m_t − m_c)/m_c`; by the delta method on the ratio of two independent
///   estimates (Kohavi, Tang & Xu 2020, §18 "Variance Estimation"; Deng et al. 2018, §3),
///   `Var(r) ≈ V_t/m_c² + m_t²·V_c/m_c⁴`, CI `r ± q·√Var(r)` (the formula GrowthBook's and
///   Eppo's frequentist engines publish). Undefined when `m_c = 0`: NaN, see
///   [`Comparison::relative`].
pub(crate) fn compare(control: Estimate, treatment: Estimate, outcome: TestOutcome) -> Comparison {
    let absolute_lift = treatment.value - control.value;
    let standard_error = (control.variance + treatment.variance).sqrt();
    let (relative_lift, relative_ci) =
        match relative_lift(control, treatment, outcome.critical_value) {
            Some((lift, ci)) => (lift, ci),
            None => (f64::NAN, Interval { low: f64::NAN, high: f64::NAN }),
        };
    Comparison {
        control_value: control.value,
        treatment_value: treatment.value,
        absolute_lift,
        absolute_ci: Interval::around(absolute_lift, outcome.critical_value * standard_error),
        relative_lift,
        relative_ci,
        p_value: outcome.p_value,
        standard_error,
    }
}

/// `(r, CI)`, or `None` when the control value is 0 and `r` is undefined.
fn relative_lift(
    control: Estimate,
    treatment: Estimate,
    critical_value: f64,
) -> Option<(f64, Interval)> {
    if control.value == 0.0 {
        return None;
    }
    let ratio = treatment.value / control.value;
    // V_t/m_c² + (m_t/m_c)²·V_c/m_c², written with the ratio to avoid forming m_c⁴.
    let variance =
        (treatment.variance + ratio * ratio * control.variance) / (control.value * control.value);
    // (m_t − m_c)/m_c rather than ratio − 1: no cancellation when the arms are close.
    let lift = (treatment.value - control.value) / control.value;
    Some((lift, Interval::around(lift, critical_value * variance.sqrt())))
}
