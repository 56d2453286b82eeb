//! Writing the registry through to PostgreSQL, and reading the whole fleet back.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_postgres::types::Json;
use tokio_util::sync::CancellationToken;

use super::registry::Fleet;
use crate::error::Error;

/// One agent as stored, for `ListAgents`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    /// The agent's id.
    pub agent_id: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its build version.
    pub agent_version: String,
    /// A stream is open, and the agent was seen within the staleness window.
    pub connected: bool,
    /// Last revision sent.
    pub sent_revision: i64,
    /// Last revision acknowledged.
    pub applied_revision: i64,
    /// Last revision refused.
    pub rejected_revision: i64,
    /// Why.
    pub rejected_error: String,
    /// Last message from the agent.
    pub last_seen: OffsetDateTime,
    /// The replica holding (or last holding) its stream.
    pub replica: String,
}

/// Drains dirty agent ids and upserts their current state, batching whatever queued up
/// meanwhile (latest state wins). On `stop` it flushes what is still queued (the
/// disconnects of a shutdown among it) and returns.
pub async fn run_fleet_writer(
    fleet: Fleet,
    mut dirty: mpsc::UnboundedReceiver<String>,
    stop: CancellationToken,
) {
    loop {
        let mut batch = BTreeSet::new();
        let stopping = tokio::select! {
            () = stop.cancelled() => true,
            first = dirty.recv() => match first {
                Some(agent_id) => { batch.insert(agent_id); false }
                None => true,
            },
        };
        while let Ok(next) = dirty.try_recv() {
            batch.insert(next);
        }
        let states: Vec<_> = batch.iter().filter_map(|agent_id| fleet.get(agent_id)).collect();
        if !states.is_empty()
            && let Err(error) = write_states(fleet.pool(), fleet.replica(), &states).await
        {
            let error = anyhow::Error::from(error);
            tracing::warn!(error = ?error, agents = states.len(), "persisting fleet state failed");
        }
        if stopping {
            return;
        }
    }
}

async fn write_states(
    pool: &deadpool_postgres::Pool,
    replica: &str,
    states: &[super::registry::AgentState],
) -> Result<(), Error> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let statement = transaction
        .prepare(
            "INSERT INTO agents (agent_id, labels, agent_version, connected, replica, \
               sent_revision, applied_revision, rejected_revision, rejected_error, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (agent_id) DO UPDATE SET \
               labels = EXCLUDED.labels, agent_version = EXCLUDED.agent_version, \
               connected = EXCLUDED.connected, replica = EXCLUDED.replica, \
               sent_revision = EXCLUDED.sent_revision, applied_revision = EXCLUDED.applied_revision, \
               rejected_revision = GREATEST(agents.rejected_revision, EXCLUDED.rejected_revision), \
               rejected_error = CASE WHEN EXCLUDED.rejected_revision >= agents.rejected_revision \
                                     THEN EXCLUDED.rejected_error ELSE agents.rejected_error END, \
               last_seen_at = EXCLUDED.last_seen_at \
             WHERE EXCLUDED.connected OR agents.replica = EXCLUDED.replica",
        )
        .await?;
    for state in states {
        transaction
            .execute(
                &statement,
                &[
                    &state.agent_id,
                    &Json(&state.labels),
                    &state.agent_version,
                    &state.connection.is_some(),
                    &replica,
                    &state.sent_revision,
                    &state.applied_revision,
                    &state.rejected_revision,
                    &state.rejected_error,
                    &state.last_seen,
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// One page of the fleet ordered by agent id. An agent counts as connected only if it
/// was seen within `stale_after` (a replica that died cannot mark its agents gone).
pub async fn list_agents(
    pool: &deadpool_postgres::Pool,
    after: Option<&str>,
    limit: i64,
    stale_after: std::time::Duration,
) -> Result<Vec<AgentRow>, Error> {
    let client = pool.get().await?;
    let stale_seconds = stale_after.as_secs_f64();
    let rows = client
        .query(
            "SELECT agent_id, labels, agent_version, \
                    connected AND last_seen_at > now() - make_interval(secs => $3) AS connected, \
                    sent_revision, applied_revision, rejected_revision, rejected_error, \
                    last_seen_at, replica \
             FROM agents WHERE ($1::text IS NULL OR agent_id > $1) ORDER BY agent_id LIMIT $2",
            &[&after, &limit, &stale_seconds],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let Json(labels): Json<BTreeMap<String, String>> = row.try_get("labels")?;
            Ok(AgentRow {
                agent_id: row.try_get("agent_id")?,
                labels,
                agent_version: row.try_get("agent_version")?,
                connected: row.try_get("connected")?,
                sent_revision: row.try_get("sent_revision")?,
                applied_revision: row.try_get("applied_revision")?,
                rejected_revision: row.try_get("rejected_revision")?,
                rejected_error: row.try_get("rejected_error")?,
                last_seen: row.try_get("last_seen_at")?,
                replica: row.try_get("replica")?,
            })
        })
        .collect()
}
