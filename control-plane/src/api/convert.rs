//! Store records to `vary.v1` messages.

use vary_proto::{
    model::{Experiment, timestamp_from_time},
    pb,
};

use crate::store::{ExperimentRecord, VersionRecord};

pub(crate) fn experiment_to_pb(record: &ExperimentRecord) -> pb::Experiment {
    let experiment = &record.experiment;
    pb::Experiment {
        key: experiment.key.clone(),
        status: pb::ExperimentStatus::from(experiment.status) as i32,
        version: experiment.version,
        spec: Some((&experiment.spec).into()),
        rollout_variant_key: experiment.rollout_variant_key.clone().unwrap_or_default(),
        revision: record.revision,
        create_time: Some(timestamp_from_time(record.created_at)),
        update_time: Some(timestamp_from_time(record.updated_at)),
    }
}

pub(super) fn version_to_pb(record: &VersionRecord) -> pb::ExperimentVersion {
    let experiment = &record.experiment;
    pb::ExperimentVersion {
        experiment_key: experiment.key.clone(),
        version: experiment.version,
        status: pb::ExperimentStatus::from(experiment.status) as i32,
        spec: Some((&experiment.spec).into()),
        rollout_variant_key: experiment.rollout_variant_key.clone().unwrap_or_default(),
        revision: record.revision,
        actor: record.actor.clone(),
        action: record.action.clone(),
        change_note: record.change_note.clone(),
        create_time: Some(timestamp_from_time(record.created_at)),
    }
}

/// The parts of a version a diff compares: lifecycle state and spec, as JSON.
pub(super) fn diffable(experiment: &Experiment) -> serde_json::Value {
    serde_json::json!({
        "status": experiment.status,
        "rollout_variant_key": experiment.rollout_variant_key,
        "spec": experiment.spec,
    })
}
