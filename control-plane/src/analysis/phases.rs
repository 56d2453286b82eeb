//! Phases: periods in which an experiment's traffic split was constant, derived from its
//! version history. Comparing units across a change of split would mix populations and
//! make the sample-ratio check meaningless, so results are computed per phase.

use time::OffsetDateTime;
use vary_proto::{
    assign::normalize_weights,
    model::{Experiment, Status},
};

/// One phase of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// 1-based.
    pub number: i32,
    /// The version that started it.
    pub start_version: i64,
    /// When that version was committed.
    pub start: OffsetDateTime,
    /// When the next phase started; `None` for the current one.
    pub end: Option<OffsetDateTime>,
    /// Why it started.
    pub reason: &'static str,
    /// The configuration of its first version (weights, layer range and salt are the
    /// same throughout the phase; the allocation may only have grown).
    pub experiment: Experiment,
}

/// Splits a history (versions in order, each with its commit time) into phases. The
/// first phase starts when the experiment first runs. A later version starts a new phase
/// when it changes the variants or their normalised weights, the layer or its range, or
/// the salt, or lowers the allocation: each of those moves units between variants or
/// out of the experiment. Raising the allocation only adds units (DESIGN §4 keeps every
/// enrolled unit in its variant), and pausing changes no split, so neither starts one.
pub fn phases(history: &[(Experiment, OffsetDateTime)]) -> Vec<Phase> {
    let mut phases: Vec<Phase> = Vec::new();
    let mut previous: Option<&Experiment> = None;
    for (version, committed_at) in history {
        let reason = match (phases.last(), previous) {
            (None, _) if version.status == Status::Running => Some("start"),
            (None, _) => None,
            (Some(_), Some(before)) => split_change(before, version),
            (Some(_), None) => None,
        };
        if let Some(reason) = reason {
            if let Some(current) = phases.last_mut() {
                current.end = Some(*committed_at);
            }
            phases.push(Phase {
                number: phases.len() as i32 + 1,
                start_version: version.version,
                start: *committed_at,
                end: None,
                reason,
                experiment: version.clone(),
            });
        }
        previous = Some(version);
    }
    phases
}

/// Why `after` splits traffic differently from `before`, if it does.
fn split_change(before: &Experiment, after: &Experiment) -> Option<&'static str> {
    if traffic_split(before) != traffic_split(after) {
        Some("weights changed")
    } else if before.spec.layer_range() != after.spec.layer_range() {
        Some("layer range changed")
    } else if before.spec.effective_salt(&before.key) != after.spec.effective_salt(&after.key) {
        Some("salt changed")
    } else if after.spec.allocation_bps < before.spec.allocation_bps {
        Some("allocation lowered")
    } else {
        None
    }
}

/// The variants in order with their normalised weights (50/50 and 1/1 are one split).
fn traffic_split(experiment: &Experiment) -> (Vec<&str>, Option<Vec<u32>>) {
    let keys = experiment.spec.variants.iter().map(|variant| variant.key.as_str()).collect();
    let weights: Vec<f64> = experiment.spec.variants.iter().map(|variant| variant.weight).collect();
    (keys, normalize_weights(&weights))
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use vary_proto::model::{ExperimentSpec, LayerPlacement, Variant};

    use super::*;

    fn version(
        number: i64,
        status: Status,
        edit: impl FnOnce(&mut ExperimentSpec),
    ) -> (Experiment, OffsetDateTime) {
        let variant = |key: &str, weight, control| Variant {
            key: key.into(),
            weight,
            control,
            params: Default::default(),
            description: String::new(),
        };
        let mut spec = ExperimentSpec {
            name: "x".into(),
            description: String::new(),
            hypothesis: String::new(),
            owner: "o".into(),
            salt: String::new(),
            layer: None,
            allocation_bps: 5_000,
            variants: vec![variant("control", 1.0, true), variant("treatment", 1.0, false)],
            placements: vec![],
            eligibility: vec![],
            schedule: Default::default(),
            overrides: Default::default(),
            metrics: vec![],
        };
        edit(&mut spec);
        let experiment = Experiment {
            key: "exp".into(),
            version: number,
            status,
            spec,
            rollout_variant_key: None,
        };
        (experiment, OffsetDateTime::UNIX_EPOCH + Duration::hours(number))
    }

    #[test]
    fn no_phase_before_the_experiment_runs() {
        assert!(phases(&[version(1, Status::Draft, |_| {})]).is_empty());
    }

    #[test]
    fn ramping_up_and_pausing_keep_the_phase_while_splits_start_new_ones() {
        let history = [
            version(1, Status::Draft, |_| {}),
            version(2, Status::Running, |_| {}),
            version(3, Status::Running, |s| s.allocation_bps = 8_000), // ramp up: same phase
            version(4, Status::Paused, |s| s.allocation_bps = 8_000),
            version(5, Status::Running, |s| s.allocation_bps = 8_000),
            version(6, Status::Running, |s| {
                s.allocation_bps = 8_000;
                s.variants[1].weight = 3.0;
            }),
            version(7, Status::Running, |s| {
                s.allocation_bps = 2_000;
                s.variants[1].weight = 3.0;
            }),
            version(8, Status::Running, |s| {
                s.allocation_bps = 2_000;
                s.variants[1].weight = 3.0;
                s.layer = Some(LayerPlacement { name: "pdp".into(), range: Default::default() });
            }),
        ];
        let found: Vec<(i32, i64, &str, bool)> = phases(&history)
            .iter()
            .map(|phase| (phase.number, phase.start_version, phase.reason, phase.end.is_some()))
            .collect();
        assert_eq!(
            found,
            [
                (1, 2, "start", true),
                (2, 6, "weights changed", true),
                (3, 7, "allocation lowered", true),
                (4, 8, "layer range changed", false),
            ]
        );
    }

    #[test]
    fn proportional_weights_are_the_same_split() {
        let history = [
            version(1, Status::Running, |_| {}),
            version(2, Status::Running, |s| {
                s.variants[0].weight = 50.0;
                s.variants[1].weight = 50.0;
            }),
        ];
        assert_eq!(phases(&history).len(), 1);
    }
}
