//! An experiment's full state at one version, and a config snapshot: every non-archived
//! experiment at one global revision.

use serde::{Deserialize, Serialize};

use super::spec::{BucketRange, ExperimentSpec};
use super::status::Status;
use super::validation::{ValidationError, check_slug};

/// The state one version of an experiment fixes: what the edge agent needs to assign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Unique, immutable slug.
    pub key: String,
    /// Version number, 1-based.
    pub version: i64,
    /// Lifecycle state.
    pub status: Status,
    /// The editable configuration.
    pub spec: ExperimentSpec,
    /// The variant served to everyone eligible once STOPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_variant_key: Option<String>,
}

/// All non-archived experiments at one global config revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Strictly increasing, one per committed change.
    pub revision: i64,
    /// Ordered by key.
    pub experiments: Vec<Experiment>,
}

/// Two running experiments claim the same buckets of one layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "layer {layer:?}: range [{}, {}) overlaps running experiment {other_key:?} at [{}, {})",
    range.start, range.end, other_range.start, other_range.end
)]
pub struct LayerOverlap {
    /// The layer both are in.
    pub layer: String,
    /// The range of the experiment being checked.
    pub range: BucketRange,
    /// The running experiment it collides with.
    pub other_key: String,
    /// That experiment's range.
    pub other_range: BucketRange,
}

// === impl Experiment ===

impl Experiment {
    /// Validates the key, the spec and the rollout variant. Paths are relative to the
    /// experiment (`spec.variants[0].weight`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_slug("key", &self.key)?;
        if self.version < 1 {
            return Err(ValidationError::new(
                "version",
                format!("must be >= 1, got {}", self.version),
            ));
        }
        self.spec.validate().map_err(|error| error.under("spec"))?;
        if let Some(rollout) = &self.rollout_variant_key
            && self.spec.variant(rollout).is_none()
        {
            return Err(ValidationError::new(
                "rollout_variant_key",
                format!("names variant {rollout:?}, which this experiment does not have"),
            ));
        }
        Ok(())
    }

    /// The first running experiment among `others` whose layer range overlaps this one's,
    /// if this one is running in a layer. Experiments without a layer never collide.
    pub fn layer_overlap<'a>(
        &self,
        others: impl IntoIterator<Item = &'a Experiment>,
    ) -> Option<LayerOverlap> {
        if self.status != Status::Running {
            return None;
        }
        let (layer, range) = self.spec.layer_range()?;
        others.into_iter().find_map(|other| {
            if other.key == self.key || other.status != Status::Running {
                return None;
            }
            let (other_layer, other_range) = other.spec.layer_range()?;
            (other_layer == layer && range.overlaps(&other_range)).then(|| LayerOverlap {
                layer: layer.to_owned(),
                range,
                other_key: other.key.clone(),
                other_range,
            })
        })
    }
}

// === impl Snapshot ===

impl Snapshot {
    /// The checks the edge agent runs on every snapshot it receives before serving it:
    /// each experiment valid, keys unique, none archived, no two running experiments
    /// overlapping inside a layer.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut keys = std::collections::BTreeSet::new();
        for (index, experiment) in self.experiments.iter().enumerate() {
            let path = format!("experiments[{index}]");
            experiment.validate().map_err(|error| error.under(&path))?;
            if experiment.status == Status::Archived {
                return Err(ValidationError::new(
                    format!("{path}.status"),
                    "archived experiments are not served",
                ));
            }
            if !keys.insert(experiment.key.as_str()) {
                return Err(ValidationError::new(
                    format!("{path}.key"),
                    format!("must be unique, {:?} appears twice", experiment.key),
                ));
            }
        }
        self.validate_layers()
    }

    /// No two running experiments of a layer share a bucket. Sorting each layer's ranges
    /// by start makes this O(n log n): an overlap, if any, shows between neighbours.
    fn validate_layers(&self) -> Result<(), ValidationError> {
        let mut running: Vec<(&str, BucketRange, usize)> = self
            .experiments
            .iter()
            .enumerate()
            .filter(|(_, experiment)| experiment.status == Status::Running)
            .filter_map(|(index, experiment)| {
                let (layer, range) = experiment.spec.layer_range()?;
                Some((layer, range, index))
            })
            .collect();
        running.sort_by_key(|(layer, range, index)| (*layer, range.start, *index));
        for pair in running.windows(2) {
            let [(layer, first, first_index), (other_layer, second, second_index)] = pair else {
                continue;
            };
            if layer == other_layer && first.overlaps(second) {
                let (earlier, later) = if first_index < second_index {
                    (*first_index, *second_index)
                } else {
                    (*second_index, *first_index)
                };
                let overlap = self.experiments[later]
                    .layer_overlap(std::iter::once(&self.experiments[earlier]))
                    .expect("two running experiments with overlapping ranges in one layer");
                return Err(ValidationError::new(
                    format!("experiments[{later}].spec.layer"),
                    overlap.to_string(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LayerPlacement, Variant};

    fn running(key: &str, layer: &str, start: u32, end: u32) -> Experiment {
        let variant = |key: &str, control| Variant {
            key: key.into(),
            weight: 1.0,
            control,
            params: Default::default(),
            description: String::new(),
        };
        Experiment {
            key: key.into(),
            version: 1,
            status: Status::Running,
            spec: ExperimentSpec {
                name: key.into(),
                description: String::new(),
                hypothesis: String::new(),
                owner: "o".into(),
                salt: String::new(),
                layer: Some(LayerPlacement {
                    name: layer.into(),
                    range: BucketRange { start, end },
                }),
                allocation_bps: 10_000,
                variants: vec![variant("a", true), variant("b", false)],
                placements: vec![],
                eligibility: vec![],
                schedule: Default::default(),
                overrides: Default::default(),
                metrics: vec![],
            },
            rollout_variant_key: None,
        }
    }

    #[test]
    fn adjacent_ranges_and_other_layers_pass_but_an_overlap_names_the_later_experiment() {
        let fine = Snapshot {
            revision: 1,
            experiments: vec![
                running("a", "pdp", 5_000, 10_000),
                running("b", "pdp", 0, 5_000),
                running("c", "home", 0, 10_000),
            ],
        };
        assert_eq!(fine.validate(), Ok(()));
        let clash = Snapshot {
            revision: 1,
            experiments: vec![
                running("a", "pdp", 0, 3_000),
                running("b", "home", 0, 10_000),
                running("c", "pdp", 6_000, 10_000),
                running("d", "pdp", 2_000, 4_000),
            ],
        };
        let error = clash.validate().expect_err("d overlaps a");
        assert_eq!(error.field_path, "experiments[3].spec.layer");
        assert!(error.message.contains(r#""a""#), "{error}");
    }

    #[test]
    fn weights_whose_sum_overflows_are_refused() {
        let mut experiment = running("a", "pdp", 0, 10);
        experiment.spec.variants[0].weight = 1e308;
        experiment.spec.variants[1].weight = 1e308;
        let error = experiment.validate().expect_err("sum overflows");
        assert_eq!(error.field_path, "spec.variants");
    }
}
