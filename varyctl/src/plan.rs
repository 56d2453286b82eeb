//! What `apply` must do to make one experiment match its file: pure, given the file and
//! the server's current state, so `diff`, `apply --dry-run` and `apply` agree exactly.
//!
//! Specs are compared as the model after a round trip through the wire form, because
//! that is what the server stores: numbers in variant params come back as doubles
//! (`200` becomes `200.0`) and `direction` defaults to `increase`. Comparing raw file
//! values would report changes that are not there and break idempotency.

use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;
use vary_proto::{
    model::{Action, ExperimentSpec, Status},
    pb,
};

use crate::{
    diff::{FieldChange, diff},
    manifest::{Manifest, spec_value},
};

/// The steps that bring one experiment in line with its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The experiment.
    pub key: String,
    /// Create, update or leave the spec.
    pub write: Write,
    /// The wanted spec, in canonical (server) form.
    pub spec: ExperimentSpec,
    /// Every field that changes, `status` included.
    pub changes: Vec<FieldChange>,
    /// Lifecycle actions to take after the write, in order.
    pub lifecycle: Vec<Action>,
    /// The variant to roll out when `lifecycle` stops the experiment.
    pub rollout_variant: Option<String>,
}

/// What happens to the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// The experiment does not exist yet.
    Create,
    /// The spec differs; update based on this version.
    Update {
        /// The server's current version.
        base_version: i64,
    },
    /// The spec is already as wanted.
    Keep {
        /// The server's current version.
        version: i64,
    },
}

// === impl Plan ===

impl Plan {
    /// Whether applying this plan writes anything.
    pub fn is_noop(&self) -> bool {
        matches!(self.write, Write::Keep { .. }) && self.lifecycle.is_empty()
    }
}

/// Plans `manifest` against `current` (None: no such experiment). Errors are messages
/// for the operator: the file asks for something the lifecycle does not allow.
pub fn plan(manifest: &Manifest, current: Option<&pb::Experiment>) -> Result<Plan, String> {
    let spec = canonical(&manifest.spec)?;
    match current {
        None => plan_create(manifest, spec),
        Some(current) => plan_existing(manifest, spec, current),
    }
}

fn plan_create(manifest: &Manifest, spec: ExperimentSpec) -> Result<Plan, String> {
    let lifecycle = match manifest.status {
        Some(wanted) => lifecycle_path(Status::Draft, wanted)?,
        None => Vec::new(),
    };
    let mut changes = diff("spec", &Value::Null, &spec_value(&spec));
    if let Some(wanted) = manifest.status.filter(|wanted| *wanted != Status::Draft) {
        changes.push(status_change(Status::Draft, wanted));
    }
    Ok(Plan {
        key: manifest.key.clone(),
        write: Write::Create,
        spec,
        changes,
        lifecycle,
        rollout_variant: manifest.rollout_variant.clone(),
    })
}

fn plan_existing(
    manifest: &Manifest,
    spec: ExperimentSpec,
    current: &pb::Experiment,
) -> Result<Plan, String> {
    let current_status = pb::ExperimentStatus::try_from(current.status)
        .ok()
        .and_then(|status| Status::try_from(status).ok())
        .ok_or_else(|| format!("the server reports an unknown status {}", current.status))?;
    let current_spec =
        current.spec.clone().ok_or_else(|| "the server returned no spec".to_owned()).and_then(
            |spec| {
                ExperimentSpec::try_from(spec)
                    .map_err(|error| format!("the server's spec does not validate: {error}"))
            },
        )?;
    let mut changes = diff("spec", &spec_value(&current_spec), &spec_value(&spec));
    let write = if current_spec == spec {
        Write::Keep { version: current.version }
    } else if current_status == Status::Archived {
        return Err("is archived: its spec can no longer change".to_owned());
    } else {
        Write::Update { base_version: current.version }
    };
    let lifecycle = match manifest.status {
        Some(wanted) if wanted != current_status => {
            changes.push(status_change(current_status, wanted));
            lifecycle_path(current_status, wanted)?
        }
        _ => Vec::new(),
    };
    if current_status == Status::Stopped
        && let Some(wanted) = &manifest.rollout_variant
        && *wanted != current.rollout_variant_key
    {
        return Err(format!(
            "is stopped with rollout variant {:?}; it cannot change to {wanted:?}",
            current.rollout_variant_key
        ));
    }
    Ok(Plan {
        key: manifest.key.clone(),
        write,
        spec,
        changes,
        lifecycle,
        rollout_variant: manifest.rollout_variant.clone(),
    })
}

/// The spec as the server will store and return it.
pub fn canonical(spec: &ExperimentSpec) -> Result<ExperimentSpec, String> {
    ExperimentSpec::try_from(pb::ExperimentSpec::from(spec)).map_err(|error| error.to_string())
}

fn status_change(from: Status, to: Status) -> FieldChange {
    FieldChange {
        path: "status".to_owned(),
        before: Some(Value::String(from.as_str().to_owned())),
        after: Some(Value::String(to.as_str().to_owned())),
    }
}

/// The shortest sequence of lifecycle actions from `from` to `to` (breadth-first over the
/// model's own transition table, so it cannot disagree with the server).
pub fn lifecycle_path(from: Status, to: Status) -> Result<Vec<Action>, String> {
    const STEPS: [Action; 5] =
        [Action::Start, Action::Pause, Action::Resume, Action::Stop, Action::Archive];
    let mut queue = VecDeque::from([(from, Vec::new())]);
    let mut seen = BTreeSet::from([from.as_str()]);
    while let Some((status, path)) = queue.pop_front() {
        if status == to {
            return Ok(path);
        }
        for action in STEPS {
            if let Ok(next) = status.after(action)
                && seen.insert(next.as_str())
            {
                let mut longer = path.clone();
                longer.push(action);
                queue.push_back((next, longer));
            }
        }
    }
    Err(format!(
        "cannot go from {from} to {to}: the lifecycle is DRAFT -> RUNNING <-> PAUSED -> STOPPED -> ARCHIVED"
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::manifest::load_text;

    const FILE: &str = "key: pool\nstatus: running\nspec:\n  name: Pool\n  owner: reco\n  allocation_bps: 10000\n  variants:\n    - {key: a, control: true, weight: 1, params: {max_candidates: 200, boost: 0.5}}\n    - {key: b, weight: 1}\n  metrics:\n    - {key: atc, role: primary, kind: conversion, event_type: add_to_cart}\n";

    fn manifest(text: &str) -> Manifest {
        let located = load_text(Path::new("f.yml"), text).expect("valid file");
        located.into_iter().next().expect("one experiment").manifest
    }

    /// What the server returns after storing `manifest` at `version` in `status`.
    fn stored(manifest: &Manifest, version: i64, status: pb::ExperimentStatus) -> pb::Experiment {
        pb::Experiment {
            key: manifest.key.clone(),
            status: status as i32,
            version,
            spec: Some(pb::ExperimentSpec::from(&manifest.spec)),
            ..Default::default()
        }
    }

    #[test]
    fn a_file_equal_to_the_server_after_the_wire_round_trip_plans_nothing() {
        let manifest = manifest(FILE);
        let current = stored(&manifest, 2, pb::ExperimentStatus::Running);
        let plan = plan(&manifest, Some(&current)).expect("plan");
        assert!(plan.is_noop(), "{plan:?}");
        assert!(plan.changes.is_empty(), "integer params and default direction are not changes");
    }

    #[test]
    fn a_changed_field_plans_one_update_based_on_the_current_version() {
        let current = stored(&manifest(FILE), 4, pb::ExperimentStatus::Running);
        let changed = manifest(&FILE.replace("{key: b, weight: 1}", "{key: b, weight: 3}"));
        let plan = plan(&changed, Some(&current)).expect("plan");
        assert_eq!(plan.write, Write::Update { base_version: 4 });
        let paths: Vec<&str> = plan.changes.iter().map(|change| change.path.as_str()).collect();
        assert_eq!(paths, ["spec.variants[1].weight"]);
        assert!(plan.lifecycle.is_empty());
    }

    #[test]
    fn a_new_experiment_is_created_then_moved_to_its_status() {
        let plan = plan(&manifest(FILE), None).expect("plan");
        assert_eq!(plan.write, Write::Create);
        assert_eq!(plan.lifecycle, [Action::Start]);
    }

    #[test]
    fn an_archived_experiment_cannot_take_a_new_spec() {
        let current = stored(&manifest(FILE), 9, pb::ExperimentStatus::Archived);
        let changed =
            manifest(&FILE.replace("name: Pool", "name: Renamed").replace("status: running\n", ""));
        assert!(plan(&changed, Some(&current)).expect_err("archived").contains("archived"));
    }

    #[test]
    fn lifecycle_paths_follow_the_model() {
        assert_eq!(lifecycle_path(Status::Draft, Status::Running), Ok(vec![Action::Start]));
        assert_eq!(
            lifecycle_path(Status::Draft, Status::Paused),
            Ok(vec![Action::Start, Action::Pause])
        );
        assert_eq!(
            lifecycle_path(Status::Running, Status::Archived),
            Ok(vec![Action::Stop, Action::Archive])
        );
        assert_eq!(lifecycle_path(Status::Paused, Status::Paused), Ok(vec![]));
        let error = lifecycle_path(Status::Stopped, Status::Running).expect_err("no way back");
        assert!(error.contains("STOPPED") && error.contains("RUNNING"), "{error}");
    }
}
