//! Reconnect delays: exponential in the number of consecutive failed attempts, capped,
//! with "equal jitter" (half the delay fixed, half random) so a fleet that lost its
//! control plane at the same instant does not come back in lockstep.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher as _, Hasher as _},
    time::Duration,
};

/// Bounds of the reconnect delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay ceiling after a good session (no failures yet).
    pub min: Duration,
    /// The largest ceiling, however many attempts failed.
    pub max: Duration,
}

// === impl Backoff ===

impl Backoff {
    /// The ceiling for `failures` consecutive failed attempts: `min · 2^failures`, at most `max`.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.min(20);
        self.min.saturating_mul(factor).min(self.max)
    }

    /// A delay in `[ceiling/2, ceiling]`, drawn with `random`.
    pub fn delay_with(&self, failures: u32, random: u64) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(random % spread.saturating_add(1))
    }

    /// A delay in `[ceiling/2, ceiling]` with fresh randomness.
    pub fn delay(&self, failures: u32) -> Duration {
        self.delay_with(failures, random_u64())
    }
}

/// 64 random bits without a PRNG dependency: the standard library seeds every
/// `RandomState` from OS randomness (and varies it per instance).
fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff =
        Backoff { min: Duration::from_millis(100), max: Duration::from_secs(10) };

    #[test]
    fn the_ceiling_doubles_per_failure_up_to_the_max() {
        let ceilings: Vec<u128> = (0..10).map(|n| BACKOFF.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000]);
        assert_eq!(BACKOFF.ceiling(u32::MAX), Duration::from_secs(10), "no overflow");
    }

    #[test]
    fn delays_stay_between_half_the_ceiling_and_the_ceiling() {
        for failures in 0..12 {
            let ceiling = BACKOFF.ceiling(failures);
            for random in [0, 1, u64::MAX, u64::MAX / 3, 123_456_789] {
                let delay = BACKOFF.delay_with(failures, random);
                assert!(delay >= ceiling / 2 && delay <= ceiling, "{failures} {random}: {delay:?}");
            }
            let delay = BACKOFF.delay(failures);
            assert!(delay >= ceiling / 2 && delay <= ceiling, "{failures}: {delay:?}");
        }
    }

    #[test]
    fn fresh_delays_are_jittered() {
        let delays: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| BACKOFF.delay(5)).collect();
        assert!(delays.len() > 1, "20 draws gave one value: {delays:?}");
    }
}
