//! The string sets `eq`, `neq`, `in` and `not_in` test against, built for the hot path:
//! values of up to 15 bytes are packed with their length into one `u128` and compared
//! as integers (no `memcmp` call per candidate), longer ones are binary-searched.

/// Longest value packed into a `u128`; the sixteenth byte holds the length.
const PACKED_MAX_LEN: usize = 15;

/// An immutable set of operand strings with exact (byte-wise) membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueSet {
    /// Packed short values, sorted.
    short: Box<[u128]>,
    /// Values longer than [`PACKED_MAX_LEN`] bytes, sorted.
    long: Box<[Box<str>]>,
}

/// `value`'s bytes and length in one integer, if it is short enough. Two strings pack to
/// the same integer exactly when they are equal: the padding is zero and the length
/// byte tells `"a"` from `"a\0"`.
fn pack(value: &str) -> Option<u128> {
    let bytes = value.as_bytes();
    if bytes.len() > PACKED_MAX_LEN {
        return None;
    }
    let mut buffer = [0_u8; 16];
    buffer[..bytes.len()].copy_from_slice(bytes);
    buffer[PACKED_MAX_LEN] = bytes.len() as u8;
    Some(u128::from_le_bytes(buffer))
}

// === impl ValueSet ===

impl ValueSet {
    pub(crate) fn new<'v>(values: impl IntoIterator<Item = &'v str>) -> Self {
        let mut short = Vec::new();
        let mut long: Vec<Box<str>> = Vec::new();
        for value in values {
            match pack(value) {
                Some(packed) => short.push(packed),
                None => long.push(value.into()),
            }
        }
        short.sort_unstable();
        short.dedup();
        long.sort_unstable();
        long.dedup();
        Self { short: short.into_boxed_slice(), long: long.into_boxed_slice() }
    }

    pub(crate) fn contains(&self, value: &str) -> bool {
        match pack(value) {
            Some(packed) => self.short.binary_search(&packed).is_ok(),
            None => self.long.binary_search_by(|candidate| (**candidate).cmp(value)).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn membership_is_exact_for_short_and_long_values() {
        let long = "a-rather-long-segment-name";
        let set = ValueSet::new(["DE", "", "a", long, "ü"]);
        for member in ["DE", "", "a", long, "ü"] {
            assert!(set.contains(member), "{member:?}");
        }
        for other in ["de", "D", "DE ", "a\0", "a-rather-long-segment-nam", "u"] {
            assert!(!set.contains(other), "{other:?}");
        }
    }

    proptest! {
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(15),
            ..proptest::test_runner::Config::default()
        })]

        #[test]
        fn contains_agrees_with_a_linear_scan(
            values in proptest::collection::vec("\\PC{0,20}", 0..12),
            probe in "\\PC{0,20}",
            pick in any::<prop::sample::Index>(),
        ) {
            let set = ValueSet::new(values.iter().map(String::as_str));
            prop_assert_eq!(set.contains(&probe), values.contains(&probe));
            if !values.is_empty() {
                prop_assert!(set.contains(&values[pick.index(values.len())]));
            }
        }
    }
}
