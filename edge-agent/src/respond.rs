//! Engine results → `vary.v1` responses. The `Explain` detail sentence is the engine's
//! own rendering of each outcome (`Display for Outcome`), so every client sees the same words.

use std::time::Duration;

use vary_proto::{
    assign::{Assignment, Explanation, Outcome, Reason, UnitType},
    pb,
};

/// The `Assign` response for an evaluation's parts (taken apart so this module does not
/// depend on the result type's lifetimes); `staleness` is `None` only before any snapshot.
/// The agent writes the same answer from bytes ([`crate::encoded`]); this message form is
/// for library users and the reference those bytes are tested against.
pub fn assign_response(
    revision: i64,
    unit: UnitType,
    assignments: &[Assignment<'_>],
    staleness: Option<Duration>,
) -> pb::AssignResponse {
    pb::AssignResponse {
        assignments: assignments.iter().map(assignment).collect(),
        revision,
        staleness: staleness.map(duration),
        unit_type: unit_type(unit) as i32,
    }
}

/// The `Explain` response for an explanation's parts.
pub fn explain_response(
    revision: i64,
    unit: UnitType,
    experiments: &[Explanation<'_>],
) -> pb::ExplainResponse {
    pb::ExplainResponse {
        experiments: experiments.iter().map(explanation).collect(),
        revision,
        unit_type: unit_type(unit) as i32,
    }
}

fn assignment(assignment: &Assignment<'_>) -> pb::Assignment {
    pb::Assignment {
        experiment_key: assignment.experiment_key.to_owned(),
        version: assignment.version,
        variant_key: assignment.variant_key.to_owned(),
        params: Some(prost_types::Struct::clone(assignment.params)),
        reason: reason(assignment.reason) as i32,
        layer: assignment.layer.unwrap_or_default().to_owned(),
        forced: assignment.forced,
    }
}

fn explanation(entry: &Explanation<'_>) -> pb::ExperimentExplanation {
    let (variant_bucket, alloc_bucket, layer_bucket) = match &entry.outcome {
        Outcome::Assigned { variant_bucket, alloc_bucket, layer_bucket, .. } => {
            (Some(*variant_bucket), Some(*alloc_bucket), *layer_bucket)
        }
        Outcome::OutsideAllocation { bucket, .. } => (None, Some(*bucket), None),
        Outcome::OutsideLayerRange { bucket, .. } => (None, None, Some(*bucket)),
        _ => (None, None, None),
    };
    pb::ExperimentExplanation {
        experiment_key: entry.experiment_key.to_owned(),
        version: entry.version,
        outcome: outcome_kind(&entry.outcome) as i32,
        variant_key: entry.outcome.variant_key().unwrap_or_default().to_owned(),
        detail: entry.outcome.to_string(),
        status: pb::ExperimentStatus::from(entry.status) as i32,
        variant_bucket: variant_bucket.map(u32::from),
        alloc_bucket: alloc_bucket.map(u32::from),
        layer_bucket: layer_bucket.map(u32::from),
    }
}

fn outcome_kind(outcome: &Outcome<'_>) -> pb::ExplanationOutcome {
    use pb::ExplanationOutcome as Kind;
    match outcome {
        Outcome::NoUnit => Kind::NoUnit,
        Outcome::NotInPlacement { .. } => Kind::NotInPlacement,
        Outcome::Override { .. } => Kind::Override,
        Outcome::NotEligible { .. } => Kind::NotEligible,
        Outcome::NotRunning { .. } => Kind::NotRunning,
        Outcome::OutsideSchedule { .. } => Kind::OutsideSchedule,
        Outcome::OutsideLayerRange { .. } => Kind::OutsideLayerRange,
        Outcome::OutsideAllocation { .. } => Kind::OutsideAllocation,
        Outcome::Assigned { .. } => Kind::Assigned,
        Outcome::Rollout { .. } => Kind::Rollout,
    }
}

pub(crate) fn unit_type(unit_type: UnitType) -> pb::UnitType {
    match unit_type {
        UnitType::User => pb::UnitType::User,
        UnitType::Session => pb::UnitType::Session,
        UnitType::None => pb::UnitType::Unspecified,
    }
}

pub(crate) fn reason(reason: Reason) -> pb::AssignmentReason {
    match reason {
        Reason::Hash => pb::AssignmentReason::Hash,
        Reason::Override => pb::AssignmentReason::Override,
        Reason::Rollout => pb::AssignmentReason::Rollout,
    }
}

pub(crate) fn duration(elapsed: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
        nanos: elapsed.subsec_nanos() as i32,
    }
}
