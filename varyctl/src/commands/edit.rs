//! `experiments edit KEY`: the current spec as YAML in the operator's editor, then an
//! update based on the version that was opened (so a concurrent change fails with
//! ABORTED instead of being overwritten).

use std::{io::Write as _, path::Path, process::Command};

use vary_proto::pb;

use crate::{
    cli::EditArgs,
    client::{Connection, missing},
    diff::describe,
    error::CliError,
    manifest::{Manifest, load_text},
    output::Term,
    plan::{Write, plan},
    view::{ExperimentView, status_name},
    yaml,
};

/// `experiments edit`.
pub(super) async fn edit(
    args: EditArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let current = connection.get(&args.key).await?;
    let Some(manifest) = edit_in_editor(&current)? else {
        term.note("edit cancelled: no changes");
        return Ok(());
    };
    let plan = plan(&manifest, Some(&current)).map_err(CliError::InvalidFile)?;
    let Write::Update { base_version } = plan.write else {
        term.note("edit cancelled: the spec is unchanged");
        return Ok(());
    };
    let request = pb::UpdateExperimentRequest {
        key: current.key.clone(),
        base_version,
        spec: Some(pb::ExperimentSpec::from(&plan.spec)),
        change_note: args.note,
    };
    let response = connection.experiments.update_experiment(request).await;
    let updated = response
        .map_err(|status| connection.refused(status))?
        .into_inner()
        .experiment
        .ok_or_else(|| missing("UpdateExperiment", "experiment"))?;
    if term.is_table() {
        term.line(format!("experiment/{} edited (version {})", updated.key, updated.version));
        for change in &plan.changes {
            term.line(format!("    {}", describe(change)));
        }
    } else {
        term.structured(&ExperimentView::from(&updated));
    }
    Ok(())
}

/// Writes `current` as YAML to a temporary file, runs the editor on it and parses the
/// result. `None`: the operator left it unchanged or emptied it. An invalid result keeps
/// the file (its path is in the error) so no typing is lost.
fn edit_in_editor(current: &pb::Experiment) -> Result<Option<Manifest>, CliError> {
    let spec = current
        .spec
        .clone()
        .map(vary_proto::model::ExperimentSpec::try_from)
        .transpose()
        .map_err(|error| CliError::Refused(tonic::Status::internal(error.to_string())))?
        .ok_or_else(|| missing("GetExperiment", "spec"))?;
    let original = format!(
        "# Editing experiment {key} at version {version} ({status}). Save and quit to update it;\n\
         # an unchanged or empty file cancels. The status changes with start/pause/resume/stop.\n{body}",
        key = current.key,
        version = current.version,
        status = status_name(current.status).to_uppercase(),
        body = yaml::to_string(&Manifest::new(current.key.clone(), None, spec).to_value()),
    );
    let mut file = tempfile::Builder::new()
        .prefix(&format!("varyctl-edit-{}-", current.key))
        .suffix(".yaml")
        .tempfile()
        .map_err(|source| CliError::Read { path: std::env::temp_dir(), source })?;
    file.write_all(original.as_bytes())
        .map_err(|source| CliError::Read { path: file.path().to_owned(), source })?;
    run_editor(file.path())?;
    let edited = std::fs::read_to_string(file.path())
        .map_err(|source| CliError::Read { path: file.path().to_owned(), source })?;
    if edited == original || edited.trim().is_empty() {
        return Ok(None);
    }
    match parse_edited(file.path(), &edited, &current.key) {
        Ok(manifest) => Ok(Some(manifest)),
        Err(error) => Err(match file.keep() {
            Ok((_, path)) => CliError::InvalidFile(format!(
                "{error}\nyour edits are saved in {}",
                path.display()
            )),
            Err(_) => error,
        }),
    }
}

/// The one experiment of the edited file, with the same key; its status is ignored (the
/// lifecycle changes through its own commands).
fn parse_edited(path: &Path, text: &str, key: &str) -> Result<Manifest, CliError> {
    let manifests = load_text(path, text)?;
    let [located] = manifests.as_slice() else {
        return Err(CliError::InvalidFile(
            "the edited file must hold exactly one experiment".into(),
        ));
    };
    if located.manifest.key != key {
        return Err(CliError::InvalidFile(format!(
            "the key cannot change (was {key:?}, now {:?})",
            located.manifest.key
        )));
    }
    let mut manifest = located.manifest.clone();
    manifest.status = None;
    Ok(manifest)
}

/// Runs `$VISUAL`, else `$EDITOR`, else `vi` on `path`, through `sh` so editors with
/// arguments (`code --wait`) work.
fn run_editor(path: &Path) -> Result<(), CliError> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .or_else(|| std::env::var("EDITOR").ok().filter(|value| !value.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_owned());
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .map_err(|error| CliError::Usage(format!("cannot run the editor {editor:?}: {error}")))?;
    if !status.success() {
        return Err(CliError::Usage(format!(
            "the editor {editor:?} exited with {status}; nothing was changed"
        )));
    }
    Ok(())
}
