//! The normative hash and weight arithmetic of DESIGN section 4, which every client
//! library must reproduce bit for bit.
//!
//! - `bucket(purpose, salt, unit) = murmur3_x86_32(utf8(purpose + ":" + salt + ":" + unit), seed 0) mod 10000`,
//!   the hash read as an unsigned 32-bit integer (Python: `mmh3.hash(s, 0, signed=False)`).
//! - Weights become integer basis points summing to exactly 10000 by the largest-remainder
//!   method, with the floating-point steps spelled out in [`normalize_weights`].

use std::fmt;
use std::hash::Hasher as _;

use crate::model::BUCKETS;

/// Longest `purpose:salt:unit` string hashed from a stack buffer; longer ones are streamed
/// through the hasher instead, with the same result.
const STACK_KEY_LEN: usize = 512;

/// What a hash decides. Each purpose hashes a different string, so the layer, allocation
/// and variant decisions of one unit are independent of one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashPurpose {
    /// `bucket("layer", layer_name, unit)`: the unit's position in a mutual-exclusion layer.
    Layer,
    /// `bucket("alloc", salt, unit)`: whether the unit is inside the ramp.
    Alloc,
    /// `bucket("variant", salt, unit)`: which variant the unit gets.
    Variant,
}

/// A half-open range `[start, end)` of basis points owned by one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VariantRange {
    pub(crate) start: u16,
    pub(crate) end: u16,
}

/// Hashes many `purpose:salt:` prefixes against one unit id without allocating.
///
/// The unit id is copied once to the end of a stack buffer; each hash copies its
/// (pre-built) prefix right before it and hashes the contiguous tail. Keys longer than the
/// buffer are streamed through [`mur3::Hasher32`], which gives the same hash.
pub(crate) struct UnitHasher<'u> {
    unit: &'u str,
    buffer: [u8; STACK_KEY_LEN],
}

// === impl HashPurpose ===

impl HashPurpose {
    /// Every purpose.
    pub const ALL: [HashPurpose; 3] =
        [HashPurpose::Layer, HashPurpose::Alloc, HashPurpose::Variant];

    /// The string hashed in front of the salt: `layer`, `alloc` or `variant`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashPurpose::Layer => "layer",
            HashPurpose::Alloc => "alloc",
            HashPurpose::Variant => "variant",
        }
    }

    /// Parses [`HashPurpose::as_str`] output.
    pub fn parse(name: &str) -> Option<HashPurpose> {
        HashPurpose::ALL.into_iter().find(|purpose| purpose.as_str() == name)
    }

    /// The constant part of every key this purpose hashes under `salt`: `purpose:salt:`.
    pub(crate) fn key_prefix(self, salt: &str) -> Box<[u8]> {
        format!("{}:{salt}:", self.as_str()).into_bytes().into_boxed_slice()
    }
}

impl fmt::Display for HashPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unsigned MurmurHash3 x86_32 (seed 0) of `purpose:salt:unit` in UTF-8.
///
/// Exposed so tools and conformance tests can show the raw value behind a bucket.
pub fn murmur3_key_hash(purpose: HashPurpose, salt: &str, unit: &str) -> u32 {
    let mut hasher = mur3::Hasher32::with_seed(0);
    for part in [purpose.as_str(), ":", salt, ":", unit] {
        hasher.write(part.as_bytes());
    }
    hasher.finish32()
}

/// `murmur3_x86_32(utf8(purpose + ":" + salt + ":" + unit), seed 0) mod 10000`: the
/// normative bucket of DESIGN section 4, in `0..10000`.
///
/// ```
/// use vary_proto::assign::{HashPurpose, bucket};
///
/// assert_eq!(bucket(HashPurpose::Variant, "reco_ymal_v1", "u123"), 515);
/// assert_eq!(bucket(HashPurpose::Layer, "pdp", "u123"), 3703);
/// ```
pub fn bucket(purpose: HashPurpose, salt: &str, unit: &str) -> u32 {
    murmur3_key_hash(purpose, salt, unit) % BUCKETS
}

/// Basis points (summing to exactly 10000) for relative `weights`, by largest remainder.
///
/// Returns `None` when `weights` is empty, a weight is not a finite number `> 0`
/// (validation refuses both), or the weights are so large (around 1e304) that the sum or
/// `w * 10000` overflows to infinity. The arithmetic, in IEEE-754 binary64, is normative:
///
/// 1. `sum = ((w[0] + w[1]) + w[2]) + …`, added left to right in listed order;
/// 2. `quota[i] = (w[i] * 10000.0) / sum`, multiplication first, each step rounded to nearest;
/// 3. `points[i] = floor(quota[i])`, `remainder[i] = quota[i] - points[i]`;
/// 4. `left = 10000 - Σ points` (always `0..=n`); the `left` variants with the largest
///    remainder get one more point each, a tie going to the earlier variant.
///
/// A variant may end with 0 points (a weight tiny against the others) and then never
/// assigns.
///
/// ```
/// use vary_proto::assign::normalize_weights;
///
/// assert_eq!(normalize_weights(&[1.0, 1.0, 1.0]), Some(vec![3334, 3333, 3333]));
/// assert_eq!(normalize_weights(&[90.0, 10.0]), Some(vec![9000, 1000]));
/// ```
pub fn normalize_weights(weights: &[f64]) -> Option<Vec<u32>> {
    if weights.is_empty() || weights.iter().any(|weight| !(weight.is_finite() && *weight > 0.0)) {
        return None;
    }
    let total_buckets = f64::from(BUCKETS);
    let sum = weights.iter().fold(0.0_f64, |sum, weight| sum + weight);
    let quotas: Vec<f64> = weights.iter().map(|weight| weight * total_buckets / sum).collect();
    if !quotas.iter().all(|quota| quota.is_finite()) {
        return None;
    }
    // Quotas are in 0..=10000 (each weight is at most the sum), so the cast is exact.
    let mut points: Vec<u32> = quotas.iter().map(|quota| quota.floor() as u32).collect();
    let handed_out: u32 = points.iter().sum();
    // Σ floor(quota) <= Σ quota < 10001, so this does not underflow; and each floor is
    // within 1 of its quota, so at most `n` points are left.
    let left = BUCKETS.saturating_sub(handed_out) as usize;
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    // A stable sort on descending remainder keeps the earlier variant first on ties.
    by_remainder.sort_by(|&a, &b| {
        let remainder_a = quotas[a] - quotas[a].floor();
        let remainder_b = quotas[b] - quotas[b].floor();
        remainder_b.total_cmp(&remainder_a)
    });
    for &index in by_remainder.iter().take(left) {
        points[index] += 1;
    }
    // Holds by the bounds above; checked so no caller can ever see ranges with a gap.
    (points.iter().sum::<u32>() == BUCKETS).then_some(points)
}

/// Consecutive `[start, end)` ranges for basis points given in listed order.
pub(crate) fn cumulative_ranges(points: &[u32]) -> Vec<VariantRange> {
    let mut start = 0_u32;
    points
        .iter()
        .map(|&width| {
            let end = start + width;
            // Points sum to BUCKETS (10000), which fits in u16.
            let range = VariantRange { start: start as u16, end: end as u16 };
            start = end;
            range
        })
        .collect()
}

/// The index of the range holding `bucket`; ranges cover `0..10000` without gaps.
pub(crate) fn range_index(ranges: &[VariantRange], bucket: u16) -> Option<usize> {
    ranges.iter().position(|range| range.start <= bucket && bucket < range.end)
}

// === impl UnitHasher ===

impl<'u> UnitHasher<'u> {
    pub(crate) fn new(unit: &'u str) -> Self {
        let mut buffer = [0_u8; STACK_KEY_LEN];
        if unit.len() <= STACK_KEY_LEN {
            buffer[STACK_KEY_LEN - unit.len()..].copy_from_slice(unit.as_bytes());
        }
        Self { unit, buffer }
    }

    /// The bucket of `prefix + unit`, where `prefix` is a [`HashPurpose::key_prefix`].
    pub(crate) fn bucket(&mut self, prefix: &[u8]) -> u16 {
        let key_len = prefix.len() + self.unit.len();
        let hash = if key_len <= STACK_KEY_LEN {
            let key_start = STACK_KEY_LEN - key_len;
            self.buffer[key_start..key_start + prefix.len()].copy_from_slice(prefix);
            mur3::murmurhash3_x86_32(&self.buffer[key_start..], 0)
        } else {
            let mut hasher = mur3::Hasher32::with_seed(0);
            hasher.write(prefix);
            hasher.write(self.unit.as_bytes());
            hasher.finish32()
        };
        // BUCKETS is 10000, so the remainder fits in u16.
        (hash % BUCKETS) as u16
    }
}

impl fmt::Debug for UnitHasher<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnitHasher").field("unit", &self.unit).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_vectors_hold() {
        let cases = [
            (HashPurpose::Variant, "reco_ymal_v1", "u123", 515),
            (HashPurpose::Alloc, "reco_ymal_v1", "u123", 7604),
            (HashPurpose::Layer, "pdp", "u123", 3703),
            (HashPurpose::Variant, "reco_ymal_v1", "s456", 3813),
            (HashPurpose::Variant, "als-popgen-v1", "42", 3368),
            (HashPurpose::Variant, "reco_ymal_v1", "user-é", 6939),
            (HashPurpose::Alloc, "reco_ymal_v1", "ユーザー42", 4109),
        ];
        for (purpose, salt, unit, expected) in cases {
            assert_eq!(bucket(purpose, salt, unit), expected, "{purpose}:{salt}:{unit}");
        }
    }

    #[test]
    fn unit_hasher_agrees_with_bucket_for_short_and_long_keys() {
        let long_unit = "ü".repeat(400);
        let long_salt = "s".repeat(600);
        for unit in ["", "u123", "ユーザー42", long_unit.as_str()] {
            let mut hasher = UnitHasher::new(unit);
            for salt in ["", "reco_ymal_v1", long_salt.as_str()] {
                for purpose in HashPurpose::ALL {
                    let expected = bucket(purpose, salt, unit);
                    let got = hasher.bucket(&purpose.key_prefix(salt));
                    assert_eq!(u32::from(got), expected, "{purpose}:{salt}:{unit}");
                }
            }
        }
    }

    #[test]
    fn streamed_hash_equals_one_shot_hash() {
        let key = "variant:reco_ymal_v1:u123";
        assert_eq!(
            murmur3_key_hash(HashPurpose::Variant, "reco_ymal_v1", "u123"),
            mur3::murmurhash3_x86_32(key.as_bytes(), 0)
        );
    }

    #[test]
    fn equal_weights_give_the_extra_point_to_the_first_variant() {
        assert_eq!(normalize_weights(&[1.0, 1.0, 1.0]), Some(vec![3334, 3333, 3333]));
        assert_eq!(
            normalize_weights(&[1.0; 7]),
            Some(vec![1429, 1429, 1429, 1429, 1428, 1428, 1428])
        );
        assert_eq!(normalize_weights(&[80.0, 10.0, 10.0]), Some(vec![8000, 1000, 1000]));
    }

    #[test]
    fn largest_remainder_wins_the_spare_points() {
        // quotas 1666.67, 3333.33, 5000.0: the first has the largest remainder.
        assert_eq!(normalize_weights(&[1.0, 2.0, 3.0]), Some(vec![1667, 3333, 5000]));
        // A tiny weight can end with no points at all.
        assert_eq!(normalize_weights(&[1.0, 1e-9]), Some(vec![10000, 0]));
    }

    #[test]
    fn invalid_weights_are_refused() {
        assert_eq!(normalize_weights(&[]), None);
        assert_eq!(normalize_weights(&[1.0, 0.0]), None);
        assert_eq!(normalize_weights(&[1.0, -1.0]), None);
        assert_eq!(normalize_weights(&[1.0, f64::NAN]), None);
        assert_eq!(normalize_weights(&[1.0, f64::INFINITY]), None);
        assert_eq!(normalize_weights(&[1e308, 1e308]), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(10_000),
            ..proptest::test_runner::Config::default()
        })]

        #[test]
        fn normalised_points_always_sum_to_10000(
            weights in proptest::collection::vec(1e-12_f64..1e12, 1..100),
        ) {
            let points = normalize_weights(&weights).expect("finite positive weights");
            proptest::prop_assert_eq!(points.iter().sum::<u32>(), BUCKETS);
            // Each variant is within one point of its exact share.
            let sum: f64 = weights.iter().sum();
            for (weight, points) in weights.iter().zip(&points) {
                let share = weight * 10_000.0 / sum;
                proptest::prop_assert!((f64::from(*points) - share).abs() < 1.0 + 1e-6);
            }
        }
    }

    #[test]
    fn cumulative_ranges_cover_every_bucket_once() {
        let ranges = cumulative_ranges(&[3334, 3333, 3333]);
        assert_eq!(range_index(&ranges, 0), Some(0));
        assert_eq!(range_index(&ranges, 3333), Some(0));
        assert_eq!(range_index(&ranges, 3334), Some(1));
        assert_eq!(range_index(&ranges, 6667), Some(2));
        assert_eq!(range_index(&ranges, 9999), Some(2));
        let empty_middle = cumulative_ranges(&[5000, 0, 5000]);
        assert!((0..10_000).all(|bucket| range_index(&empty_middle, bucket) != Some(1)));
    }
}
