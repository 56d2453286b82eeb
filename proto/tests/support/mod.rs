//! Builders shared by the assignment test binaries.

#![allow(dead_code, unreachable_pub)]

use proptest::test_runner::{Config, RngSeed};
use time::OffsetDateTime;
use vary_proto::assign::{AssignRequest, CompiledSnapshot, Context};
use vary_proto::model::{
    BucketRange, Experiment, ExperimentSpec, LayerPlacement, Snapshot, Status, Variant,
};

/// 2026-06-01T12:00:00Z.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_780_315_200).expect("a 2026 timestamp is in range")
}

/// Fixed seed, no regression files: the same cases on every run, so never flaky.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5eed_0a55_1960),
        ..Config::default()
    }
}

/// A running experiment open to everyone, with variants of the given weights
/// (`v0` is the control).
pub fn running(key: &str, weights: &[f64]) -> Experiment {
    let variants = weights
        .iter()
        .enumerate()
        .map(|(index, weight)| Variant {
            key: format!("v{index}"),
            weight: *weight,
            control: index == 0,
            params: serde_json::json!({ "arm": index }).as_object().cloned().unwrap_or_default(),
            description: String::new(),
        })
        .collect();
    Experiment {
        key: key.to_owned(),
        version: 1,
        status: Status::Running,
        rollout_variant_key: None,
        spec: ExperimentSpec {
            name: key.to_owned(),
            description: String::new(),
            hypothesis: String::new(),
            owner: "tests".into(),
            salt: String::new(),
            layer: None,
            allocation_bps: 10_000,
            variants,
            placements: vec![],
            eligibility: vec![],
            schedule: Default::default(),
            overrides: Default::default(),
            metrics: vec![],
        },
    }
}

/// The experiment placed in `layer` at `[start, end)`.
pub fn in_layer(mut experiment: Experiment, layer: &str, start: u32, end: u32) -> Experiment {
    experiment.spec.layer =
        Some(LayerPlacement { name: layer.into(), range: BucketRange { start, end } });
    experiment
}

/// Validates and compiles.
pub fn compile(experiments: Vec<Experiment>) -> CompiledSnapshot {
    let snapshot = Snapshot { revision: 1, experiments };
    snapshot.validate().expect("test snapshots are valid");
    CompiledSnapshot::compile(&snapshot).expect("a valid snapshot compiles")
}

/// A request for `user_id` on `placement`.
pub fn user_request(user_id: &str, placement: &str) -> AssignRequest {
    AssignRequest {
        user_id: user_id.to_owned(),
        context: Context { placement: placement.to_owned(), ..Context::default() },
        ..AssignRequest::default()
    }
}

/// The variant `experiment_key` assigned `user_id`, if any.
pub fn variant_of(
    compiled: &CompiledSnapshot,
    experiment_key: &str,
    user_id: &str,
) -> Option<String> {
    let request = user_request(user_id, "pdp");
    compiled
        .evaluate(&request, now())
        .assignments
        .iter()
        .find(|assignment| assignment.experiment_key == experiment_key)
        .map(|assignment| assignment.variant_key.to_owned())
}

/// Deterministic pseudo-random unit ids (SplitMix64 over a seed), so the statistical
/// tests see the same units on every run.
pub fn units(seed: u64, count: usize) -> impl Iterator<Item = String> {
    let mut state = seed;
    (0..count).map(move |_| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        format!("user-{mixed:016x}")
    })
}
