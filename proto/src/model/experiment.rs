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
            if let Some(overlap) = experiment.layer_overlap(&self.experiments[..index]) {
                return Err(ValidationError::new(
                    format!("{path}.spec.layer"),
                    overlap.to_string(),
                ));
            }
        }
        Ok(())
    }
}
