//! The config snapshot: every non-archived experiment at one revision, read consistently.

use time::OffsetDateTime;

use super::rows::{EXPERIMENT_COLUMNS, experiment_record};
use super::{ExperimentRecord, Store};
use crate::error::Error;

/// The head revision and the experiments it consists of.
#[derive(Debug, Clone)]
pub struct ConfigAtRevision {
    /// The global config revision.
    pub revision: i64,
    /// When it was committed.
    pub committed_at: OffsetDateTime,
    /// Non-archived experiments, ordered by key.
    pub experiments: Vec<ExperimentRecord>,
}

impl Store {
    /// Reads the head revision and its experiments in one REPEATABLE READ snapshot, so
    /// the experiments are exactly those of that revision even while writers commit.
    pub async fn load_config(&self) -> Result<ConfigAtRevision, Error> {
        let mut client = self.pool.get().await?;
        let transaction = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let head = transaction
            .query_one("SELECT revision, committed_at FROM config_revision", &[])
            .await?;
        let sql = format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE status <> 'archived' ORDER BY key"
        );
        let experiments = transaction
            .query(&sql, &[])
            .await?
            .iter()
            .map(experiment_record)
            .collect::<Result<Vec<_>, _>>()?;
        transaction.commit().await?;
        Ok(ConfigAtRevision {
            revision: head.try_get("revision")?,
            committed_at: head.try_get("committed_at")?,
            experiments,
        })
    }
}
