//! Commands that change one experiment without a file: lifecycle transitions, the ramp
//! and rollback. Each prints the new version.

use vary_proto::pb;

use crate::{
    cli::{LifecycleArgs, RampArgs, RollbackArgs, StopArgs},
    client::{Connection, missing},
    error::CliError,
    output::{Term, percent},
    view::{ExperimentView, status_name},
};

/// `start`.
pub(super) async fn start(
    args: LifecycleArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let request = pb::StartExperimentRequest { key: args.key, change_note: args.note };
    let response = connection.experiments.start_experiment(request).await;
    let experiment = response.map_err(|status| connection.refused(status))?.into_inner().experiment;
    report(term, "started", experiment)
}

/// `pause`.
pub(super) async fn pause(
    args: LifecycleArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let request = pb::PauseExperimentRequest { key: args.key, change_note: args.note };
    let response = connection.experiments.pause_experiment(request).await;
    let experiment = response.map_err(|status| connection.refused(status))?.into_inner().experiment;
    report(term, "paused", experiment)
}

/// `resume`.
pub(super) async fn resume(
    args: LifecycleArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let request = pb::ResumeExperimentRequest { key: args.key, change_note: args.note };
    let response = connection.experiments.resume_experiment(request).await;
    let experiment = response.map_err(|status| connection.refused(status))?.into_inner().experiment;
    report(term, "resumed", experiment)
}

/// `stop`.
pub(super) async fn stop(
    args: StopArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let request = pb::StopExperimentRequest {
        key: args.key,
        rollout_variant_key: args.rollout.unwrap_or_default(),
        change_note: args.note,
    };
    let response = connection.experiments.stop_experiment(request).await;
    let experiment = response.map_err(|status| connection.refused(status))?.into_inner().experiment;
    report(term, "stopped", experiment)
}

/// `archive`.
pub(super) async fn archive(
    args: LifecycleArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let request = pb::ArchiveExperimentRequest { key: args.key, change_note: args.note };
    let response = connection.experiments.archive_experiment(request).await;
    let experiment = response.map_err(|status| connection.refused(status))?.into_inner().experiment;
    report(term, "archived", experiment)
}

/// `ramp`.
pub(super) async fn ramp(
    args: RampArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let allocation_bps = args.allocation_bps;
    let request = pb::SetExperimentAllocationRequest {
        key: args.key,
        allocation_bps,
        change_note: args.note,
    };
    let response = connection.experiments.set_experiment_allocation(request).await;
    let experiment = response.map_err(|status| connection.refused(status))?.into_inner().experiment;
    report(term, &format!("ramped to {}", percent(allocation_bps)), experiment)
}

/// `rollback`.
pub(super) async fn rollback(
    args: RollbackArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let to_version = args.to_version;
    let request =
        pb::RollbackExperimentRequest { key: args.key, to_version, change_note: args.note };
    let response = connection.experiments.rollback_experiment(request).await;
    let experiment = response.map_err(|status| connection.refused(status))?.into_inner().experiment;
    report(term, &format!("rolled back to the spec of version {to_version}"), experiment)
}

fn report(
    term: &mut Term<'_>,
    what: &str,
    experiment: Option<pb::Experiment>,
) -> Result<(), CliError> {
    let experiment = experiment.ok_or_else(|| missing("the response", "experiment"))?;
    if term.is_table() {
        term.line(format!(
            "experiment {} {what}: version {}, {}",
            experiment.key,
            experiment.version,
            status_name(experiment.status).to_uppercase()
        ));
    } else {
        term.structured(&ExperimentView::from(&experiment));
    }
    Ok(())
}
