//! The spool as the async side uses it: one [`Spool`] behind a mutex, every disk
//! operation on tokio's blocking pool so an fsync never stalls a runtime worker (and so
//! never the `Assign` path on the same worker).

use std::{
    future::Future,
    io,
    sync::{Arc, Mutex, PoisonError, atomic::Ordering},
};

use vary_proto::pb;

use super::{
    counters::Counters,
    spool::{Appended, SegmentRead, Spool},
};

/// A cheap-clone handle on the spool, used by the forwarder and the overflow writer.
#[derive(Debug, Clone)]
pub struct SharedSpool {
    spool: Arc<Mutex<Spool>>,
    counters: Arc<Counters>,
}

// === impl SharedSpool ===

impl SharedSpool {
    /// Shares `spool`; `counters` must be the ones the spool was opened with.
    pub fn new(spool: Spool, counters: Arc<Counters>) -> Self {
        Self { spool: Arc::new(Mutex::new(spool)), counters }
    }

    /// Whether no event waits in the spool, without taking the lock: the spool keeps its
    /// size in the `spool_bytes` gauge, and every non-empty segment has bytes.
    pub fn is_empty(&self) -> bool {
        self.counters.spool_bytes.load(Ordering::Relaxed) == 0
    }

    /// Appends `events` and fsyncs them. The events move to the blocking pool when this
    /// is called, not when the future is first polled, so a caller that drops the future
    /// still gets them written. An I/O error drops the events (counted, logged): there is
    /// nowhere else to keep them without unbounded memory.
    pub fn append(&self, events: Vec<pb::Event>) -> impl Future<Output = Appended> + use<> {
        let spool = self.spool.clone();
        let counters = self.counters.clone();
        let count = events.len();
        let task = tokio::task::spawn_blocking(move || lock(&spool).append(&events));
        async move {
            match joined(task.await) {
                Ok(appended) => appended,
                Err(error) => {
                    Counters::add(&counters.dropped_spool_error, count);
                    tracing::error!(%error, dropped = count, "spool append failed: events dropped");
                    Appended { written: 0, dropped_full: 0 }
                }
            }
        }
    }

    /// [`Spool::read_oldest`] on the blocking pool.
    pub async fn read_oldest(&self) -> io::Result<Option<SegmentRead>> {
        let spool = self.spool.clone();
        joined(tokio::task::spawn_blocking(move || lock(&spool).read_oldest()).await)
    }

    /// [`Spool::remove`] on the blocking pool.
    pub async fn remove(&self, seq: u64) -> io::Result<()> {
        let spool = self.spool.clone();
        joined(tokio::task::spawn_blocking(move || lock(&spool).remove(seq)).await)
    }
}

/// The spool's files check themselves, so state left by a panicking holder is still
/// usable: take the lock anyway.
fn lock(spool: &Mutex<Spool>) -> std::sync::MutexGuard<'_, Spool> {
    spool.lock().unwrap_or_else(PoisonError::into_inner)
}

fn joined<T>(result: Result<io::Result<T>, tokio::task::JoinError>) -> io::Result<T> {
    match result {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_cancelled) => Err(io::Error::other("the runtime is shutting down")),
    }
}
