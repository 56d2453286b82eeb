//! The per-request path. [`CompiledSnapshot::evaluate`] visits only the experiments
//! live on the request's placement (one per layer, found by the layer bucket) and
//! allocates nothing but the result vector (plus a short list for QA units);
//! [`CompiledSnapshot::decide`] applies the checks in the normative order of
//! `docs/assignment.md` for explanation mode, and `choose` reaches the same answer with
//! the cheapest checks first.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::bucket::{UnitHasher, range_index};
use super::compile::{CompiledExperiment, CompiledSnapshot, OverrideHit, overrides_apply};
use super::request::{AssignRequest, Context, Unit, UnitType};
use super::rules::ConditionMemo;
use crate::model::{BucketRange, Status};

/// Layers whose bucket a request caches; beyond this many the bucket is recomputed.
const CACHED_LAYERS: usize = 64;
const NOT_COMPUTED: u16 = u16::MAX;

/// Why an experiment assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Running, eligible, in the layer range and the allocation: the variant hash decided.
    Hash,
    /// A QA override named the unit (forced; excluded from analysis).
    Override,
    /// Stopped with a rollout variant: every eligible unit gets it, and no exposure is logged.
    Rollout,
}

/// One experiment's assignment. Borrows from the [`CompiledSnapshot`], so building a
/// response allocates no strings; clone `params` (an `Arc`) to keep it longer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment<'a> {
    /// The experiment's key.
    pub experiment_key: &'a str,
    /// The experiment version the snapshot holds.
    pub version: i64,
    /// The variant served.
    pub variant_key: &'a str,
    /// The variant's params, converted once per revision.
    #[serde(skip)]
    pub params: &'a Arc<prost_types::Struct>,
    /// Why this variant.
    pub reason: Reason,
    /// The experiment's mutual-exclusion layer, if any.
    pub layer: Option<&'a str>,
    /// A QA override chose the variant: the exposure is excluded from analysis.
    pub forced: bool,
    /// Whether an exposure should be logged (false for rollouts).
    pub log_exposure: bool,
    /// The experiment's position in its snapshot (key order, as
    /// [`CompiledSnapshot::experiment_variants`] lists them), so callers can keep
    /// per-experiment tables built once per revision instead of looking keys up.
    #[serde(skip)]
    pub experiment_index: u32,
    /// The variant's position in the experiment's variant list.
    #[serde(skip)]
    pub variant_index: u16,
}

/// The request-independent part of every [`Assignment`] of one (experiment, variant), as
/// [`CompiledSnapshot::assignable`] lists them: an assignment adds only its reason (and
/// `forced`, which follows from it).
#[derive(Debug, Clone, PartialEq)]
pub struct Assignable<'a> {
    /// As [`Assignment::experiment_index`].
    pub experiment_index: u32,
    /// As [`Assignment::variant_index`].
    pub variant_index: u16,
    /// The experiment's key.
    pub experiment_key: &'a str,
    /// The experiment version the snapshot holds.
    pub version: i64,
    /// The variant's key.
    pub variant_key: &'a str,
    /// The variant's params.
    pub params: &'a Arc<prost_types::Struct>,
    /// The experiment's mutual-exclusion layer, if any.
    pub layer: Option<&'a str>,
}

/// The result of [`CompiledSnapshot::evaluate`]: borrows the snapshot and, for the unit
/// id, the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignments<'a> {
    /// The config revision served.
    pub revision: i64,
    /// The unit the hashes used.
    pub unit: Unit<'a>,
    /// Every experiment that assigned, ordered by experiment key. Empty without a unit.
    pub assignments: Vec<Assignment<'a>>,
}

/// What deciding one experiment found, without allocating. Explanation mode turns it
/// into an [`super::Outcome`], evaluation into an [`Assignment`] or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    NotInPlacement,
    Override { variant: u16, matched: UnitType },
    NotEligible,
    NotRunning,
    OutsideSchedule,
    OutsideLayerRange { layer_index: u32, range: BucketRange, layer_bucket: u16 },
    OutsideAllocation { layer_bucket: Option<u16>, alloc_bucket: u16 },
    Assigned { variant: u16, layer_bucket: Option<u16>, alloc_bucket: u16, variant_bucket: u16 },
    Rollout { variant: u16 },
}

/// Per-request state shared by every experiment decided for it.
#[derive(Debug)]
pub(crate) struct RequestScope<'s, 'r> {
    context: &'r Context,
    now_nanos: i128,
    hasher: UnitHasher<'r>,
    /// Overrides keyed by the user id, then by the session id: the user id wins.
    user_hits: &'s [OverrideHit],
    session_hits: &'s [OverrideHit],
    /// Whether either list is non-empty: most requests skip the override check.
    has_override_hits: bool,
    condition_memo: ConditionMemo,
    layer_buckets: [u16; CACHED_LAYERS],
}

// === impl CompiledSnapshot ===

impl CompiledSnapshot {
    /// Assigns `request` at time `now` (the caller's clock: this crate reads none).
    ///
    /// Returns every experiment that assigned, ordered by key. Without a unit (no user id
    /// and no session id) nothing assigns and `unit.unit_type` is [`UnitType::None`].
    ///
    /// ```
    /// use vary_proto::assign::{AssignRequest, CompiledSnapshot, Context, Reason};
    /// use vary_proto::model::{ExperimentSpec, Experiment, Snapshot, Status, Variant};
    ///
    /// let variant = |key: &str, control| Variant {
    ///     key: key.into(), weight: 1.0, control, params: Default::default(), description: String::new(),
    /// };
    /// let experiment = Experiment {
    ///     key: "reco_ymal_v1".into(),
    ///     version: 3,
    ///     status: Status::Running,
    ///     rollout_variant_key: None,
    ///     spec: ExperimentSpec {
    ///         name: "You may also like, v1".into(), description: String::new(), hypothesis: String::new(),
    ///         owner: "reco-team".into(), salt: String::new(), layer: None, allocation_bps: 10_000,
    ///         variants: vec![variant("control", true), variant("treatment", false)],
    ///         placements: vec!["pdp".into()], eligibility: vec![], schedule: Default::default(),
    ///         overrides: Default::default(), metrics: vec![],
    ///     },
    /// };
    /// let compiled = CompiledSnapshot::compile(&Snapshot { revision: 1, experiments: vec![experiment] })?;
    ///
    /// let request = AssignRequest {
    ///     user_id: "u123".into(),
    ///     context: Context { placement: "pdp".into(), ..Context::default() },
    ///     ..AssignRequest::default()
    /// };
    /// let result = compiled.evaluate(&request, time::OffsetDateTime::UNIX_EPOCH);
    /// // bucket("variant", "reco_ymal_v1", "u123") = 515 < 5000: the first variant.
    /// assert_eq!(result.assignments[0].variant_key, "control");
    /// assert_eq!(result.assignments[0].reason, Reason::Hash);
    /// # Ok::<(), vary_proto::assign::CompileError>(())
    /// ```
    pub fn evaluate<'a>(
        &'a self,
        request: &'a AssignRequest,
        now: OffsetDateTime,
    ) -> Assignments<'a> {
        let unit = request.unit();
        // Enough for a typical page; one allocation instead of several regrowths.
        let mut assignments = Vec::with_capacity(8);
        if unit.unit_type == UnitType::None {
            return Assignments { revision: self.revision, unit, assignments };
        }
        let mut scope = self.scope(request, unit, now);
        if !request.experiment_keys.is_empty() {
            for index in self.requested_indices(&request.experiment_keys) {
                if in_placement(&self.experiments[index as usize], &request.context) {
                    let assignment = self
                        .choose_by_override(index, &scope)
                        .or_else(|| self.choose(index, &mut scope));
                    assignments.extend(assignment);
                }
            }
            return Assignments { revision: self.revision, unit, assignments };
        }
        // Overrides first; the experiments they settle are skipped below. Allocates only
        // for a unit that some experiment lists (QA traffic).
        let mut overridden: Vec<u32> = Vec::new();
        if scope.has_override_hits {
            let (user_hits, session_hits) = (scope.user_hits, scope.session_hits);
            for hit in user_hits.iter().chain(session_hits) {
                let experiment = &self.experiments[hit.experiment as usize];
                if overridden.contains(&hit.experiment) || !in_placement(experiment, scope.context)
                {
                    continue;
                }
                overridden.push(hit.experiment);
                let decision = scope.override_for(hit.experiment);
                assignments.extend(
                    decision.and_then(|decision| self.assignment(hit.experiment, decision)),
                );
            }
        }
        let index = self.placement_indexes.get(&request.context.placement);
        for &experiment in index.scan.iter() {
            if !overridden.contains(&experiment) {
                assignments.extend(self.choose(experiment, &mut scope));
            }
        }
        for layer in index.layers.iter() {
            let layer_bucket = self.layer_bucket(layer.layer, &mut scope);
            if let Some(experiment) = layer.find(layer_bucket)
                && !overridden.contains(&experiment)
            {
                assignments.extend(self.choose(experiment, &mut scope));
            }
        }
        // The scan list is in key order; overrides and layer finds are not.
        if assignments.len() > 1 {
            assignments.sort_unstable_by(|a, b| a.experiment_key.cmp(b.experiment_key));
        }
        Assignments { revision: self.revision, unit, assignments }
    }

    pub(crate) fn scope<'s, 'r>(
        &'s self,
        request: &'r AssignRequest,
        unit: Unit<'r>,
        now: OffsetDateTime,
    ) -> RequestScope<'s, 'r> {
        let user_hits = self.overrides.hits_for(&request.user_id);
        let session_hits = self.overrides.hits_for(&request.session_id);
        RequestScope {
            context: &request.context,
            now_nanos: now.unix_timestamp_nanos(),
            hasher: UnitHasher::new(unit.id),
            user_hits,
            session_hits,
            has_override_hits: !user_hits.is_empty() || !session_hits.is_empty(),
            condition_memo: ConditionMemo::new(),
            layer_buckets: [NOT_COMPUTED; CACHED_LAYERS],
        }
    }

    /// Indices of the requested experiments that exist, in key order, once each.
    pub(crate) fn requested_indices(&self, keys: &[String]) -> Vec<u32> {
        let mut indices: Vec<u32> =
            keys.iter().filter_map(|key| self.index_by_key.get(key.as_str()).copied()).collect();
        indices.sort_unstable();
        indices.dedup();
        indices
    }

    /// The override of an experiment whose placement matches, if the unit has one.
    fn choose_by_override(
        &self,
        index: u32,
        scope: &RequestScope<'_, '_>,
    ) -> Option<Assignment<'_>> {
        let experiment = &self.experiments[index as usize];
        if !scope.has_override_hits || !overrides_apply(experiment.status) {
            return None;
        }
        self.assignment(index, scope.override_for(index)?)
    }

    /// The hot path's version of [`Self::decide`] for an experiment whose placement
    /// matches and that no override settled: the same result, with the checks reordered
    /// cheapest-first (status, schedule and the per-request cached layer bucket before
    /// the rules), which is sound because everything after the override is a
    /// conjunction of pure tests. `explanation_agrees_with_evaluation` and the
    /// conformance vectors hold the two functions to the same answers.
    fn choose(&self, index: u32, scope: &mut RequestScope<'_, '_>) -> Option<Assignment<'_>> {
        let experiment = &self.experiments[index as usize];
        match (experiment.status, experiment.rollout_variant) {
            (Status::Running, _) => {}
            (Status::Stopped, Some(variant)) => {
                return self
                    .eligible(experiment, scope)
                    .then(|| self.assignment(index, Decision::Rollout { variant }))
                    .flatten();
            }
            _ => return None,
        }
        if !in_window(experiment, scope.now_nanos) {
            return None;
        }
        let layer_bucket = match experiment.layer {
            None => None,
            Some((layer_index, range)) => {
                let layer_bucket = self.layer_bucket(layer_index, scope);
                if !range.contains(u32::from(layer_bucket)) {
                    return None;
                }
                Some(layer_bucket)
            }
        };
        if !self.eligible(experiment, scope) {
            return None;
        }
        let decision = self.hash_decision(experiment, layer_bucket, scope);
        self.assignment(index, decision)
    }

    /// Decides one experiment, checking in the normative order: placement, override,
    /// eligibility, status (rollout), schedule, layer range, allocation, variant.
    pub(crate) fn decide(&self, index: u32, scope: &mut RequestScope<'_, '_>) -> Decision {
        let experiment = &self.experiments[index as usize];
        if !in_placement(experiment, scope.context) {
            return Decision::NotInPlacement;
        }
        if overrides_apply(experiment.status)
            && let Some(decision) = scope.override_for(index)
        {
            return decision;
        }
        if !self.eligible(experiment, scope) {
            return Decision::NotEligible;
        }
        match (experiment.status, experiment.rollout_variant) {
            (Status::Running, _) => {}
            (Status::Stopped, Some(variant)) => return Decision::Rollout { variant },
            _ => return Decision::NotRunning,
        }
        if !in_window(experiment, scope.now_nanos) {
            return Decision::OutsideSchedule;
        }
        let layer_bucket = match experiment.layer {
            None => None,
            Some((layer_index, range)) => {
                let layer_bucket = self.layer_bucket(layer_index, scope);
                if !range.contains(u32::from(layer_bucket)) {
                    return Decision::OutsideLayerRange { layer_index, range, layer_bucket };
                }
                Some(layer_bucket)
            }
        };
        self.hash_decision(experiment, layer_bucket, scope)
    }

    /// Allocation, then variant: the last two checks, shared by both orders.
    fn hash_decision(
        &self,
        experiment: &CompiledExperiment,
        layer_bucket: Option<u16>,
        scope: &mut RequestScope<'_, '_>,
    ) -> Decision {
        let alloc_bucket = scope.hasher.bucket(&experiment.alloc_key_prefix);
        if u32::from(alloc_bucket) >= experiment.allocation_bps {
            return Decision::OutsideAllocation { layer_bucket, alloc_bucket };
        }
        let variant_bucket = scope.hasher.bucket(&experiment.variant_key_prefix);
        let variant = range_index(&experiment.variant_ranges, variant_bucket)
            .expect("normalised weights sum to 10000, so the ranges cover every bucket");
        Decision::Assigned { variant: variant as u16, layer_bucket, alloc_bucket, variant_bucket }
    }

    fn eligible(&self, experiment: &CompiledExperiment, scope: &mut RequestScope<'_, '_>) -> bool {
        experiment.rules.hold(&self.conditions, scope.context, &mut scope.condition_memo)
    }

    fn layer_bucket(&self, layer_index: u32, scope: &mut RequestScope<'_, '_>) -> u16 {
        let prefix = &self.layers[layer_index as usize].key_prefix;
        let Some(cached) = scope.layer_buckets.get_mut(layer_index as usize) else {
            return scope.hasher.bucket(prefix);
        };
        if *cached == NOT_COMPUTED {
            *cached = scope.hasher.bucket(prefix);
        }
        *cached
    }

    /// The assignment a decision makes, if any.
    pub(crate) fn assignment(&self, index: u32, decision: Decision) -> Option<Assignment<'_>> {
        let experiment = &self.experiments[index as usize];
        let (variant, reason) = match decision {
            Decision::Assigned { variant, .. } => (variant, Reason::Hash),
            Decision::Override { variant, .. } => (variant, Reason::Override),
            Decision::Rollout { variant } => (variant, Reason::Rollout),
            _ => return None,
        };
        let variant_index = variant;
        let variant = &experiment.variants[usize::from(variant)];
        Some(Assignment {
            experiment_key: &experiment.key,
            version: experiment.version,
            variant_key: &variant.key,
            params: &variant.params,
            reason,
            layer: experiment
                .layer
                .map(|(layer_index, _)| &*self.layers[layer_index as usize].name),
            forced: reason == Reason::Override,
            log_exposure: reason != Reason::Rollout,
            experiment_index: index,
            variant_index,
        })
    }
}

/// Whether `now` is inside the experiment's `[start, end)` window.
fn in_window(experiment: &CompiledExperiment, now_nanos: i128) -> bool {
    experiment.window_start.is_none_or(|start| start <= now_nanos)
        && experiment.window_end.is_none_or(|end| now_nanos < end)
}

pub(crate) fn in_placement(experiment: &CompiledExperiment, context: &Context) -> bool {
    experiment.placements.is_empty()
        || experiment.placements.iter().any(|placement| **placement == *context.placement)
}

// === impl RequestScope ===

impl RequestScope<'_, '_> {
    fn override_for(&self, experiment: u32) -> Option<Decision> {
        let find = |hits: &[OverrideHit], matched| {
            hits.iter()
                .find(|hit| hit.experiment == experiment)
                .map(|hit| Decision::Override { variant: hit.variant, matched })
        };
        find(self.user_hits, UnitType::User).or_else(|| find(self.session_hits, UnitType::Session))
    }
}
