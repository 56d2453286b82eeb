//! What happened to the agent's events, as plain atomics: cheap enough to bump on the
//! `Assign` path, read by logs and tests now and by the metrics endpoint later.

use std::sync::atomic::{AtomicU64, Ordering};

/// Event counters, shared by the request path, the forwarder and the spool.
///
/// Every event the agent makes ends in exactly one of: `forwarded`, `duplicates`,
/// `rejected`, one of the `dropped_*` counters, or still waiting (in the queue, in flight,
/// or in the spool). `queued`, `spooled` and `replayed` count passages, not ends.
#[derive(Debug, Default)]
pub struct Counters {
    /// Events accepted into the in-memory queue.
    pub queued: AtomicU64,
    /// Events the control plane stored as new.
    pub forwarded: AtomicU64,
    /// Events the control plane already had (retries, replays): harmless.
    pub duplicates: AtomicU64,
    /// Events the control plane refused one by one (permanent; not retried).
    pub rejected: AtomicU64,
    /// Events dropped because the queue and the overflow channel to the spool were full.
    pub dropped_queue_full: AtomicU64,
    /// Events dropped because the spool had reached its size bound.
    pub dropped_spool_full: AtomicU64,
    /// Events dropped because writing them to the spool failed (disk error).
    pub dropped_spool_error: AtomicU64,
    /// Events dropped because the control plane refused their whole batch permanently.
    pub dropped_permanent: AtomicU64,
    /// Events written (and fsynced) to the spool.
    pub spooled: AtomicU64,
    /// Events read back from the spool and acknowledged upstream.
    pub replayed: AtomicU64,
    /// Corrupt or truncated spool regions skipped (each lost at least one event).
    pub corrupt_records: AtomicU64,
    /// Bytes in the spool's segment files now (a gauge).
    pub spool_bytes: AtomicU64,
}

/// A copy of [`Counters`] at one instant, for assertions and log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the fields mirror `Counters`, documented there
pub struct CountersSnapshot {
    pub queued: u64,
    pub forwarded: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub dropped_queue_full: u64,
    pub dropped_spool_full: u64,
    pub dropped_spool_error: u64,
    pub dropped_permanent: u64,
    pub spooled: u64,
    pub replayed: u64,
    pub corrupt_records: u64,
    pub spool_bytes: u64,
}

// === impl Counters ===

impl Counters {
    /// Adds `count` to `counter`. Relaxed: the counters order nothing else.
    pub fn add(counter: &AtomicU64, count: usize) {
        counter.fetch_add(count as u64, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> CountersSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CountersSnapshot {
            queued: load(&self.queued),
            forwarded: load(&self.forwarded),
            duplicates: load(&self.duplicates),
            rejected: load(&self.rejected),
            dropped_queue_full: load(&self.dropped_queue_full),
            dropped_spool_full: load(&self.dropped_spool_full),
            dropped_spool_error: load(&self.dropped_spool_error),
            dropped_permanent: load(&self.dropped_permanent),
            spooled: load(&self.spooled),
            replayed: load(&self.replayed),
            corrupt_records: load(&self.corrupt_records),
            spool_bytes: load(&self.spool_bytes),
        }
    }
}

// === impl CountersSnapshot ===

impl CountersSnapshot {
    /// Events dropped for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_spool_full
            + self.dropped_spool_error
            + self.dropped_permanent
    }

    /// Events the control plane answered for (stored, duplicate or refused).
    pub fn acknowledged(&self) -> u64 {
        self.forwarded + self.duplicates + self.rejected
    }
}
