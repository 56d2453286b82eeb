//! Why a statistic could not be computed, worded for the person reading the results.

use std::fmt;

/// Which side of a two-sample comparison an input belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    /// The baseline variant every treatment is compared against.
    Control,
    /// The variant being compared against control.
    Treatment,
}

/// A statistic that cannot be computed from the data, and why.
///
/// Each message is meant to be shown as-is next to the missing number in the results.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotComputable {
    /// An arm has no exposed units, so it has no metric value.
    #[error("the {arm} variant has no exposed units yet")]
    NoUnits {
        /// The arm without units.
        arm: Arm,
    },
    /// An arm has units, but fewer than the test needs to estimate a variance.
    #[error("the {arm} variant has {units} exposed unit(s); this test needs at least {required}")]
    TooFewUnits {
        /// The arm with too few units.
        arm: Arm,
        /// How many units it has.
        units: u64,
        /// The minimum the test needs.
        required: u64,
    },
    /// Every unit has the same value in both arms (for example no conversions at all), so
    /// there is no variation to measure a difference against.
    #[error(
        "every unit has the same value in both variants (for example no conversions at all), \
         so there is no variation to test a difference against"
    )]
    ZeroVariance,
    /// The control value is zero, so a lift relative to it is undefined.
    #[error("the control value is zero, so a relative lift is undefined; see the absolute lift")]
    ZeroControlValue,
    /// A ratio metric's denominator totals zero in an arm (for example no impressions).
    #[error(
        "the {arm} variant's denominator totals zero (for example no impressions), so the ratio is undefined"
    )]
    ZeroDenominator {
        /// The arm whose denominator is zero.
        arm: Arm,
    },
    /// A sample reports more conversions than units.
    #[error("the {arm} variant reports {conversions} conversions from only {units} units")]
    ConversionsExceedUnits {
        /// The arm with the inconsistent counts.
        arm: Arm,
        /// Reported converted units.
        conversions: u64,
        /// Reported exposed units.
        units: u64,
    },
    /// A sample contains a sum that is NaN, infinite, or a negative sum of squares.
    #[error("the {arm} variant's metric sums are not valid numbers")]
    InvalidSums {
        /// The arm with the invalid sums.
        arm: Arm,
    },
    /// The confidence level is not strictly between 0 and 1.
    #[error("the confidence level {confidence} is not strictly between 0 and 1")]
    InvalidConfidence {
        /// The level that was asked for.
        confidence: f64,
    },
    /// The sample-ratio test got no exposed units at all.
    #[error("no units have been exposed yet, so the split cannot be checked")]
    NoExposures,
    /// The sample-ratio test needs one positive, finite weight per variant, and at least two
    /// variants.
    #[error(
        "the split check needs one positive weight per variant and at least two variants \
         (got {variants} unit counts and {weights} weights)"
    )]
    InvalidWeights {
        /// How many observed unit counts were given.
        variants: usize,
        /// How many weights were given.
        weights: usize,
    },
}

// === impl Arm ===

impl fmt::Display for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arm::Control => "control",
            Arm::Treatment => "treatment",
        })
    }
}
