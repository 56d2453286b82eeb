//! What each experiment mutation does to the current state, as pure functions: the store
//! runs them inside its transaction, after taking the locks, so their checks hold at
//! commit.

use vary_proto::model::{Action, BUCKETS, Experiment, ExperimentSpec, ValidationError};

use crate::error::Error;

/// Version 1 of a new experiment, in DRAFT.
pub fn create(
    current: Option<&Experiment>,
    key: &str,
    spec: ExperimentSpec,
) -> Result<Experiment, Error> {
    if current.is_some() {
        return Err(Error::AlreadyExists { key: key.to_owned() });
    }
    Ok(Experiment {
        key: key.to_owned(),
        version: 1,
        status: vary_proto::model::Status::Draft,
        spec,
        rollout_variant_key: None,
    })
}

/// The spec replaced, if the caller saw the current version.
pub fn update(
    current: Option<&Experiment>,
    key: &str,
    base_version: i64,
    spec: ExperimentSpec,
) -> Result<Experiment, Error> {
    let current = existing(current, key)?;
    if base_version != current.version {
        return Err(Error::StaleVersion {
            key: key.to_owned(),
            base: base_version,
            current: current.version,
        });
    }
    next_version(current, Action::Update, |next| next.spec = spec)
}

/// The spec of an earlier version restored; status and rollout variant are kept.
pub fn rollback(
    current: Option<&Experiment>,
    key: &str,
    restored_spec: ExperimentSpec,
) -> Result<Experiment, Error> {
    let current = existing(current, key)?;
    next_version(current, Action::Rollback, |next| next.spec = restored_spec)
}

/// A status change: start, pause, resume or archive.
pub fn transition(
    current: Option<&Experiment>,
    key: &str,
    action: Action,
) -> Result<Experiment, Error> {
    let current = existing(current, key)?;
    next_version(current, action, |_| {})
}

/// RUNNING or PAUSED to STOPPED, optionally rolling a variant out.
pub fn stop(
    current: Option<&Experiment>,
    key: &str,
    rollout_variant_key: Option<String>,
) -> Result<Experiment, Error> {
    let current = existing(current, key)?;
    if let Some(rollout) = &rollout_variant_key
        && current.spec.variant(rollout).is_none()
    {
        let known: Vec<&str> = current.spec.variants.iter().map(|v| v.key.as_str()).collect();
        return Err(ValidationError::new(
            "rollout_variant_key",
            format!("names variant {rollout:?}; the experiment has {known:?}"),
        )
        .into());
    }
    next_version(current, Action::Stop, |next| next.rollout_variant_key = rollout_variant_key)
}

/// The allocation changed (the ramp).
pub fn set_allocation(
    current: Option<&Experiment>,
    key: &str,
    allocation_bps: u32,
) -> Result<Experiment, Error> {
    if allocation_bps > BUCKETS {
        return Err(ValidationError::new(
            "allocation_bps",
            format!("must be in 0..={BUCKETS} basis points, got {allocation_bps}"),
        )
        .into());
    }
    let current = existing(current, key)?;
    next_version(current, Action::SetAllocation, |next| next.spec.allocation_bps = allocation_bps)
}

fn existing<'a>(current: Option<&'a Experiment>, key: &str) -> Result<&'a Experiment, Error> {
    current.ok_or_else(|| Error::NotFound { entity: "experiment", key: key.to_owned() })
}

/// The next version after `action`, if the action is legal in the current status.
fn next_version(
    current: &Experiment,
    action: Action,
    edit: impl FnOnce(&mut Experiment),
) -> Result<Experiment, Error> {
    let status = current
        .status
        .after(action)
        .map_err(|source| Error::IllegalTransition { key: current.key.clone(), source })?;
    let mut next = current.clone();
    next.version = current.version + 1;
    next.status = status;
    edit(&mut next);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use vary_proto::model::{Status, Variant};

    use super::*;

    fn spec() -> ExperimentSpec {
        let variant = |key: &str, control| Variant {
            key: key.into(),
            weight: 1.0,
            control,
            params: Default::default(),
            description: String::new(),
        };
        ExperimentSpec {
            name: "Test".into(),
            description: String::new(),
            hypothesis: String::new(),
            owner: "team".into(),
            salt: String::new(),
            layer: None,
            allocation_bps: 10_000,
            variants: vec![variant("control", true), variant("treatment", false)],
            placements: vec![],
            eligibility: vec![],
            schedule: Default::default(),
            overrides: Default::default(),
            metrics: vec![],
        }
    }

    #[test]
    fn every_change_bumps_the_version_by_one() {
        let draft = create(None, "exp", spec()).expect("create");
        let running = transition(Some(&draft), "exp", Action::Start).expect("start");
        assert_eq!((running.version, running.status), (2, Status::Running));
        let ramped = set_allocation(Some(&running), "exp", 500).expect("ramp");
        assert_eq!((ramped.version, ramped.spec.allocation_bps), (3, 500));
    }

    #[test]
    fn update_with_an_old_base_version_is_stale() {
        let draft = create(None, "exp", spec()).expect("create");
        let updated = update(Some(&draft), "exp", 1, spec()).expect("update");
        let error = update(Some(&updated), "exp", 1, spec()).expect_err("stale");
        assert!(matches!(error, Error::StaleVersion { base: 1, current: 2, .. }), "{error:?}");
    }

    #[test]
    fn stop_refuses_an_unknown_rollout_variant_and_keeps_a_known_one() {
        let draft = create(None, "exp", spec()).expect("create");
        let running = transition(Some(&draft), "exp", Action::Start).expect("start");
        let error = stop(Some(&running), "exp", Some("nope".into())).expect_err("unknown");
        assert!(matches!(&error, Error::Invalid(e) if e.field_path == "rollout_variant_key"));
        let stopped = stop(Some(&running), "exp", Some("treatment".into())).expect("stop");
        assert_eq!(stopped.rollout_variant_key.as_deref(), Some("treatment"));
    }

    #[test]
    fn creating_an_existing_key_is_refused() {
        let draft = create(None, "exp", spec()).expect("create");
        assert!(matches!(create(Some(&draft), "exp", spec()), Err(Error::AlreadyExists { .. })));
    }
}
