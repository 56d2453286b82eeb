//! Pure statistics for experiment results: two-sample tests with absolute and relative
//! lifts, Holm's multiple-comparison adjustment and the sample-ratio-mismatch check.
//!
//! Everything here is a pure function of per-arm sufficient statistics (counts and sums
//! that the database aggregates per unit): no I/O, no async, no clock. Distributions come
//! from `statrs` (see `distributions.rs` for where and why the large-ν Student's t is
//! computed by expansion). Formulas, conventions and edge cases: `docs/statistics.md`.

mod distributions;
mod error;
mod holm;
mod lift;
mod proportion;
mod ratio;
mod samples;
mod srm;
mod welch;

pub use error::{Arm, NotComputable};
pub use holm::holm_adjust;
pub use proportion::two_proportion_z_test;
pub use ratio::delta_method_ratio_test;
pub use samples::{Comparison, Interval, MeanSample, ProportionSample, RatioSample};
pub use srm::{SRM_ALERT_P_VALUE, SampleRatioTest, sample_ratio_test};
pub use welch::welch_t_test;

/// The confidence level results use unless a caller asks otherwise: 95 %.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

fn validate_confidence(confidence: f64) -> Result<(), NotComputable> {
    if confidence > 0.0 && confidence < 1.0 {
        return Ok(());
    }
    Err(NotComputable::InvalidConfidence { confidence })
}

#[cfg(test)]
mod tests;
