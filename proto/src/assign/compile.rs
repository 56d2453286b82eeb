//! Turns a [`Snapshot`] into a [`CompiledSnapshot`] once per config revision, so that each
//! request only compares, looks up and hashes: experiments sorted by key and indexed by
//! placement, weights normalised into cumulative ranges, salts resolved into hash-key
//! prefixes, rules pre-parsed, overrides gathered into one map by unit id, and variant
//! params converted to `google.protobuf.Struct` once and shared through `Arc`.

use std::collections::HashMap;
use std::sync::Arc;

use super::Assignable;
use super::bucket::{HashPurpose, VariantRange, cumulative_ranges, normalize_weights};
use super::placement_index::PlacementIndexes;
use super::rules::{CompiledRules, ConditionInterner, ConditionTable, MalformedCondition};
use crate::model::{
    BucketRange, Experiment, MAX_VARIANTS, Schedule, Snapshot, Status, json_to_struct,
};

/// A snapshot compiled for evaluation. Build it with [`CompiledSnapshot::compile`], share
/// it (for example in an `ArcSwap`), and call [`CompiledSnapshot::evaluate`] or
/// [`CompiledSnapshot::explain`] per request; it is immutable and `Send + Sync`.
#[derive(Debug)]
pub struct CompiledSnapshot {
    pub(crate) revision: i64,
    /// Sorted by key, so index order is key order.
    pub(crate) experiments: Box<[CompiledExperiment]>,
    pub(crate) layers: Box<[CompiledLayer]>,
    /// Every distinct eligibility condition; experiments' rules hold ids into it.
    pub(crate) conditions: ConditionTable,
    pub(crate) index_by_key: HashMap<Box<str>, u32>,
    /// Per placement, the experiments that can assign without an override there.
    pub(crate) placement_indexes: PlacementIndexes,
    /// The QA overrides of DRAFT, RUNNING and PAUSED experiments, by unit id.
    pub(crate) overrides: OverrideIndex,
}

/// Why a snapshot cannot be compiled. [`Snapshot::validate`] refuses all of these first
/// except one: finite weights so large that their sum overflows (about 1e304), which
/// have no defined normalisation (see [`super::normalize_weights`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// Two experiments share a key.
    #[error("experiment key {key:?} appears twice")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// No variants, more than the maximum, a weight that is not a finite number > 0, or
    /// weights whose sum overflows.
    #[error(
        "experiment {experiment:?}: variants must be 1..={MAX_VARIANTS} with finite weights > 0"
    )]
    InvalidVariants {
        /// The experiment's key.
        experiment: String,
    },
    /// A condition's operands do not fit its operator.
    #[error(
        "experiment {experiment:?}: eligibility[{group}].conditions[{condition}] has malformed operands"
    )]
    MalformedCondition {
        /// The experiment's key.
        experiment: String,
        /// Index of the rule group.
        group: usize,
        /// Index of the condition in the group.
        condition: usize,
    },
    /// An override or the rollout names a variant the experiment does not have.
    #[error("experiment {experiment:?}: {field} names unknown variant {variant:?}")]
    UnknownVariant {
        /// The experiment's key.
        experiment: String,
        /// `overrides` or `rollout_variant_key`.
        field: &'static str,
        /// The variant key named.
        variant: String,
    },
}

/// One experiment, ready to evaluate.
#[derive(Debug)]
pub(crate) struct CompiledExperiment {
    pub(crate) key: Box<str>,
    pub(crate) version: i64,
    pub(crate) status: Status,
    /// Empty means every placement.
    pub(crate) placements: Box<[Box<str>]>,
    pub(crate) rules: CompiledRules,
    pub(crate) schedule: Schedule,
    /// `schedule` as Unix nanoseconds, compared against the request time.
    pub(crate) window_start: Option<i128>,
    pub(crate) window_end: Option<i128>,
    /// Index into [`CompiledSnapshot::layers`] and the range this experiment owns there.
    pub(crate) layer: Option<(u32, BucketRange)>,
    pub(crate) allocation_bps: u32,
    /// `alloc:<salt>:` and `variant:<salt>:`, salt already defaulted to the key.
    pub(crate) alloc_key_prefix: Box<[u8]>,
    pub(crate) variant_key_prefix: Box<[u8]>,
    pub(crate) variants: Box<[CompiledVariant]>,
    /// Basis-point ranges of `variants`, same order.
    pub(crate) variant_ranges: Box<[VariantRange]>,
    /// Served when STOPPED; ignored in any other status.
    pub(crate) rollout_variant: Option<u16>,
}

/// A variant's key and its params, converted once.
#[derive(Debug)]
pub(crate) struct CompiledVariant {
    pub(crate) key: Box<str>,
    pub(crate) params: Arc<prost_types::Struct>,
}

/// A mutual-exclusion layer: its name and the `layer:<name>:` hash-key prefix.
#[derive(Debug)]
pub(crate) struct CompiledLayer {
    pub(crate) name: Box<str>,
    pub(crate) key_prefix: Box<[u8]>,
}

/// Every override in one flat list grouped by unit id, and a map from unit id to its
/// slice of that list: a request costs two lookups (user id, session id) however many
/// experiments carry overrides, and compiling allocates no list per unit.
#[derive(Debug, Default)]
pub(crate) struct OverrideIndex {
    /// Grouped by unit id; within a unit, in experiment (key) order.
    hits: Box<[OverrideHit]>,
    /// Unit id → `hits[start..end]`.
    by_unit: HashMap<Box<str>, (u32, u32)>,
}

/// An override of one experiment for one unit id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OverrideHit {
    pub(crate) experiment: u32,
    pub(crate) variant: u16,
    /// DRAFT or PAUSED: not in the placement index, reached only through this hit.
    pub(crate) override_only: bool,
}

// === impl CompiledSnapshot ===

impl CompiledSnapshot {
    /// Compiles `snapshot`. Run [`Snapshot::validate`] first: compiling re-checks only
    /// what evaluation relies on, and skips the layer-overlap check (an overlap would let
    /// a unit into two experiments of one layer, but not break evaluation).
    ///
    /// ```
    /// use vary_proto::assign::CompiledSnapshot;
    /// use vary_proto::model::Snapshot;
    ///
    /// let compiled = CompiledSnapshot::compile(&Snapshot { revision: 7, experiments: vec![] })?;
    /// assert_eq!(compiled.revision(), 7);
    /// # Ok::<(), vary_proto::assign::CompileError>(())
    /// ```
    pub fn compile(snapshot: &Snapshot) -> Result<Self, CompileError> {
        let mut sorted: Vec<&Experiment> = snapshot.experiments.iter().collect();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0].key == pair[1].key) {
            return Err(CompileError::DuplicateKey { key: pair[0].key.clone() });
        }

        let mut layers: Vec<CompiledLayer> = Vec::new();
        let mut conditions = ConditionInterner::default();
        let mut layer_index_by_name: HashMap<&str, u32> = HashMap::new();
        let mut experiments = Vec::with_capacity(sorted.len());
        for experiment in &sorted {
            let layer = experiment.spec.layer.as_ref().map(|placement| {
                let next_index = layers.len() as u32;
                let index = *layer_index_by_name.entry(&placement.name).or_insert_with(|| {
                    layers.push(CompiledLayer {
                        name: placement.name.as_str().into(),
                        key_prefix: HashPurpose::Layer.key_prefix(&placement.name),
                    });
                    next_index
                });
                (index, placement.range)
            });
            experiments.push(compile_experiment(experiment, layer, &mut conditions)?);
        }
        let conditions = conditions.finish();

        let index_by_key = experiments
            .iter()
            .enumerate()
            .map(|(index, experiment)| (experiment.key.clone(), index as u32))
            .collect();
        let placement_indexes = PlacementIndexes::build(&experiments);
        let overrides = OverrideIndex::build(&sorted);
        Ok(Self {
            revision: snapshot.revision,
            experiments: experiments.into_boxed_slice(),
            layers: layers.into_boxed_slice(),
            conditions,
            index_by_key,
            placement_indexes,
            overrides,
        })
    }

    /// The config revision this was compiled from; responses report it.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// How many experiments the snapshot holds.
    pub fn experiment_count(&self) -> usize {
        self.experiments.len()
    }

    /// Each experiment's key and its variants' keys, in the order that
    /// [`super::Assignment::experiment_index`] and [`super::Assignment::variant_index`]
    /// index (for tables built once per revision, such as per-variant counters).
    pub fn experiment_variants(&self) -> impl ExactSizeIterator<Item = (&str, Vec<&str>)> + '_ {
        self.experiments.iter().map(|experiment| {
            let variants = experiment.variants.iter().map(|variant| &*variant.key).collect();
            (&*experiment.key, variants)
        })
    }

    /// Every (experiment, variant) an assignment can name, in index order (experiments by
    /// key, then variants as listed), with what each of its assignments carries whatever
    /// the request: for callers that encode their answers once per revision.
    pub fn assignable(&self) -> impl Iterator<Item = Assignable<'_>> + '_ {
        self.experiments.iter().zip(0u32..).flat_map(move |(experiment, experiment_index)| {
            let layer =
                experiment.layer.map(|(layer_index, _)| &*self.layers[layer_index as usize].name);
            experiment.variants.iter().zip(0u16..).map(move |(variant, variant_index)| Assignable {
                experiment_index,
                variant_index,
                experiment_key: &experiment.key,
                version: experiment.version,
                variant_key: &variant.key,
                params: &variant.params,
                layer,
            })
        })
    }
}

fn compile_experiment<'a>(
    experiment: &'a Experiment,
    layer: Option<(u32, BucketRange)>,
    conditions: &mut ConditionInterner<'a>,
) -> Result<CompiledExperiment, CompileError> {
    let spec = &experiment.spec;
    let invalid_variants = || CompileError::InvalidVariants { experiment: experiment.key.clone() };
    if spec.variants.len() > MAX_VARIANTS {
        return Err(invalid_variants());
    }
    let weights: Vec<f64> = spec.variants.iter().map(|variant| variant.weight).collect();
    let points = normalize_weights(&weights).ok_or_else(invalid_variants)?;
    let rules = CompiledRules::compile(&spec.eligibility, conditions).map_err(
        |MalformedCondition { group, condition }| CompileError::MalformedCondition {
            experiment: experiment.key.clone(),
            group,
            condition,
        },
    )?;
    let rollout_variant = experiment
        .rollout_variant_key
        .as_deref()
        .map(|variant| {
            variant_index(experiment, variant).ok_or_else(|| CompileError::UnknownVariant {
                experiment: experiment.key.clone(),
                field: "rollout_variant_key",
                variant: variant.to_owned(),
            })
        })
        .transpose()?;
    if let Some(variant) =
        spec.overrides.values().find(|variant| variant_index(experiment, variant).is_none())
    {
        return Err(CompileError::UnknownVariant {
            experiment: experiment.key.clone(),
            field: "overrides",
            variant: variant.clone(),
        });
    }
    let salt = spec.effective_salt(&experiment.key);
    Ok(CompiledExperiment {
        key: experiment.key.as_str().into(),
        version: experiment.version,
        status: experiment.status,
        placements: spec.placements.iter().map(|placement| placement.as_str().into()).collect(),
        rules,
        schedule: spec.schedule,
        window_start: spec.schedule.start.map(|start| start.unix_timestamp_nanos()),
        window_end: spec.schedule.end.map(|end| end.unix_timestamp_nanos()),
        layer,
        allocation_bps: spec.allocation_bps,
        alloc_key_prefix: HashPurpose::Alloc.key_prefix(salt),
        variant_key_prefix: HashPurpose::Variant.key_prefix(salt),
        variants: spec
            .variants
            .iter()
            .map(|variant| CompiledVariant {
                key: variant.key.as_str().into(),
                params: Arc::new(json_to_struct(&variant.params)),
            })
            .collect(),
        variant_ranges: cumulative_ranges(&points).into_boxed_slice(),
        rollout_variant,
    })
}

/// The position of variant `key`; at most [`MAX_VARIANTS`] (100), so it fits in u16.
fn variant_index(experiment: &Experiment, key: &str) -> Option<u16> {
    experiment.spec.variants.iter().position(|variant| variant.key == key).map(|index| index as u16)
}

/// Whether overrides apply in this status (DESIGN section 4 rule 2).
pub(crate) fn overrides_apply(status: Status) -> bool {
    matches!(status, Status::Draft | Status::Running | Status::Paused)
}

// === impl OverrideIndex ===

impl OverrideIndex {
    /// Indexes the overrides of `sorted`, the experiments in index order, in two passes
    /// (count per unit id, then place), so no list is allocated per unit id.
    fn build(sorted: &[&Experiment]) -> Self {
        let applicable = || {
            sorted
                .iter()
                .enumerate()
                .filter(|(_, experiment)| overrides_apply(experiment.status))
                .flat_map(|(index, experiment)| {
                    let override_only = experiment.status != Status::Running;
                    experiment.spec.overrides.iter().filter_map(move |(unit_id, variant)| {
                        // compile_experiment checked every override's variant already.
                        let variant = variant_index(experiment, variant)?;
                        let hit = OverrideHit { experiment: index as u32, variant, override_only };
                        Some((unit_id.as_str(), hit))
                    })
                })
        };
        // Pass 1: count the hits of each unit id, as (start, end) = (0, count).
        let mut by_unit: HashMap<Box<str>, (u32, u32)> = HashMap::new();
        let mut total = 0_u32;
        for (unit_id, _) in applicable() {
            match by_unit.get_mut(unit_id) {
                Some((_, count)) => *count += 1,
                None => {
                    by_unit.insert(unit_id.into(), (0, 1));
                }
            }
            total += 1;
        }
        // Give each unit id its slice; `end` starts at `start` and is the fill cursor.
        let mut next_start = 0;
        for (start, end) in by_unit.values_mut() {
            let count = *end;
            *start = next_start;
            *end = next_start;
            next_start += count;
        }
        // Pass 2: place the hits; within one unit id they stay in experiment (key) order.
        let placeholder = OverrideHit { experiment: 0, variant: 0, override_only: false };
        let mut hits = vec![placeholder; total as usize];
        for (unit_id, hit) in applicable() {
            if let Some((_, end)) = by_unit.get_mut(unit_id) {
                hits[*end as usize] = hit;
                *end += 1;
            }
        }
        Self { hits: hits.into_boxed_slice(), by_unit }
    }

    /// The overrides naming `unit_id` (none for the empty id).
    pub(crate) fn hits_for(&self, unit_id: &str) -> &[OverrideHit] {
        if unit_id.is_empty() || self.by_unit.is_empty() {
            return &[];
        }
        self.by_unit
            .get(unit_id)
            .map_or(&[], |&(start, end)| &self.hits[start as usize..end as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExperimentSpec, Variant};

    fn experiment(key: &str, status: Status, overrides: &[(&str, &str)]) -> Experiment {
        let variant = |key: &str, control| Variant {
            key: key.into(),
            weight: 1.0,
            control,
            params: serde_json::Map::new(),
            description: String::new(),
        };
        Experiment {
            key: key.into(),
            version: 1,
            status,
            rollout_variant_key: None,
            spec: ExperimentSpec {
                name: key.into(),
                description: String::new(),
                hypothesis: String::new(),
                owner: "tests".into(),
                salt: String::new(),
                layer: None,
                allocation_bps: 10_000,
                variants: vec![variant("control", true), variant("treatment", false)],
                placements: vec![],
                eligibility: vec![],
                schedule: Schedule::default(),
                overrides: overrides
                    .iter()
                    .map(|(unit, variant)| ((*unit).to_owned(), (*variant).to_owned()))
                    .collect(),
                metrics: vec![],
            },
        }
    }

    #[test]
    fn compiled_snapshots_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledSnapshot>();
    }

    #[test]
    fn override_index_groups_hits_by_unit_in_key_order() {
        let experiments = [
            experiment("a", Status::Running, &[("qa", "treatment"), ("other", "control")]),
            experiment("b", Status::Stopped, &[("qa", "control")]),
            experiment("c", Status::Draft, &[("qa", "control")]),
        ];
        let sorted: Vec<&Experiment> = experiments.iter().collect();
        let index = OverrideIndex::build(&sorted);
        let qa: Vec<(u32, u16, bool)> = index
            .hits_for("qa")
            .iter()
            .map(|hit| (hit.experiment, hit.variant, hit.override_only))
            .collect();
        // "b" is stopped: overrides do not apply to it.
        assert_eq!(qa, [(0, 1, false), (2, 0, true)]);
        assert_eq!(index.hits_for("other").len(), 1);
        assert!(index.hits_for("").is_empty());
        assert!(index.hits_for("nobody").is_empty());
    }

    #[test]
    fn live_index_merges_everywhere_experiments_into_each_placement() {
        let mut pdp = experiment("b_pdp", Status::Running, &[]);
        pdp.spec.placements = vec!["pdp".into()];
        let snapshot = Snapshot {
            revision: 3,
            experiments: vec![
                pdp,
                experiment("a_everywhere", Status::Running, &[]),
                experiment("c_paused", Status::Paused, &[]),
            ],
        };
        let compiled = CompiledSnapshot::compile(&snapshot).expect("valid snapshot");
        assert_eq!(&*compiled.placement_indexes.get("pdp").scan, [0, 1]);
        assert_eq!(&*compiled.placement_indexes.get("home").scan, [0]);
        assert_eq!(&*compiled.placement_indexes.get("").scan, [0]);
        assert_eq!(compiled.experiment_count(), 3);
    }
}
