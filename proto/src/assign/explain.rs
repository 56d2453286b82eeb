//! Explanation mode, for QA and support: for every experiment, why it did or did not
//! assign, with the bucket values behind the decision. It runs the same decision
//! function as [`CompiledSnapshot::evaluate`], so the two cannot disagree; it is slower
//! (it visits every experiment and allocates) and is not meant for the hot path.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use super::compile::CompiledSnapshot;
use super::evaluate::Decision;
use super::request::{AssignRequest, Unit, UnitType};
use super::rules::RuleFailure;
use crate::model::{BucketRange, Operator, Schedule, Status};

/// The result of [`CompiledSnapshot::explain`]: borrows the snapshot and, for the unit
/// id, the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanations<'a> {
    /// The config revision explained.
    pub revision: i64,
    /// The unit the hashes used.
    pub unit: Unit<'a>,
    /// One entry per experiment considered, ordered by key.
    pub experiments: Vec<Explanation<'a>>,
}

/// Why one experiment did or did not assign.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation<'a> {
    /// The experiment's key.
    pub experiment_key: &'a str,
    /// The experiment version the snapshot holds.
    pub version: i64,
    /// The experiment's status in the snapshot.
    pub status: Status,
    /// The first check, in the normative order, that decided.
    pub outcome: Outcome<'a>,
}

/// The decisive check for one experiment, in the order they are applied: no unit,
/// placement, override, eligibility, status, schedule, layer range, allocation, variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome<'a> {
    /// The request has neither a user id nor a session id.
    NoUnit,
    /// The experiment does not run on the request's placement.
    NotInPlacement {
        /// The placements it runs on.
        placements: Vec<&'a str>,
    },
    /// A QA override forced a variant (assigned, `forced`).
    Override {
        /// The forced variant.
        variant_key: &'a str,
        /// Whether the user id or the session id was listed.
        matched: UnitType,
    },
    /// No rule group held.
    NotEligible {
        /// The first failing condition of each rule group.
        failures: Vec<RuleFailure<'a>>,
    },
    /// Not RUNNING (and not STOPPED with a rollout variant).
    NotRunning {
        /// The experiment's status.
        status: Status,
    },
    /// Running, but the request time is outside `[start, end)`.
    OutsideSchedule {
        /// The window.
        schedule: Schedule,
    },
    /// The unit's layer bucket is outside the experiment's range.
    OutsideLayerRange {
        /// The layer.
        layer: &'a str,
        /// `bucket("layer", layer, unit)`.
        bucket: u16,
        /// The experiment's range in the layer.
        range: BucketRange,
    },
    /// The unit's allocation bucket is not below the allocation.
    OutsideAllocation {
        /// `bucket("alloc", salt, unit)`.
        bucket: u16,
        /// The experiment's allocation in basis points.
        allocation_bps: u32,
    },
    /// Assigned by hash (reason `HASH`).
    Assigned {
        /// The variant.
        variant_key: &'a str,
        /// `bucket("variant", salt, unit)`.
        variant_bucket: u16,
        /// `bucket("alloc", salt, unit)`.
        alloc_bucket: u16,
        /// `bucket("layer", layer, unit)`, when the experiment is in a layer.
        layer_bucket: Option<u16>,
    },
    /// Stopped with a rollout variant: served, no exposure logged.
    Rollout {
        /// The rollout variant.
        variant_key: &'a str,
    },
}

// === impl CompiledSnapshot ===

impl CompiledSnapshot {
    /// Explains, for every experiment (or only those in `request.experiment_keys`), why it
    /// did or did not assign at time `now`. Agrees with [`CompiledSnapshot::evaluate`]:
    /// the experiments with an `Override`, `Assigned` or `Rollout` outcome are exactly
    /// the ones `evaluate` returns.
    ///
    /// ```
    /// use vary_proto::assign::{AssignRequest, CompiledSnapshot, Outcome};
    /// use vary_proto::model::Snapshot;
    ///
    /// let compiled = CompiledSnapshot::compile(&Snapshot::default())?;
    /// let request = AssignRequest::default();
    /// let explained = compiled.explain(&request, time::OffsetDateTime::UNIX_EPOCH);
    /// assert!(explained.experiments.iter().all(|entry| entry.outcome == Outcome::NoUnit));
    /// # Ok::<(), vary_proto::assign::CompileError>(())
    /// ```
    pub fn explain<'a>(
        &'a self,
        request: &'a AssignRequest,
        now: OffsetDateTime,
    ) -> Explanations<'a> {
        let unit = request.unit();
        let indices: Vec<u32> = if request.experiment_keys.is_empty() {
            (0..self.experiments.len() as u32).collect()
        } else {
            self.requested_indices(&request.experiment_keys)
        };
        let mut scope = self.scope(request, unit, now);
        let experiments = indices
            .into_iter()
            .map(|index| {
                let experiment = &self.experiments[index as usize];
                let outcome = if unit.unit_type == UnitType::None {
                    Outcome::NoUnit
                } else {
                    let decision = self.decide(index, &mut scope);
                    self.outcome(index, decision, request)
                };
                Explanation {
                    experiment_key: &experiment.key,
                    version: experiment.version,
                    status: experiment.status,
                    outcome,
                }
            })
            .collect();
        Explanations { revision: self.revision, unit, experiments }
    }

    fn outcome(&self, index: u32, decision: Decision, request: &AssignRequest) -> Outcome<'_> {
        let experiment = &self.experiments[index as usize];
        let variant_key = |variant: u16| &*experiment.variants[usize::from(variant)].key;
        match decision {
            Decision::NotInPlacement => Outcome::NotInPlacement {
                placements: experiment.placements.iter().map(|placement| &**placement).collect(),
            },
            Decision::Override { variant, matched } => {
                Outcome::Override { variant_key: variant_key(variant), matched }
            }
            Decision::NotEligible => Outcome::NotEligible {
                failures: experiment.rules.failures(&self.conditions, &request.context),
            },
            Decision::NotRunning => Outcome::NotRunning { status: experiment.status },
            Decision::OutsideSchedule => Outcome::OutsideSchedule { schedule: experiment.schedule },
            Decision::OutsideLayerRange { layer_index, range, layer_bucket } => {
                Outcome::OutsideLayerRange {
                    layer: &self.layers[layer_index as usize].name,
                    bucket: layer_bucket,
                    range,
                }
            }
            Decision::OutsideAllocation { alloc_bucket, .. } => Outcome::OutsideAllocation {
                bucket: alloc_bucket,
                allocation_bps: experiment.allocation_bps,
            },
            Decision::Assigned { variant, layer_bucket, alloc_bucket, variant_bucket } => {
                Outcome::Assigned {
                    variant_key: variant_key(variant),
                    variant_bucket,
                    alloc_bucket,
                    layer_bucket,
                }
            }
            Decision::Rollout { variant } => Outcome::Rollout { variant_key: variant_key(variant) },
        }
    }
}

// === impl Outcome ===

impl<'a> Outcome<'a> {
    /// The snake_case name of the outcome (`assigned`, `outside_allocation`, …), as in the
    /// conformance vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::NoUnit => "no_unit",
            Outcome::NotInPlacement { .. } => "not_in_placement",
            Outcome::Override { .. } => "override",
            Outcome::NotEligible { .. } => "not_eligible",
            Outcome::NotRunning { .. } => "not_running",
            Outcome::OutsideSchedule { .. } => "outside_schedule",
            Outcome::OutsideLayerRange { .. } => "outside_layer_range",
            Outcome::OutsideAllocation { .. } => "outside_allocation",
            Outcome::Assigned { .. } => "assigned",
            Outcome::Rollout { .. } => "rollout",
        }
    }

    /// The variant served, when the experiment assigned.
    pub fn variant_key(&self) -> Option<&'a str> {
        match self {
            Outcome::Override { variant_key, .. }
            | Outcome::Assigned { variant_key, .. }
            | Outcome::Rollout { variant_key } => Some(*variant_key),
            _ => None,
        }
    }
}

/// A sentence for humans (the `detail` of an Explain response), e.g.
/// `not eligible: group 0 failed at condition 1 (country in)`.
impl fmt::Display for Outcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::NoUnit => f.write_str("no user id and no session id: nothing assigns"),
            Outcome::NotInPlacement { placements } => {
                write!(f, "runs only on placements {}", placements.join(", "))
            }
            Outcome::Override { variant_key, matched } => {
                write!(f, "QA override by {} id forces variant {variant_key}", matched.as_str())
            }
            Outcome::NotEligible { failures } => {
                f.write_str("not eligible:")?;
                for (position, failure) in failures.iter().enumerate() {
                    let separator = if position == 0 { " " } else { "; " };
                    write!(
                        f,
                        "{separator}group {} failed at condition {} ({} {})",
                        failure.group,
                        failure.condition,
                        failure.attribute,
                        operator_name(failure.operator)
                    )?;
                }
                Ok(())
            }
            Outcome::NotRunning { status } => write!(f, "status is {status}, not RUNNING"),
            Outcome::OutsideSchedule { schedule } => {
                let bound = |at: Option<OffsetDateTime>| {
                    at.map_or_else(|| "open".to_owned(), |at| at.to_string())
                };
                write!(
                    f,
                    "outside the schedule window [{}, {})",
                    bound(schedule.start),
                    bound(schedule.end)
                )
            }
            Outcome::OutsideLayerRange { layer, bucket, range } => write!(
                f,
                "layer {layer} bucket {bucket} is outside [{}, {})",
                range.start, range.end
            ),
            Outcome::OutsideAllocation { bucket, allocation_bps } => {
                write!(f, "alloc bucket {bucket} is not below the allocation {allocation_bps}")
            }
            Outcome::Assigned { variant_key, variant_bucket, alloc_bucket, layer_bucket } => {
                write!(
                    f,
                    "assigned {variant_key}: variant bucket {variant_bucket}, alloc bucket {alloc_bucket}"
                )?;
                match layer_bucket {
                    Some(layer_bucket) => write!(f, ", layer bucket {layer_bucket}"),
                    None => Ok(()),
                }
            }
            Outcome::Rollout { variant_key } => {
                write!(f, "stopped: rolls out {variant_key} without exposures")
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::RuleFailure;

    #[test]
    fn details_read_as_sentences() {
        let failures = vec![
            RuleFailure { group: 0, condition: 1, attribute: "country", operator: Operator::In },
            RuleFailure { group: 1, condition: 0, attribute: "tier", operator: Operator::Gte },
        ];
        assert_eq!(
            Outcome::NotEligible { failures }.to_string(),
            "not eligible: group 0 failed at condition 1 (country in); group 1 failed at condition 0 (tier gte)"
        );
        let assigned = Outcome::Assigned {
            variant_key: "treatment",
            variant_bucket: 515,
            alloc_bucket: 7604,
            layer_bucket: Some(3703),
        };
        assert_eq!(
            assigned.to_string(),
            "assigned treatment: variant bucket 515, alloc bucket 7604, layer bucket 3703"
        );
    }
}
