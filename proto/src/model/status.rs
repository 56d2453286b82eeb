//! Experiment lifecycle: the states and which lifecycle action may leave which state.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `DRAFT → RUNNING ⇄ PAUSED → STOPPED → ARCHIVED` (a DRAFT may also be archived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being designed; serves QA overrides only.
    Draft,
    /// Assigning by hash inside its schedule window.
    Running,
    /// Not assigning; QA overrides still apply.
    Paused,
    /// Finished; serves the rollout variant, if any.
    Stopped,
    /// Read-only history, absent from snapshots.
    Archived,
}

/// A change to an experiment, as recorded on its version and in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Version 1.
    Create,
    /// Spec replaced.
    Update,
    /// DRAFT → RUNNING.
    Start,
    /// RUNNING → PAUSED.
    Pause,
    /// PAUSED → RUNNING.
    Resume,
    /// RUNNING | PAUSED → STOPPED.
    Stop,
    /// DRAFT | STOPPED → ARCHIVED.
    Archive,
    /// Allocation changed (the ramp).
    SetAllocation,
    /// Spec restored from an earlier version.
    Rollback,
}

/// The action is not allowed from the experiment's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} an experiment that is {current}")]
pub struct IllegalTransition {
    /// What was attempted.
    pub action: Action,
    /// The status the experiment is in.
    pub current: Status,
}

// === impl Status ===

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 5] =
        [Status::Draft, Status::Running, Status::Paused, Status::Stopped, Status::Archived];

    /// The lowercase name used in storage, logs and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
            Status::Archived => "archived",
        }
    }

    /// Parses [`Status::as_str`] output.
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// The status after `action`, or why it is illegal from here. Create has no "from".
    pub fn after(self, action: Action) -> Result<Status, IllegalTransition> {
        use Status::*;
        let next = match (action, self) {
            (Action::Start, Draft) => Some(Running),
            (Action::Pause, Running) => Some(Paused),
            (Action::Resume, Paused) => Some(Running),
            (Action::Stop, Running | Paused) => Some(Stopped),
            (Action::Archive, Draft | Stopped) => Some(Archived),
            (Action::Update | Action::Rollback, Draft | Running | Paused | Stopped) => Some(self),
            (Action::SetAllocation, Draft | Running | Paused) => Some(self),
            _ => None,
        };
        next.ok_or(IllegalTransition { action, current: self })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().to_uppercase())
    }
}

// === impl Action ===

impl Action {
    /// The lowercase name used in storage and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Start => "start",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Stop => "stop",
            Action::Archive => "archive",
            Action::SetAllocation => "set_allocation",
            Action::Rollback => "rollback",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::SetAllocation => "change the allocation of",
            other => other.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_follows_the_design_diagram() {
        assert_eq!(Status::Draft.after(Action::Start), Ok(Status::Running));
        assert_eq!(Status::Running.after(Action::Pause), Ok(Status::Paused));
        assert_eq!(Status::Paused.after(Action::Resume), Ok(Status::Running));
        assert_eq!(Status::Paused.after(Action::Stop), Ok(Status::Stopped));
        assert_eq!(Status::Stopped.after(Action::Archive), Ok(Status::Archived));
        assert_eq!(Status::Draft.after(Action::Archive), Ok(Status::Archived));
    }

    #[test]
    fn illegal_transitions_name_the_current_status() {
        let error = Status::Running.after(Action::Start).expect_err("running cannot start");
        assert_eq!(error.to_string(), "cannot start an experiment that is RUNNING");
        for action in [Action::Update, Action::Rollback, Action::SetAllocation, Action::Start] {
            assert!(Status::Archived.after(action).is_err(), "{action:?}");
        }
        assert!(Status::Stopped.after(Action::SetAllocation).is_err());
        assert!(Status::Draft.after(Action::Resume).is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }
}
