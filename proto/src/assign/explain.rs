//! Explanation mode, for QA and support: for every experiment, why it did or did not
//! assign, with the bucket values behind the decision. It runs the same decision
//! function as [`CompiledSnapshot::evaluate`], so the two cannot disagree; it is slower
//! (it visits every experiment and allocates) and is not meant for the hot path.

use serde::Serialize;
use time::OffsetDateTime;

use super::compile::CompiledSnapshot;
use super::evaluate::{Decision, PlacementFilter};
use super::request::{AssignRequest, Unit, UnitType};
use super::rules::RuleFailure;
use crate::model::{BucketRange, Schedule, Status};

/// The result of [`CompiledSnapshot::explain`].
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
                    let decision = self.decide(index, &mut scope, PlacementFilter::Check);
                    self.outcome(index, decision, request)
                };
                Explanation {
                    experiment_key: &experiment.key,
                    version: experiment.version,
                    outcome,
                }
            })
            .collect();
        Explanations { revision: self.revision, unit, experiments }
    }

    fn outcome<'a>(
        &'a self,
        index: u32,
        decision: Decision,
        request: &'a AssignRequest,
    ) -> Outcome<'a> {
        let experiment = &self.experiments[index as usize];
        let variant_key = |variant: u16| &*experiment.variants[usize::from(variant)].key;
        match decision {
            Decision::NotInPlacement => Outcome::NotInPlacement {
                placements: experiment.placements.iter().map(|placement| &**placement).collect(),
            },
            Decision::Override { variant, matched } => {
                Outcome::Override { variant_key: variant_key(variant), matched }
            }
            Decision::NotEligible => {
                Outcome::NotEligible { failures: experiment.rules.failures(&request.context) }
            }
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

impl Outcome<'_> {
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
    pub fn variant_key(&self) -> Option<&str> {
        match self {
            Outcome::Override { variant_key, .. }
            | Outcome::Assigned { variant_key, .. }
            | Outcome::Rollout { variant_key } => Some(variant_key),
            _ => None,
        }
    }
}
