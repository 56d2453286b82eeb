//! The in-memory registry of agents connected to this replica.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use deadpool_postgres::Pool;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::error::Error;

/// Per-agent state, as `ListAgents` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentState {
    /// The agent's id.
    pub agent_id: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its build version.
    pub agent_version: String,
    /// The stream it is connected on, if any (ids are unique per replica).
    pub connection: Option<u64>,
    /// Last revision sent.
    pub sent_revision: i64,
    /// Last revision acknowledged.
    pub applied_revision: i64,
    /// Last revision refused; never sent to this agent again.
    pub rejected_revision: i64,
    /// Why it was refused.
    pub rejected_error: String,
    /// Last message from the agent.
    pub last_seen: OffsetDateTime,
}

/// Handle to this replica's registry; cheap to clone.
#[derive(Debug, Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    replica: String,
    pool: Pool,
    agents: Mutex<HashMap<String, AgentState>>,
    dirty: mpsc::UnboundedSender<String>,
    next_connection: AtomicU64,
    nacks: AtomicU64,
}

/// How many agents have a stream to this replica, and how many of those lag the head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Agents with an open stream.
    pub connected: u64,
    /// Of those, agents whose applied revision is older than the head.
    pub behind_head: u64,
}

/// One open Watch stream of one agent.
#[derive(Debug, Clone)]
pub struct AgentSession {
    /// The agent.
    pub agent_id: String,
    /// This stream's id.
    pub connection: u64,
    /// The revision this agent refused before, so it is not sent again.
    pub rejected_revision: i64,
}

impl Fleet {
    /// A registry for `replica`; returns the receiver of dirty agent ids, which
    /// [`super::run_fleet_writer`] drains into PostgreSQL.
    pub fn new(replica: String, pool: Pool) -> (Self, mpsc::UnboundedReceiver<String>) {
        let (dirty, dirty_rx) = mpsc::unbounded_channel();
        let inner = Inner {
            replica,
            pool,
            agents: Mutex::new(HashMap::new()),
            dirty,
            next_connection: AtomicU64::new(1),
            nacks: AtomicU64::new(0),
        };
        (Self { inner: Arc::new(inner) }, dirty_rx)
    }

    /// This replica's name, recorded with the agents it serves.
    pub fn replica(&self) -> &str {
        &self.inner.replica
    }

    /// NACKs received by this replica since it started.
    pub fn nack_count(&self) -> u64 {
        self.inner.nacks.load(Ordering::Relaxed)
    }

    /// Registers a new stream from `hello`. What the agent rejected before is read from
    /// PostgreSQL, so a revision refused through another replica is not re-sent either.
    pub async fn connect(
        &self,
        agent_id: &str,
        labels: BTreeMap<String, String>,
        agent_version: String,
        known_revision: i64,
    ) -> Result<AgentSession, Error> {
        let persisted_rejection = self.persisted_rejection(agent_id).await?;
        let connection = self.inner.next_connection.fetch_add(1, Ordering::Relaxed);
        let rejected_revision = self.update(agent_id, |state| {
            state.labels = labels;
            state.agent_version = agent_version;
            state.connection = Some(connection);
            state.applied_revision = known_revision;
            if let Some((revision, error)) = persisted_rejection
                && revision > state.rejected_revision
            {
                state.rejected_revision = revision;
                state.rejected_error = error;
            }
            state.rejected_revision
        });
        Ok(AgentSession { agent_id: agent_id.to_owned(), connection, rejected_revision })
    }

    /// The snapshot of `revision` was sent on the agent's stream.
    pub fn sent(&self, agent_id: &str, revision: i64) {
        self.update(agent_id, |state| state.sent_revision = revision);
    }

    /// The agent acknowledged `revision` (applied it, or still serves it).
    pub fn applied(&self, agent_id: &str, revision: i64) {
        self.update(agent_id, |state| state.applied_revision = revision);
    }

    /// The agent refused `revision`; logged and counted here.
    pub fn rejected(&self, agent_id: &str, revision: i64, error: String) {
        tracing::warn!(agent_id, revision, error = %error, "agent rejected a config revision");
        self.inner.nacks.fetch_add(1, Ordering::Relaxed);
        self.update(agent_id, |state| {
            state.rejected_revision = revision;
            state.rejected_error = error;
        });
    }

    /// The stream `connection` ended; a newer stream of the same agent is left alone.
    pub fn disconnected(&self, agent_id: &str, connection: u64) {
        self.update(agent_id, |state| {
            if state.connection == Some(connection) {
                state.connection = None;
            }
        });
    }

    /// Counts the connected agents, and those behind `head` (none while it is unknown).
    pub fn connection_counts(&self, head: Option<i64>) -> ConnectionCounts {
        let agents = self.lock();
        let mut counts = ConnectionCounts::default();
        for state in agents.values().filter(|state| state.connection.is_some()) {
            counts.connected += 1;
            if head.is_some_and(|head| state.applied_revision < head) {
                counts.behind_head += 1;
            }
        }
        counts
    }

    /// The current state of one agent.
    pub fn get(&self, agent_id: &str) -> Option<AgentState> {
        self.lock().get(agent_id).cloned()
    }

    /// Applies `edit`, stamps `last_seen`, and queues the agent for persisting.
    fn update<T>(&self, agent_id: &str, edit: impl FnOnce(&mut AgentState) -> T) -> T {
        let result = {
            let mut agents = self.lock();
            let state = agents.entry(agent_id.to_owned()).or_insert_with(|| AgentState {
                agent_id: agent_id.to_owned(),
                labels: BTreeMap::new(),
                agent_version: String::new(),
                connection: None,
                sent_revision: 0,
                applied_revision: 0,
                rejected_revision: 0,
                rejected_error: String::new(),
                last_seen: OffsetDateTime::now_utc(),
            });
            state.last_seen = OffsetDateTime::now_utc();
            edit(state)
        };
        // The writer only stops after every Fleet handle is gone, so this cannot fail
        // while `self` exists; if it ever did, the next change would persist the state.
        let _ = self.inner.dirty.send(agent_id.to_owned());
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AgentState>> {
        // A panic while holding the lock leaves plain data behind, still consistent
        // field by field; keep serving rather than poisoning every stream.
        self.inner.agents.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn persisted_rejection(&self, agent_id: &str) -> Result<Option<(i64, String)>, Error> {
        let client = self.inner.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT rejected_revision, rejected_error FROM agents WHERE agent_id = $1",
                &[&agent_id],
            )
            .await?;
        Ok(row.map(|row| (row.get(0), row.get(1))))
    }

    pub(super) fn pool(&self) -> &Pool {
        &self.inner.pool
    }
}
