//! `vary.v1.ConfigSnapshot` → `model::Snapshot`. A field the model cannot represent is a
//! validation error with the message's field path (`experiments[2].spec.variants[0].weight`),
//! reported in the NACK exactly like a rule the shared validation refuses.

use vary_proto::{
    model::{Experiment, ExperimentSpec, Snapshot, Status, ValidationError},
    pb,
};

/// Converts a received snapshot; run [`Snapshot::validate`] on the result before serving it.
pub fn snapshot_from_pb(message: pb::ConfigSnapshot) -> Result<Snapshot, ValidationError> {
    // Revision 0 is the empty config of an installation with no commits yet: served, so
    // a fresh fleet turns healthy before the first experiment exists.
    if message.revision < 0 || (message.revision == 0 && !message.experiments.is_empty()) {
        return Err(ValidationError::new(
            "revision",
            format!("must be >= 1 (or 0 for the empty config), got {}", message.revision),
        ));
    }
    let experiments = message
        .experiments
        .into_iter()
        .enumerate()
        .map(|(index, experiment)| {
            experiment_from_pb(experiment)
                .map_err(|error| error.under(&format!("experiments[{index}]")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Snapshot { revision: message.revision, experiments })
}

fn experiment_from_pb(message: pb::Experiment) -> Result<Experiment, ValidationError> {
    let status = pb::ExperimentStatus::try_from(message.status)
        .map_err(|_| ValidationError::new("status", format!("unknown value {}", message.status)))
        .and_then(Status::try_from)?;
    let spec = message.spec.ok_or_else(|| ValidationError::new("spec", "is required"))?;
    let spec = ExperimentSpec::try_from(spec).map_err(|error| error.under("spec"))?;
    let rollout_variant_key =
        (!message.rollout_variant_key.is_empty()).then_some(message.rollout_variant_key);
    Ok(Experiment { key: message.key, version: message.version, status, spec, rollout_variant_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_spec_is_named_by_its_path() {
        let message = pb::ConfigSnapshot {
            revision: 3,
            commit_time: None,
            experiments: vec![pb::Experiment {
                key: "a".into(),
                status: pb::ExperimentStatus::Running as i32,
                version: 1,
                ..Default::default()
            }],
        };
        let error = snapshot_from_pb(message).expect_err("no spec");
        assert_eq!(error.field_path, "experiments[0].spec");
    }

    #[test]
    fn an_unknown_status_is_refused() {
        let message = pb::ConfigSnapshot {
            revision: 3,
            commit_time: None,
            experiments: vec![pb::Experiment { key: "a".into(), status: 99, ..Default::default() }],
        };
        let error = snapshot_from_pb(message).expect_err("bad status");
        assert_eq!(error.field_path, "experiments[0].status");
    }

    #[test]
    fn revision_zero_is_only_the_empty_config() {
        let empty = snapshot_from_pb(pb::ConfigSnapshot::default()).expect("empty revision 0");
        assert!(empty.experiments.is_empty());
        let not_empty = pb::ConfigSnapshot {
            experiments: vec![pb::Experiment::default()],
            ..Default::default()
        };
        assert_eq!(snapshot_from_pb(not_empty).expect_err("revision 0").field_path, "revision");
        let negative = pb::ConfigSnapshot { revision: -1, ..Default::default() };
        assert_eq!(snapshot_from_pb(negative).expect_err("revision -1").field_path, "revision");
    }
}
