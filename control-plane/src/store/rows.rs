//! Row ↔ model mapping, in one place so every query reads columns the same way.

use anyhow::Context as _;
use tokio_postgres::{Row, types::Json};
use vary_proto::model::{Experiment, ExperimentSpec, Status};

use super::{ExperimentRecord, VersionRecord};
use crate::error::Error;

/// Columns of `experiments` that [`experiment_record`] reads, for SELECT lists.
pub(super) const EXPERIMENT_COLUMNS: &str =
    "key, status, version, spec, rollout_variant_key, revision, created_at, updated_at";

/// Columns of `experiment_versions` that [`version_record`] reads.
pub(super) const VERSION_COLUMNS: &str = "experiment_key AS key, status, version, spec, \
     rollout_variant_key, revision, actor, action, change_note, created_at";

pub(super) fn experiment_record(row: &Row) -> Result<ExperimentRecord, Error> {
    Ok(ExperimentRecord {
        experiment: experiment(row)?,
        revision: row.try_get("revision")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn version_record(row: &Row) -> Result<VersionRecord, Error> {
    Ok(VersionRecord {
        experiment: experiment(row)?,
        revision: row.try_get("revision")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        change_note: row.try_get("change_note")?,
        created_at: row.try_get("created_at")?,
    })
}

fn experiment(row: &Row) -> Result<Experiment, Error> {
    let status_name: &str = row.try_get("status")?;
    let status = Status::parse(status_name)
        .with_context(|| format!("unknown status {status_name:?} in the database"))
        .map_err(Error::Internal)?;
    let Json(spec): Json<ExperimentSpec> = row.try_get("spec")?;
    Ok(Experiment {
        key: row.try_get("key")?,
        version: row.try_get("version")?,
        status,
        spec,
        rollout_variant_key: row.try_get("rollout_variant_key")?,
    })
}
