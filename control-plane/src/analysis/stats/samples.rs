//! Per-arm sufficient statistics, as aggregated per unit by the database, and the
//! results the tests return.
//!
//! Every test works from sums over units, never from raw events, so the database can do
//! the heavy aggregation and the statistics stay O(1) per arm.

use super::error::{Arm, NotComputable};

/// A binary metric in one arm: how many exposed units converted.
///
/// Example: add-to-cart rate = units with ≥ 1 add-to-cart after first exposure / exposed units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProportionSample {
    /// Exposed units (the denominator of the rate).
    pub units: u64,
    /// Exposed units that converted; at most `units`.
    pub conversions: u64,
}

/// A per-unit continuous metric in one arm, as its sufficient statistics.
///
/// With per-unit values `x_i`, `i = 1..n`: `sum = Σ x_i`, `sum_of_squares = Σ x_i²`.
/// Example: revenue per unit, page load time per unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSample {
    /// Units contributing a value.
    pub n: u64,
    /// `Σ x_i`.
    pub sum: f64,
    /// `Σ x_i²`.
    pub sum_of_squares: f64,
}

/// A ratio metric whose analysis unit differs from the randomisation unit, in one arm.
///
/// Each randomisation unit `i` contributes a numerator `x_i` (e.g. clicks) and a
/// denominator `y_i` (e.g. impressions); the metric is `Σ x_i / Σ y_i` (e.g. CTR).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioSample {
    /// Randomisation units (users), not analysis units (impressions).
    pub units: u64,
    /// `Σ x_i`.
    pub numerator_sum: f64,
    /// `Σ y_i`.
    pub denominator_sum: f64,
    /// `Σ x_i²`.
    pub numerator_sum_of_squares: f64,
    /// `Σ y_i²`.
    pub denominator_sum_of_squares: f64,
    /// `Σ x_i·y_i`.
    pub cross_sum: f64,
}

/// A two-sided confidence interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Treatment against control for one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The metric in control (rate, mean or ratio).
    pub control_value: f64,
    /// The metric in treatment.
    pub treatment_value: f64,
    /// `treatment_value − control_value`.
    pub absolute_lift: f64,
    /// Confidence interval for `absolute_lift`.
    pub absolute_ci: Interval,
    /// `(treatment_value − control_value) / control_value`; 0.05 means +5 %. NaN when the
    /// control value is 0 (undefined); [`Comparison::relative`] says so as an error.
    pub relative_lift: f64,
    /// Delta-method confidence interval for `relative_lift` (see `lift.rs`); NaN bounds
    /// when the control value is 0.
    pub relative_ci: Interval,
    /// Two-sided p-value for "no difference".
    pub p_value: f64,
    /// Standard error of `absolute_lift` used for `absolute_ci` (for the two-proportion
    /// test this is the unpooled one; its p-value uses the pooled one).
    pub standard_error: f64,
}

/// A metric's point estimate in one arm and the variance of that estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    pub(crate) value: f64,
    pub(crate) variance: f64,
}

// === impl Comparison ===

impl Comparison {
    /// The relative lift and its interval, or why they are undefined
    /// ([`NotComputable::ZeroControlValue`] when the control value is 0).
    pub fn relative(&self) -> Result<(f64, Interval), NotComputable> {
        if self.relative_lift.is_nan() {
            return Err(NotComputable::ZeroControlValue);
        }
        Ok((self.relative_lift, self.relative_ci))
    }
}

// === impl Interval ===

impl Interval {
    /// `center ± half_width`.
    pub fn around(center: f64, half_width: f64) -> Self {
        Self { low: center - half_width, high: center + half_width }
    }

    /// Whether `value` lies in `[low, high]`.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

// === impl MeanSample ===

impl MeanSample {
    /// Builds the sufficient statistics from per-unit values (for tests and small samples;
    /// production sums come from the database).
    pub fn from_values(values: &[f64]) -> Self {
        Self {
            n: values.len() as u64,
            sum: values.iter().sum(),
            sum_of_squares: values.iter().map(|value| value * value).sum(),
        }
    }

    pub(crate) fn validate(&self, arm: Arm) -> Result<(), NotComputable> {
        if !self.sum.is_finite() || !self.sum_of_squares.is_finite() || self.sum_of_squares < 0.0 {
            return Err(NotComputable::InvalidSums { arm });
        }
        require_units(arm, self.n, 2)
    }

    /// The sample mean `x̄ = Σ x_i / n`.
    pub(crate) fn mean(&self) -> f64 {
        self.sum / self.n as f64
    }

    /// The unbiased sample variance `s² = (Σ x_i² − x̄ Σ x_i) / (n − 1)` (see
    /// [`sample_variance`]). Requires `n ≥ 2`.
    pub(crate) fn sample_variance(&self) -> f64 {
        sample_variance(self.n, self.sum, self.sum_of_squares)
    }
}

// === impl RatioSample ===

impl RatioSample {
    /// Builds the sufficient statistics from per-unit `(numerator, denominator)` pairs.
    pub fn from_pairs(pairs: &[(f64, f64)]) -> Self {
        Self {
            units: pairs.len() as u64,
            numerator_sum: pairs.iter().map(|(x, _)| x).sum(),
            denominator_sum: pairs.iter().map(|(_, y)| y).sum(),
            numerator_sum_of_squares: pairs.iter().map(|(x, _)| x * x).sum(),
            denominator_sum_of_squares: pairs.iter().map(|(_, y)| y * y).sum(),
            cross_sum: pairs.iter().map(|(x, y)| x * y).sum(),
        }
    }

    pub(crate) fn validate(&self, arm: Arm) -> Result<(), NotComputable> {
        let sums = [
            self.numerator_sum,
            self.denominator_sum,
            self.numerator_sum_of_squares,
            self.denominator_sum_of_squares,
            self.cross_sum,
        ];
        if sums.iter().any(|sum| !sum.is_finite())
            || self.numerator_sum_of_squares < 0.0
            || self.denominator_sum_of_squares < 0.0
        {
            return Err(NotComputable::InvalidSums { arm });
        }
        require_units(arm, self.units, 2)?;
        if self.denominator_sum == 0.0 {
            return Err(NotComputable::ZeroDenominator { arm });
        }
        Ok(())
    }
}

// === impl ProportionSample ===

impl ProportionSample {
    pub(crate) fn validate(&self, arm: Arm) -> Result<(), NotComputable> {
        if self.conversions > self.units {
            return Err(NotComputable::ConversionsExceedUnits {
                arm,
                conversions: self.conversions,
                units: self.units,
            });
        }
        require_units(arm, self.units, 1)
    }

    /// The conversion rate `p̂ = conversions / units`.
    pub(crate) fn rate(&self) -> f64 {
        self.conversions as f64 / self.units as f64
    }
}

/// Relative size below which a centred sum of squares is taken to be rounding noise of
/// floating-point sums over many units (a naive sum of n terms is only good to about n·ε
/// relative in the worst case, √n·ε typically: 7e-12 for n = 1e9).
pub(crate) const ROUNDING_NOISE: f64 = 1e-9;

/// The unbiased sample covariance of `x` and `y` from sums over `n ≥ 2` units:
/// `s_xy = (Σ x_i y_i − x̄ Σ y_i) / (n − 1)`, with `x̄ = Σ x_i / n`; with `x = y` it is the
/// sample variance (numpy `cov(ddof=1)`).
///
/// The subtraction loses about `log10(1 + x̄ȳ / s_xy)` digits, and nothing better is possible
/// from sums; for the metrics we analyse (coefficients of variation above ~0.01) that leaves
/// more than 11 significant digits. The product is fused (`mul_add`), so it adds no rounding
/// of its own.
pub(crate) fn sample_covariance(n: u64, sum_x: f64, sum_y: f64, sum_xy: f64) -> f64 {
    let mean_x = sum_x / n as f64;
    (-mean_x).mul_add(sum_y, sum_xy) / (n - 1) as f64
}

/// The unbiased sample variance from `n ≥ 2`, `Σx` and `Σx²` ([`sample_covariance`] with
/// `y = x`), never negative.
///
/// A result within [`ROUNDING_NOISE`] of the sum of squares (a coefficient of variation
/// below ~3e-5) is indistinguishable from "every value equal" once the sums have been
/// accumulated in floating point, and is returned as exactly 0, so constant metrics are
/// reported as having no variation rather than as a huge t statistic over rounding noise.
pub(crate) fn sample_variance(n: u64, sum: f64, sum_of_squares: f64) -> f64 {
    let mean = sum / n as f64;
    let centred = (-mean).mul_add(sum, sum_of_squares);
    if centred <= ROUNDING_NOISE * sum_of_squares {
        return 0.0;
    }
    centred / (n - 1) as f64
}

fn require_units(arm: Arm, units: u64, required: u64) -> Result<(), NotComputable> {
    match units {
        0 => Err(NotComputable::NoUnits { arm }),
        units if units < required => Err(NotComputable::TooFewUnits { arm, units, required }),
        _ => Ok(()),
    }
}
