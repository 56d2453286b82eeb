//! The snapshot the agent serves, shared between the sync loop (one writer) and every
//! request (many readers) without a lock: an `ArcSwapOption` holds the compiled snapshot,
//! an atomic holds when the control plane last confirmed it, and a watch channel tells
//! the few async waiters (health, tests) when the revision changes.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use arc_swap::{ArcSwapOption, Guard};
use time::OffsetDateTime;
use tokio::sync::watch;
use vary_proto::{
    assign::CompiledSnapshot,
    model::{Snapshot, time_from_timestamp},
    pb,
};

use crate::{
    convert::snapshot_from_pb,
    encoded::EncodedAssignments,
    error::Error,
    metrics::assign::{AssignmentCounters, RevisionCounters},
};

/// `confirmed_at_ms` before any confirmation.
const NEVER: i64 = i64::MIN;

/// Where a served snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Received on the Watch stream.
    ControlPlane,
    /// Read from the last-known-good file at start.
    LastKnownGood,
}

/// One revision, compiled and ready to answer requests.
#[derive(Debug)]
pub struct Served {
    /// What `Assign` evaluates.
    pub compiled: CompiledSnapshot,
    /// Each of its variants' `Assignment`, encoded once for `Assign`'s answers.
    pub encoded: EncodedAssignments,
    /// When the control plane committed this revision, if it said.
    pub commit_time: Option<OffsetDateTime>,
    /// Stream or file.
    pub origin: Origin,
    /// This revision's per-variant assignment counters; attached by
    /// [`SnapshotStore::install`], empty (counting nothing) before.
    pub assignment_counts: RevisionCounters,
}

/// The served snapshot and its freshness; cheap to share (`Arc`), never blocks readers.
#[derive(Debug)]
pub struct SnapshotStore {
    current: ArcSwapOption<Served>,
    /// Unix milliseconds of the last time the control plane said the served revision is
    /// the head, or [`NEVER`]. Wall-clock time, because a snapshot loaded from the file
    /// carries the time it was written by a previous process.
    confirmed_at_ms: AtomicI64,
    /// The served revision, `None` before the first; only waiters subscribe, requests
    /// never touch it. (Revision 0 is real: the empty config of a fresh installation.)
    revision: watch::Sender<Option<i64>>,
    /// Assignments served per (experiment, variant), across revisions.
    assignments: AssignmentCounters,
}

// === impl Served ===

impl Served {
    /// Converts, validates (the shared rules) and compiles a received snapshot. Any
    /// failure is a rejection the caller answers with a NACK; nothing here is served yet.
    pub fn prepare(message: pb::ConfigSnapshot, origin: Origin) -> Result<Self, Error> {
        let revision = message.revision;
        let invalid = |source| Error::InvalidSnapshot { revision, source };
        let commit_time = message
            .commit_time
            .as_ref()
            .map(|at| time_from_timestamp(at).map_err(|error| error.under("commit_time")))
            .transpose()
            .map_err(invalid)?;
        let snapshot: Snapshot = snapshot_from_pb(message).map_err(invalid)?;
        snapshot.validate().map_err(invalid)?;
        let compiled = CompiledSnapshot::compile(&snapshot)
            .map_err(|source| Error::Uncompilable { revision, source })?;
        let encoded = EncodedAssignments::encode(&compiled);
        Ok(Self {
            compiled,
            encoded,
            commit_time,
            origin,
            assignment_counts: RevisionCounters::default(),
        })
    }

    /// The revision.
    pub fn revision(&self) -> i64 {
        self.compiled.revision()
    }
}

// === impl SnapshotStore ===

impl SnapshotStore {
    /// An empty store: requests get `UNAVAILABLE` until the first [`SnapshotStore::install`].
    pub fn new() -> Self {
        Self {
            current: ArcSwapOption::empty(),
            confirmed_at_ms: AtomicI64::new(NEVER),
            revision: watch::Sender::new(None),
            assignments: AssignmentCounters::default(),
        }
    }

    /// The served snapshot, for one request: a wait-free load, no reference-count traffic.
    pub fn current(&self) -> Guard<Option<Arc<Served>>> {
        self.current.load()
    }

    /// The served revision, `None` before the first snapshot.
    pub fn revision(&self) -> Option<i64> {
        self.current.load().as_ref().map(|served| served.revision())
    }

    /// Serves `served` from now on. `confirmed_at` is when the control plane last said it
    /// is the head (now, for a snapshot just received; the file's write time for the
    /// last-known-good file).
    pub fn install(&self, mut served: Served, confirmed_at: OffsetDateTime) {
        let revision = served.revision();
        served.assignment_counts = self.assignments.for_revision(&served.compiled);
        // Freshness first, so a request never sees the new revision with a missing time.
        self.confirmed_at_ms.store(unix_millis(confirmed_at), Ordering::Release);
        self.current.store(Some(Arc::new(served)));
        self.revision.send_replace(Some(revision));
    }

    /// Records that the control plane confirmed the served revision is the head.
    pub fn confirm(&self, at: OffsetDateTime) {
        self.confirmed_at_ms.store(unix_millis(at), Ordering::Release);
    }

    /// How long ago the served revision was last confirmed as the head, at `now`; `None`
    /// before anything was served. Never negative, even if the wall clock stepped back.
    pub fn staleness(&self, now: OffsetDateTime) -> Option<Duration> {
        let confirmed = self.confirmed_at_ms.load(Ordering::Acquire);
        if confirmed == NEVER {
            return None;
        }
        let elapsed_ms = unix_millis(now).saturating_sub(confirmed).max(0);
        Some(Duration::from_millis(elapsed_ms as u64))
    }

    /// Assignments served since start per (experiment, variant), in key order.
    pub fn assignment_counts(&self) -> Vec<(String, String, u64)> {
        self.assignments.counts()
    }

    /// A receiver of the served revision, for waiters such as health.
    pub fn subscribe(&self) -> watch::Receiver<Option<i64>> {
        self.revision.subscribe()
    }
}

impl Default for SnapshotStore {
    fn default() -> Self {
        Self::new()
    }
}

fn unix_millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(revision: i64) -> Served {
        let message = pb::ConfigSnapshot { revision, commit_time: None, experiments: vec![] };
        Served::prepare(message, Origin::ControlPlane).expect("an empty snapshot is valid")
    }

    #[test]
    fn an_empty_store_serves_nothing_and_has_no_staleness() {
        let store = SnapshotStore::new();
        assert!(store.current().is_none());
        assert_eq!(store.revision(), None);
        assert_eq!(store.staleness(OffsetDateTime::now_utc()), None);
    }

    #[test]
    fn staleness_counts_from_the_last_confirmation() {
        let store = SnapshotStore::new();
        let installed_at = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_000);
        store.install(served(4), installed_at);
        assert_eq!(store.revision(), Some(4));
        let later = installed_at + Duration::from_secs(30);
        assert_eq!(store.staleness(later), Some(Duration::from_secs(30)));
        store.confirm(later);
        assert_eq!(
            store.staleness(later + Duration::from_millis(5)),
            Some(Duration::from_millis(5))
        );
        assert_eq!(store.staleness(installed_at), Some(Duration::ZERO), "clock stepped back");
    }

    #[test]
    fn subscribers_see_the_installed_revision() {
        let store = SnapshotStore::new();
        let receiver = store.subscribe();
        store.install(served(9), OffsetDateTime::now_utc());
        assert_eq!(*receiver.borrow(), Some(9));
    }
}
