//! The one write path: every mutation of an experiment commits here, in one transaction
//! holding the new immutable version, the bump of the global config revision, the
//! audit event and the change notification.

use tokio_postgres::{Transaction, types::Json};
use vary_proto::model::{Action, Experiment, Status};

use super::rows::{EXPERIMENT_COLUMNS, experiment_record};
use super::{ExperimentRecord, NewAuditEvent, Store};
use crate::error::Error;

/// Postgres channel that carries the new revision (as text) after every commit.
pub const CONFIG_CHANNEL: &str = "vary_config";

/// A change to one experiment: who, what, and the function that computes the new state
/// from the current one (`None` when the experiment does not exist yet).
#[derive(Debug)]
pub struct Change<'a, F> {
    /// The principal making the change.
    pub actor: &'a str,
    /// The experiment changed.
    pub key: &'a str,
    /// What kind of change it is.
    pub action: Action,
    /// The operator's note.
    pub change_note: &'a str,
    /// Computes the next state; runs inside the transaction, after the locks are taken,
    /// so what it checks (status, base version) cannot change before commit.
    pub apply: F,
}

/// Who changed what, and why: recorded on the version and the audit event.
struct Provenance<'a> {
    actor: &'a str,
    key: &'a str,
    action: Action,
    change_note: &'a str,
}

impl Store {
    /// Commits `change`: bumps the revision, computes the next state, checks layer
    /// exclusivity, writes the experiment row, its version and the audit event, and
    /// notifies listeners. Nothing is written when any step fails.
    pub async fn commit<F>(&self, change: Change<'_, F>) -> Result<ExperimentRecord, Error>
    where
        F: FnOnce(Option<&Experiment>) -> Result<Experiment, Error>,
    {
        let Change { actor, key, action, change_note, apply } = change;
        let provenance = Provenance { actor, key, action, change_note };
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        // Taking the revision row lock first serialises all config writers: revisions are
        // handed out in commit order, and the checks below see every earlier commit.
        let revision: i64 = transaction
            .query_one(
                "UPDATE config_revision SET revision = revision + 1, committed_at = now() \
                 RETURNING revision",
                &[],
            )
            .await?
            .try_get(0)?;
        let current = lock_current(&transaction, key).await?;
        let before = current.as_ref().map(|record| &record.experiment);
        let next = apply(before)?;
        next.validate()?;
        check_layer_exclusive(&transaction, &next).await?;
        let record = write_experiment(&transaction, &next, revision).await?;
        insert_version(&transaction, &provenance, &record).await?;
        insert_audit(&transaction, &provenance, before, &next, revision).await?;
        transaction
            .execute("SELECT pg_notify($1, $2)", &[&CONFIG_CHANNEL, &revision.to_string()])
            .await?;
        transaction.commit().await?;
        tracing::info!(
            experiment = key,
            version = next.version,
            revision,
            action = action.as_str(),
            actor,
            "experiment change committed"
        );
        Ok(record)
    }
}

async fn lock_current(
    transaction: &Transaction<'_>,
    key: &str,
) -> Result<Option<ExperimentRecord>, Error> {
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE key = $1 FOR UPDATE");
    transaction.query_opt(&sql, &[&key]).await?.as_ref().map(experiment_record).transpose()
}

/// Refuses a running experiment whose layer range overlaps another running one's.
async fn check_layer_exclusive(
    transaction: &Transaction<'_>,
    next: &Experiment,
) -> Result<(), Error> {
    let Some((layer, _)) = next.spec.layer_range() else { return Ok(()) };
    if next.status != Status::Running {
        return Ok(());
    }
    let sql = format!(
        "SELECT {EXPERIMENT_COLUMNS} FROM experiments \
         WHERE layer = $1 AND status = 'running' AND key <> $2"
    );
    let others = transaction
        .query(&sql, &[&layer, &next.key])
        .await?
        .iter()
        .map(|row| experiment_record(row).map(|record| record.experiment))
        .collect::<Result<Vec<_>, _>>()?;
    match next.layer_overlap(&others) {
        Some(overlap) => Err(Error::LayerOverlap { key: next.key.clone(), source: overlap }),
        None => Ok(()),
    }
}

async fn write_experiment(
    transaction: &Transaction<'_>,
    next: &Experiment,
    revision: i64,
) -> Result<ExperimentRecord, Error> {
    let sql = format!(
        "INSERT INTO experiments \
           (key, status, version, layer, owner, spec, rollout_variant_key, revision, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now()) \
         ON CONFLICT (key) DO UPDATE SET \
           status = EXCLUDED.status, version = EXCLUDED.version, layer = EXCLUDED.layer, \
           owner = EXCLUDED.owner, spec = EXCLUDED.spec, \
           rollout_variant_key = EXCLUDED.rollout_variant_key, revision = EXCLUDED.revision, \
           updated_at = EXCLUDED.updated_at \
         RETURNING {EXPERIMENT_COLUMNS}"
    );
    let layer = next.spec.layer_range().map(|(name, _)| name);
    let row = transaction
        .query_one(
            &sql,
            &[
                &next.key,
                &next.status.as_str(),
                &next.version,
                &layer,
                &next.spec.owner,
                &Json(&next.spec),
                &next.rollout_variant_key,
                &revision,
            ],
        )
        .await?;
    experiment_record(&row)
}

async fn insert_version(
    transaction: &Transaction<'_>,
    change: &Provenance<'_>,
    record: &ExperimentRecord,
) -> Result<(), Error> {
    let experiment = &record.experiment;
    transaction
        .execute(
            "INSERT INTO experiment_versions \
               (experiment_key, version, status, spec, rollout_variant_key, revision, actor, \
                action, change_note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &experiment.key,
                &experiment.version,
                &experiment.status.as_str(),
                &Json(&experiment.spec),
                &experiment.rollout_variant_key,
                &record.revision,
                &change.actor,
                &change.action.as_str(),
                &change.change_note,
                &record.updated_at,
            ],
        )
        .await?;
    Ok(())
}

async fn insert_audit(
    transaction: &Transaction<'_>,
    change: &Provenance<'_>,
    before: Option<&Experiment>,
    after: &Experiment,
    revision: i64,
) -> Result<(), Error> {
    let action = format!("experiment.{}", change.action.as_str());
    let json = |experiment| {
        serde_json::to_value(experiment)
            .map_err(|error| Error::Internal(anyhow::Error::new(error).context("audit JSON")))
    };
    NewAuditEvent {
        actor: change.actor,
        action: &action,
        target_type: "experiment",
        target_key: change.key,
        before: before.map(json).transpose()?,
        after: json(after)?,
        revision: Some(revision),
    }
    .insert(transaction)
    .await
}
