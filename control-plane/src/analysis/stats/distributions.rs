//! Tail probabilities and quantiles of the normal and Student's t distributions, from
//! `statrs`, with the large-degrees-of-freedom t computed where `statrs` is not precise.
//!
//! `statrs` 0.19's Student's t loses precision as the degrees of freedom grow (its
//! incomplete beta subtracts `ln Γ` values of order `ν ln ν`): against scipy (Boost) its
//! upper tail is off by 8e-11 relative at ν = 1e5, 4e-10 at 1e6 and 2e-8 at 1e7, and its
//! quantile by 3e-6 at ν = 1e5 (and by 1e-8 at ν = 1e4 for an 80 % interval, which Newton
//! steps on the tail fix); at ν = 1e8 it did not return within minutes. Welch tests on
//! large experiments routinely have ν in the millions, so above the thresholds below we use
//! the classical asymptotic expansions of the t distribution around the normal (Fisher
//! 1925; Abramowitz & Stegun 26.7.5), evaluated on `statrs`'s normal distribution. Their
//! truncation error is O(ν⁻³) and grows with |t|: for the tail at ν = 2e5 it is below 1e-13
//! relative for |t| ≤ 3, 5e-11 at |t| = 5 and 2e-8 at |t| = 8 (where p ≈ 1e-15, so the
//! absolute error is below 1e-22); the quantile at ν = 1e4 is within 2e-11 up to 99.9 %.
//! The fixtures check both sides of each threshold against scipy.

use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

/// From this many degrees of freedom on, the t tail uses the expansion, not `statrs`.
const T_TAIL_EXPANSION_FROM_DOF: f64 = 2e5;
/// From this many degrees of freedom on, the t quantile uses the expansion, not `statrs`.
const T_QUANTILE_EXPANSION_FROM_DOF: f64 = 1e4;

/// Two-sided p-value of a z statistic: `2·(1 − Φ(|z|))`, computed from the upper tail so
/// that tiny p-values keep their relative precision (scipy `2 * norm.sf(abs(z))`).
pub(crate) fn normal_two_sided_p(z: f64) -> f64 {
    (2.0 * standard_normal().sf(z.abs())).min(1.0)
}

/// The two-sided critical value `z_{1−α/2} = Φ⁻¹(1 − α/2)` for `confidence = 1 − α`
/// (scipy `norm.ppf(1 - alpha / 2)`); 1.959963984540054 for 0.95.
pub(crate) fn normal_critical_value(confidence: f64) -> f64 {
    let alpha = 1.0 - confidence;
    // By symmetry, −Φ⁻¹(α/2): α/2 is exact in floating point, 1 − α/2 is not.
    -standard_normal().inverse_cdf(alpha / 2.0)
}

/// Two-sided p-value of a t statistic with `dof` degrees of freedom: `2·P(T_ν > |t|)`
/// (scipy `2 * t.sf(abs(t), dof)`).
///
/// For ν ≥ 2e5, with error O(ν⁻³),
/// `P(T_ν > t) = Q(t) + φ(t)·[(t³ + t)/(4ν) + (3t⁷ − 7t⁵ − 5t³ − 3t)/(96ν²)]`
/// with `Q` the normal upper tail and `φ` its density (Fisher 1925, "Expansion of Student's
/// integral in powers of n⁻¹"; the ν⁻² coefficients checked against mpmath).
pub(crate) fn t_two_sided_p(t: f64, dof: f64) -> f64 {
    let t = t.abs();
    let upper_tail = if dof >= T_TAIL_EXPANSION_FROM_DOF {
        let normal = standard_normal();
        let (t3, t5, t7) = (t.powi(3), t.powi(5), t.powi(7));
        let first_order = (t3 + t) / (4.0 * dof);
        let second_order = (3.0 * t7 - 7.0 * t5 - 5.0 * t3 - 3.0 * t) / (96.0 * dof * dof);
        normal.sf(t) + normal.pdf(t) * (first_order + second_order)
    } else {
        students_t(dof).sf(t)
    };
    (2.0 * upper_tail).min(1.0)
}

/// The two-sided critical value `t_{1−α/2, ν}` for `confidence = 1 − α` (scipy
/// `t.ppf(1 - alpha / 2, dof)`).
///
/// For ν ≥ 1e4, `t = z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²) + O(ν⁻³)` with `z` the
/// normal critical value (Abramowitz & Stegun 26.7.5, the Cornish–Fisher expansion).
pub(crate) fn t_critical_value(confidence: f64, dof: f64) -> f64 {
    if dof >= T_QUANTILE_EXPANSION_FROM_DOF {
        let z = normal_critical_value(confidence);
        let (z3, z5) = (z.powi(3), z.powi(5));
        return z + (z3 + z) / (4.0 * dof) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * dof * dof);
    }
    let upper_tail = (1.0 - confidence) / 2.0;
    let distribution = students_t(dof);
    // statrs's inverse is only good to ~1e-8 relative in places (ν ≈ 1e4, 80 %); its tail
    // is good to ~1e-12 for ν < 1e4, so polish the root of P(T > t) = α/2 with Newton steps
    // (quadratic convergence: two or three steps from ~1e-8).
    let mut critical_value = -distribution.inverse_cdf(upper_tail);
    for _ in 0..4 {
        let step =
            (distribution.sf(critical_value) - upper_tail) / distribution.pdf(critical_value);
        critical_value += step;
        if step.abs() <= 1e-15 * critical_value.abs() {
            break;
        }
    }
    critical_value
}

fn standard_normal() -> Normal {
    Normal::standard()
}

fn students_t(dof: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, dof)
        .expect("callers pass a finite dof ≥ 1: Welch–Satterthwaite of variances not both zero")
}
