//! Experiments as code: `apply`, `diff -f` and `create -f`. Files are loaded and
//! validated completely before the first write; then each experiment is planned against
//! the server (see `plan`) and only experiments whose plan is not a no-op are written.
//!
//! One experiment's refusal does not stop the others (each is reported with its file and
//! line, and the exit code is 1); losing the connection stops everything (exit 3).

use serde::Serialize;
use vary_proto::{model::Action, pb};

use crate::{
    cli::{ApplyArgs, FileArgs},
    client::{Connection, missing},
    diff::{FieldChange, describe},
    error::CliError,
    manifest::{Located, load_paths},
    output::Term,
    plan::{Plan, Write, plan},
    view::status_name,
};

/// What happened (or would happen) to one experiment, for output.
#[derive(Debug, Serialize)]
struct Outcome {
    key: String,
    /// created, configured, unchanged, failed (or "would …" variants in dry runs).
    result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    changes: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// How strict the write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Create or update.
    Apply,
    /// Create only; an existing key is a refusal.
    CreateOnly,
}

/// `apply -f`.
pub(super) async fn apply(
    args: ApplyArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    run(&args.files, args.dry_run, Mode::Apply, connection, term).await
}

/// `experiments create -f`.
pub(super) async fn create(
    args: FileArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    run(&args, false, Mode::CreateOnly, connection, term).await
}

/// `diff -f`: prints the plan of every experiment; true when anything would change.
pub(super) async fn diff_files(
    files: &[std::path::PathBuf],
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<bool, CliError> {
    let manifests = load_paths(files)?;
    let mut outcomes = Vec::new();
    let mut failures = 0;
    for located in &manifests {
        let outcome = match plan_one(located, connection).await? {
            Ok(plan) => planned(&plan, "would create", "would configure"),
            Err(message) => {
                failures += 1;
                failed(located, &message)
            }
        };
        outcomes.push(outcome);
    }
    let differs = outcomes.iter().any(|outcome| outcome.result != "unchanged");
    print_outcomes(term, &outcomes, true);
    if failures > 0 {
        return Err(CliError::Partial(format!("{failures} experiment(s) cannot be applied")));
    }
    Ok(differs)
}

async fn run(
    files: &FileArgs,
    dry_run: bool,
    mode: Mode,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let manifests = load_paths(&files.files)?;
    let mut outcomes = Vec::new();
    let mut failures = 0;
    for located in &manifests {
        let outcome = match plan_one(located, connection).await? {
            Err(message) => Err(message),
            Ok(plan) if mode == Mode::CreateOnly && plan.write != Write::Create => {
                Err("already exists (use `varyctl apply` to update it)".to_owned())
            }
            Ok(plan) if dry_run => Ok(planned(&plan, "would create", "would configure")),
            Ok(plan) if plan.is_noop() => Ok(planned(&plan, "created", "configured")),
            Ok(plan) => execute(&plan, located, &files.note, connection).await?,
        };
        let outcome = outcome.unwrap_or_else(|message| {
            failures += 1;
            failed(located, &message)
        });
        if term.is_table() {
            print_outcomes(term, std::slice::from_ref(&outcome), dry_run);
        }
        outcomes.push(outcome);
    }
    if !term.is_table() {
        term.structured(&outcomes);
    }
    if failures > 0 {
        return Err(CliError::Partial(format!(
            "{failures} of {} experiment(s) failed; the others were applied",
            manifests.len()
        )));
    }
    Ok(())
}

/// Plans one experiment; the outer error is a connection failure (stop everything), the
/// inner one a problem with this experiment only.
async fn plan_one(
    located: &Located,
    connection: &mut Connection,
) -> Result<Result<Plan, String>, CliError> {
    let current = match connection.find(&located.manifest.key).await {
        Ok(current) => current,
        Err(CliError::Refused(status)) => return Ok(Err(status_message(located, &status))),
        Err(error) => return Err(error),
    };
    Ok(plan(&located.manifest, current.as_ref()))
}

/// Carries out a plan: the write, then each lifecycle step.
async fn execute(
    plan: &Plan,
    located: &Located,
    note: &str,
    connection: &mut Connection,
) -> Result<Result<Outcome, String>, CliError> {
    let spec = Some(pb::ExperimentSpec::from(&plan.spec));
    let key = plan.key.clone();
    let written = match plan.write {
        Write::Create => {
            let request =
                pb::CreateExperimentRequest { key: key.clone(), spec, change_note: note.into() };
            connection
                .experiments
                .create_experiment(request)
                .await
                .map(|r| r.into_inner().experiment)
        }
        Write::Update { base_version } => {
            let request = pb::UpdateExperimentRequest {
                key: key.clone(),
                base_version,
                spec,
                change_note: note.into(),
            };
            connection
                .experiments
                .update_experiment(request)
                .await
                .map(|r| r.into_inner().experiment)
        }
        Write::Keep { .. } => Ok(None),
    };
    let mut last = match written {
        Ok(experiment) => experiment,
        Err(status) => return refusal(located, connection, status),
    };
    for action in &plan.lifecycle {
        let result = lifecycle_step(*action, plan, note, connection).await;
        match result {
            Ok(experiment) => last = experiment.or(last),
            Err(status) => return refusal(located, connection, status),
        }
    }
    let last = last.ok_or_else(|| missing("the response", "experiment"))?;
    let mut outcome = planned(plan, "created", "configured");
    outcome.version = Some(last.version);
    outcome.status = Some(status_name(last.status));
    Ok(Ok(outcome))
}

async fn lifecycle_step(
    action: Action,
    plan: &Plan,
    note: &str,
    connection: &mut Connection,
) -> Result<Option<pb::Experiment>, tonic::Status> {
    let key = plan.key.clone();
    let change_note = note.to_owned();
    let client = &mut connection.experiments;
    Ok(match action {
        Action::Start => {
            let request = pb::StartExperimentRequest { key, change_note };
            client.start_experiment(request).await?.into_inner().experiment
        }
        Action::Pause => {
            let request = pb::PauseExperimentRequest { key, change_note };
            client.pause_experiment(request).await?.into_inner().experiment
        }
        Action::Resume => {
            let request = pb::ResumeExperimentRequest { key, change_note };
            client.resume_experiment(request).await?.into_inner().experiment
        }
        Action::Stop => {
            let rollout_variant_key = plan.rollout_variant.clone().unwrap_or_default();
            let request = pb::StopExperimentRequest { key, rollout_variant_key, change_note };
            client.stop_experiment(request).await?.into_inner().experiment
        }
        Action::Archive => {
            let request = pb::ArchiveExperimentRequest { key, change_note };
            client.archive_experiment(request).await?.into_inner().experiment
        }
        other => return Err(tonic::Status::internal(format!("apply does not plan {other:?}"))),
    })
}

/// A refused write: a connection problem aborts the run, anything else fails only this
/// experiment, with the server's field path mapped to the file's line.
fn refusal(
    located: &Located,
    connection: &Connection,
    status: tonic::Status,
) -> Result<Result<Outcome, String>, CliError> {
    match connection.refused(status) {
        CliError::Refused(status) => Ok(Err(status_message(located, &status))),
        other => Err(other),
    }
}

/// The server's message, located in the file (see [`crate::manifest::Source::server_error`]).
fn status_message(located: &Located, status: &tonic::Status) -> String {
    let code = crate::error::code_name(status.code());
    located.source.server_error(&located.manifest.key, code, status.message())
}

fn planned(plan: &Plan, created: &str, configured: &str) -> Outcome {
    let (result, version) = match plan.write {
        Write::Create => (created, None),
        Write::Update { base_version } => (configured, Some(base_version)),
        Write::Keep { version } if !plan.lifecycle.is_empty() => (configured, Some(version)),
        Write::Keep { version } => ("unchanged", Some(version)),
    };
    // A new experiment's every field is "added": list only what is not the spec itself.
    let changes = match plan.write {
        Write::Create => plan.changes.iter().filter(|c| c.path == "status").cloned().collect(),
        _ => plan.changes.clone(),
    };
    Outcome {
        key: plan.key.clone(),
        result: result.to_owned(),
        version,
        status: None,
        changes,
        error: None,
    }
}

fn failed(located: &Located, message: &str) -> Outcome {
    let error = if message.contains(&located.source.file.display().to_string()) {
        message.to_owned()
    } else {
        format!("{}: experiment {:?} {message}", located.source.locate("key"), located.manifest.key)
    };
    Outcome {
        key: located.manifest.key.clone(),
        result: "failed".to_owned(),
        version: None,
        status: None,
        changes: Vec::new(),
        error: Some(error),
    }
}

/// kubectl-style lines: `experiment/KEY configured (version 5, RUNNING)` and the changed
/// fields under it; failures go to stderr.
fn print_outcomes(term: &mut Term<'_>, outcomes: &[Outcome], structured_if_asked: bool) {
    if !term.is_table() {
        if structured_if_asked {
            term.structured(&outcomes);
        }
        return;
    }
    for outcome in outcomes {
        if let Some(error) = &outcome.error {
            term.note(format!("error: {error}"));
            continue;
        }
        let mut detail = Vec::new();
        if let Some(version) = outcome.version {
            detail.push(format!("version {version}"));
        }
        if let Some(status) = &outcome.status {
            detail.push(status.to_uppercase());
        }
        let detail =
            if detail.is_empty() { String::new() } else { format!(" ({})", detail.join(", ")) };
        term.line(format!("experiment/{} {}{detail}", outcome.key, outcome.result));
        for change in &outcome.changes {
            term.line(format!("    {}", describe(change)));
        }
    }
}
