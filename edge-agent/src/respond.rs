//! Engine results → `vary.v1` responses, including the human sentence `Explain` gives for
//! each decision.

use std::{collections::HashMap, time::Duration};

use vary_proto::{
    assign::{Assignment, Assignments, Explanation, Explanations, Outcome, Reason, UnitType},
    model::{Operator, Status},
    pb,
};

/// The `Assign` response for `result`; `staleness` is `None` only before any snapshot.
pub fn assign_response(
    result: &Assignments<'_>,
    staleness: Option<Duration>,
) -> pb::AssignResponse {
    pb::AssignResponse {
        assignments: result.assignments.iter().map(assignment).collect(),
        revision: result.revision,
        staleness: staleness.map(duration),
        unit_type: unit_type(result.unit.unit_type) as i32,
    }
}

/// The `Explain` response for `explained`; `statuses` gives each experiment's status.
pub fn explain_response(
    explained: &Explanations<'_>,
    statuses: &HashMap<Box<str>, Status>,
) -> pb::ExplainResponse {
    pb::ExplainResponse {
        experiments: explained
            .experiments
            .iter()
            .map(|entry| explanation(entry, statuses.get(entry.experiment_key).copied()))
            .collect(),
        revision: explained.revision,
        unit_type: unit_type(explained.unit.unit_type) as i32,
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

fn explanation(entry: &Explanation<'_>, status: Option<Status>) -> pb::ExperimentExplanation {
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
        detail: detail(&entry.outcome),
        status: status.map_or(pb::ExperimentStatus::Unspecified, pb::ExperimentStatus::from) as i32,
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

/// One sentence for a human reading an `Explain` response.
fn detail(outcome: &Outcome<'_>) -> String {
    match outcome {
        Outcome::NoUnit => "no user id and no session id: nothing assigns".to_owned(),
        Outcome::NotInPlacement { placements } => {
            format!("runs only on placements [{}]", placements.join(", "))
        }
        Outcome::Override { variant_key, matched } => {
            format!("QA override on the {} id forces variant {variant_key:?}", matched.as_str())
        }
        Outcome::NotEligible { failures } => {
            let failed: Vec<String> = failures
                .iter()
                .map(|failure| {
                    format!(
                        "condition {} of group {} failed: {} {}",
                        failure.condition,
                        failure.group,
                        failure.attribute,
                        operator_name(failure.operator)
                    )
                })
                .collect();
            format!("no eligibility rule group held: {}", failed.join("; "))
        }
        Outcome::NotRunning { status } => {
            format!("status is {status}: only QA overrides assign")
        }
        Outcome::OutsideSchedule { schedule } => {
            let show = |at: Option<time::OffsetDateTime>| {
                at.map_or_else(|| "unbounded".to_owned(), |at| at.to_string())
            };
            format!(
                "outside the schedule window [{}, {})",
                show(schedule.start),
                show(schedule.end)
            )
        }
        Outcome::OutsideLayerRange { layer, bucket, range } => format!(
            "layer {layer:?} bucket {bucket} is outside the experiment's range [{}, {})",
            range.start, range.end
        ),
        Outcome::OutsideAllocation { bucket, allocation_bps } => {
            format!("allocation bucket {bucket} is not below the allocation {allocation_bps}")
        }
        Outcome::Assigned { variant_key, variant_bucket, .. } => {
            format!("variant bucket {variant_bucket} falls in variant {variant_key:?}")
        }
        Outcome::Rollout { variant_key } => {
            format!("stopped with rollout variant {variant_key:?}: served to every eligible unit")
        }
    }
}

fn operator_name(operator: Operator) -> &'static str {
    match operator {
        Operator::Eq => "eq",
        Operator::Neq => "neq",
        Operator::In => "in",
        Operator::NotIn => "not_in",
        Operator::Exists => "exists",
        Operator::NotExists => "not_exists",
        Operator::Lt => "lt",
        Operator::Lte => "lte",
        Operator::Gt => "gt",
        Operator::Gte => "gte",
    }
}

fn unit_type(unit_type: UnitType) -> pb::UnitType {
    match unit_type {
        UnitType::User => pb::UnitType::User,
        UnitType::Session => pb::UnitType::Session,
        UnitType::None => pb::UnitType::Unspecified,
    }
}

fn reason(reason: Reason) -> pb::AssignmentReason {
    match reason {
        Reason::Hash => pb::AssignmentReason::Hash,
        Reason::Override => pb::AssignmentReason::Override,
        Reason::Rollout => pb::AssignmentReason::Rollout,
    }
}

fn duration(elapsed: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
        nanos: elapsed.subsec_nanos() as i32,
    }
}
