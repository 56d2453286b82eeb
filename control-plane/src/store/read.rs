//! Read queries. None takes locks: versions are immutable and `experiments` rows are
//! replaced whole inside write transactions, so a read sees one committed state.

use vary_proto::model::Status;

use super::page_token::PageToken;
use super::rows::{EXPERIMENT_COLUMNS, VERSION_COLUMNS, experiment_record, version_record};
use super::{ExperimentRecord, Store, VersionRecord};
use crate::error::Error;

/// Filters of a list query; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct ExperimentFilter {
    /// Only this status. With `None`, archived experiments are left out unless
    /// `include_archived`.
    pub status: Option<Status>,
    /// Only this layer.
    pub layer: Option<String>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Keep archived experiments when no status is given.
    pub include_archived: bool,
}

impl Store {
    /// The experiment's current state.
    pub async fn get_experiment(&self, key: &str) -> Result<ExperimentRecord, Error> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE key = $1");
        let row = client.query_opt(&sql, &[&key]).await?;
        let row =
            row.ok_or_else(|| Error::NotFound { entity: "experiment", key: key.to_owned() })?;
        experiment_record(&row)
    }

    /// One page of experiments ordered by key, and the token of the next page if any.
    pub async fn list_experiments(
        &self,
        filter: &ExperimentFilter,
        after: Option<&str>,
        page_size: i64,
    ) -> Result<(Vec<ExperimentRecord>, Option<PageToken>), Error> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments \
             WHERE ($1::text IS NULL OR status = $1) \
               AND ($1::text IS NOT NULL OR $2 OR status <> 'archived') \
               AND ($3::text IS NULL OR layer = $3) \
               AND ($4::text IS NULL OR owner = $4) \
               AND ($5::text IS NULL OR key > $5) \
             ORDER BY key LIMIT $6"
        );
        let status = filter.status.map(Status::as_str);
        let rows = client
            .query(
                &sql,
                &[
                    &status,
                    &filter.include_archived,
                    &filter.layer,
                    &filter.owner,
                    &after,
                    &(page_size + 1),
                ],
            )
            .await?;
        let mut records = rows.iter().map(experiment_record).collect::<Result<Vec<_>, _>>()?;
        let next = next_page(&mut records, page_size)
            .map(|last| PageToken::AfterKey(last.experiment.key.clone()));
        Ok((records, next))
    }

    /// One version of an experiment.
    pub async fn get_version(&self, key: &str, version: i64) -> Result<VersionRecord, Error> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM experiment_versions \
             WHERE experiment_key = $1 AND version = $2"
        );
        match client.query_opt(&sql, &[&key, &version]).await? {
            Some(row) => version_record(&row),
            None => {
                // Tell "no such experiment" apart from "no such version of it".
                self.get_experiment(key).await?;
                Err(Error::NotFound {
                    entity: "experiment version",
                    key: format!("{key}@{version}"),
                })
            }
        }
    }

    /// One page of an experiment's versions, oldest first.
    pub async fn list_versions(
        &self,
        key: &str,
        after_version: i64,
        page_size: i64,
    ) -> Result<(Vec<VersionRecord>, Option<PageToken>), Error> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM experiment_versions \
             WHERE experiment_key = $1 AND version > $2 ORDER BY version LIMIT $3"
        );
        let rows = client.query(&sql, &[&key, &after_version, &(page_size + 1)]).await?;
        if rows.is_empty() && after_version == 0 {
            self.get_experiment(key).await?;
        }
        let mut records = rows.iter().map(version_record).collect::<Result<Vec<_>, _>>()?;
        let next = next_page(&mut records, page_size)
            .map(|last| PageToken::AfterVersion(last.experiment.version));
        Ok((records, next))
    }

    /// Every version of an experiment, oldest first, with its commit time: what phases
    /// are derived from. Experiments have tens of versions, so this reads them at once.
    pub async fn version_history(
        &self,
        key: &str,
    ) -> Result<Vec<(vary_proto::model::Experiment, time::OffsetDateTime)>, Error> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM experiment_versions WHERE experiment_key = $1 ORDER BY version"
        );
        client
            .query(&sql, &[&key])
            .await?
            .iter()
            .map(|row| version_record(row).map(|record| (record.experiment, record.created_at)))
            .collect()
    }

    /// The global config revision: the number of committed changes.
    pub async fn current_revision(&self) -> Result<i64, Error> {
        let client = self.pool.get().await?;
        let row = client.query_one("SELECT revision FROM config_revision", &[]).await?;
        Ok(row.try_get(0)?)
    }
}

/// Trims the one extra row fetched to learn whether another page exists, returning the
/// last record served when it does.
fn next_page<T>(records: &mut Vec<T>, page_size: i64) -> Option<&T> {
    let page_size = usize::try_from(page_size).unwrap_or(usize::MAX);
    if records.len() > page_size {
        records.truncate(page_size);
        records.last()
    } else {
        None
    }
}
