//! The forwarder task: queue → batches → `IngestEvents`, with the spool as the detour
//! while the control plane is away.
//!
//! Two modes, chosen before every step:
//! - **direct** (the spool is empty): take the next batch from the queue and send it. On a
//!   retryable failure the batch is spooled (fsynced) and the next attempt waits out a
//!   jittered exponential backoff; on a permanent one it is dropped and counted.
//! - **replay** (the spool holds events): first move whatever is queued to the end of the
//!   spool, then send the next batch of the oldest segment; delete the segment once all
//!   of it was acknowledged. While backing off, every batch that closes goes to the spool
//!   at once (small memory; a crash loses at most one open batch). New events thus queue behind the spooled ones and reach the
//!   control plane in the order they were made (see `sink` for the overflow exception).
//!
//! Shutdown ([`Forwarder::run`]'s `stop` fires with a deadline): everything queued is
//! sent directly until the deadline if the spool is empty, and whatever is not
//! acknowledged then is appended to the spool with one fsync.

use std::{future::Future, pin::Pin, sync::Arc};

use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};
use vary_proto::pb;

use super::{
    batch::{Batcher, drain_now},
    classify::FailureClass,
    counters::Counters,
    shared::SharedSpool,
    spool::{Appended, SegmentRead},
    upstream::{SendFailure, Upstream},
};
use crate::backoff::Backoff;

/// Most queued events moved to the spool in one replay step (one fsync).
const MAX_MOVED_PER_STEP: usize = 10_000;

/// The forwarder's state; [`Forwarder::run`] consumes it.
#[derive(Debug)]
pub struct Forwarder {
    queue: mpsc::Receiver<pb::Event>,
    batcher: Batcher<pb::Event>,
    batch_size: usize,
    spool: SharedSpool,
    upstream: Upstream,
    backoff: Backoff,
    counters: Arc<Counters>,
    /// The segment being replayed, if any.
    replay: Option<Replay>,
    /// Consecutive failed attempts, for the backoff.
    failures: u32,
    /// No call before this instant (backing off).
    retry_at: Option<Instant>,
    /// Queued events on their way to the spool, kept here so a replay step dropped by
    /// `select!` does not leave the write behind unawaited (shutdown awaits it).
    moving: Option<PendingAppend>,
}

/// A spool append in progress.
struct PendingAppend(Pin<Box<dyn Future<Output = Appended> + Send>>);

/// Everything the forwarder is built from.
#[derive(Debug)]
pub struct ForwarderParts {
    /// The queue's receiving end.
    pub queue: mpsc::Receiver<pb::Event>,
    /// Batch size and age.
    pub batcher: Batcher<pb::Event>,
    /// Events per replayed batch (the batcher's size).
    pub batch_size: usize,
    /// The spool.
    pub spool: SharedSpool,
    /// The control plane.
    pub upstream: Upstream,
    /// Delay between failed attempts.
    pub backoff: Backoff,
    /// The counters.
    pub counters: Arc<Counters>,
}

/// The segment being replayed and its batch in flight (sent again until acknowledged).
#[derive(Debug)]
struct Replay {
    segment: SegmentRead,
    batch: Vec<pb::Event>,
}

// === impl Forwarder ===

impl Forwarder {
    /// A forwarder that starts in direct mode, or in replay mode if the spool holds events
    /// from an earlier run.
    pub fn new(parts: ForwarderParts) -> Self {
        Self {
            queue: parts.queue,
            batcher: parts.batcher,
            batch_size: parts.batch_size.max(1),
            spool: parts.spool,
            upstream: parts.upstream,
            backoff: parts.backoff,
            counters: parts.counters,
            replay: None,
            failures: 0,
            retry_at: None,
            moving: None,
        }
    }

    /// Forwards until `stop` delivers a deadline (or its sender is dropped, which means
    /// "now"), then flushes or spools what is left by that deadline.
    pub async fn run(mut self, mut stop: oneshot::Receiver<Instant>) {
        loop {
            if self.replay.is_some() || !self.spool.is_empty() {
                tokio::select! {
                    biased;
                    deadline = &mut stop => return self.shutdown(deadline.ok(), Vec::new()).await,
                    () = self.replay_step() => {}
                }
                continue;
            }
            let batch = tokio::select! {
                biased;
                deadline = &mut stop => return self.shutdown(deadline.ok(), Vec::new()).await,
                batch = self.batcher.next(&mut self.queue) => batch,
            };
            let Some(batch) = batch else {
                // Every sender is gone: nothing more will come.
                return self.shutdown(None, Vec::new()).await;
            };
            let (sent, stopping) = {
                let send = self.upstream.send(&batch);
                tokio::pin!(send);
                tokio::select! {
                    biased;
                    deadline = &mut stop => {
                        // Let the call in flight finish by the deadline rather than
                        // abandon it and send its events again.
                        let deadline = deadline.ok();
                        let sent = match deadline {
                            Some(deadline) => tokio::time::timeout_at(deadline, &mut send).await.ok(),
                            None => None,
                        };
                        (sent, Some(deadline))
                    }
                    sent = &mut send => (Some(sent), None),
                }
            };
            let unacknowledged = match sent {
                Some(Ok(())) => {
                    self.failures = 0;
                    Vec::new()
                }
                Some(Err(failure)) => {
                    self.failed(failure, batch).await;
                    Vec::new()
                }
                None => batch,
            };
            if let Some(deadline) = stopping {
                return self.shutdown(deadline, unacknowledged).await;
            }
        }
    }

    /// One replay step: queued events to the spool's end, then one batch of the oldest
    /// segment upstream. Cancel-safe: a batch leaves the replay state only once sent.
    async fn replay_step(&mut self) {
        if let Some(moving) = &mut self.moving {
            (&mut moving.0).await;
            self.moving = None;
        }
        if let Some(retry_at) = self.retry_at {
            self.spool_while_backing_off(retry_at).await;
            self.retry_at = None;
        }
        if self.moving.is_none() {
            let mut queued = self.batcher.take_pending();
            queued.extend(drain_now(&mut self.queue, MAX_MOVED_PER_STEP));
            if !queued.is_empty() {
                self.moving = Some(PendingAppend(Box::pin(self.spool.append(queued))));
            }
        }
        if let Some(moving) = &mut self.moving {
            (&mut moving.0).await;
            self.moving = None;
        }
        let replay = match &mut self.replay {
            Some(replay) => replay,
            None => match self.spool.read_oldest().await {
                Ok(Some(segment)) => self.replay.insert(Replay { segment, batch: Vec::new() }),
                Ok(None) => return,
                Err(error) => {
                    tracing::error!(%error, "cannot read the spool; retrying after backoff");
                    self.back_off();
                    return;
                }
            },
        };
        if replay.batch.is_empty() {
            replay.batch = replay.segment.next_batch(self.batch_size, &self.counters);
        }
        if !replay.batch.is_empty() {
            let count = replay.batch.len();
            match self.upstream.send(&replay.batch).await {
                Ok(()) => {
                    self.failures = 0;
                    Counters::add(&self.counters.replayed, count);
                }
                Err(SendFailure { class: FailureClass::Retryable, status }) => {
                    tracing::debug!(%status, "replay failed; retrying after backoff");
                    self.back_off();
                    return;
                }
                Err(SendFailure { class: FailureClass::Permanent, status }) => {
                    drop_permanently(&self.counters, count, &status);
                }
            }
            replay.batch.clear();
            if !replay.segment.is_done() {
                return;
            }
        }
        let seq = replay.segment.seq;
        match self.spool.remove(seq).await {
            Ok(()) => self.replay = None,
            Err(error) => {
                tracing::error!(%error, seq, "cannot delete a replayed spool segment");
                self.back_off();
            }
        }
    }

    /// Waits until `retry_at`, meanwhile moving each batch that closes to the spool: memory
    /// stays small through a long outage, and a crash loses at most one open batch.
    /// Cancel-safe (the batcher keeps its events, `moving` its write).
    async fn spool_while_backing_off(&mut self, retry_at: Instant) {
        loop {
            let batch = tokio::select! {
                biased;
                () = tokio::time::sleep_until(retry_at) => return,
                batch = self.batcher.next(&mut self.queue) => batch,
            };
            let Some(batch) = batch else {
                // Every sender is gone: nothing to move, only the wait.
                tokio::time::sleep_until(retry_at).await;
                return;
            };
            let moving = self.moving.insert(PendingAppend(Box::pin(self.spool.append(batch))));
            (&mut moving.0).await;
            self.moving = None;
        }
    }

    async fn failed(&mut self, failure: SendFailure, batch: Vec<pb::Event>) {
        match failure.class {
            FailureClass::Retryable => {
                tracing::warn!(
                    status = %failure.status,
                    events = batch.len(),
                    "control plane unreachable: spooling events"
                );
                self.spool.append(batch).await;
                self.back_off();
            }
            FailureClass::Permanent => {
                drop_permanently(&self.counters, batch.len(), &failure.status)
            }
        }
    }

    fn back_off(&mut self) {
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(Instant::now() + self.backoff.delay(self.failures));
    }

    /// Sends what is queued until `deadline` (none: do not try), then spools the rest.
    async fn shutdown(mut self, deadline: Option<Instant>, in_flight: Vec<pb::Event>) {
        self.queue.close();
        if let Some(moving) = self.moving.take() {
            moving.0.await;
        }
        let mut pending = in_flight;
        pending.extend(self.batcher.take_pending());
        pending.extend(drain_now(&mut self.queue, usize::MAX));
        let total = pending.len();
        let mut sent = 0;
        // With events already spooled, sending new ones first would reorder them, and the
        // control plane was just failing anyway: spool everything.
        if let Some(deadline) = deadline.filter(|_| self.spool.is_empty() && self.replay.is_none())
        {
            while sent < pending.len() {
                let end = (sent + self.batch_size).min(pending.len());
                let attempt =
                    tokio::time::timeout_at(deadline, self.upstream.send(&pending[sent..end]));
                match attempt.await {
                    Ok(Ok(())) => sent = end,
                    Ok(Err(SendFailure { class: FailureClass::Permanent, status })) => {
                        drop_permanently(&self.counters, end - sent, &status);
                        sent = end;
                    }
                    Ok(Err(SendFailure { class: FailureClass::Retryable, .. })) | Err(_) => break,
                }
            }
        }
        let rest = pending.split_off(sent);
        let spooled = rest.len();
        if !rest.is_empty() {
            self.spool.append(rest).await;
        }
        tracing::info!(total, sent, spooled, "event forwarder stopped");
    }
}

// === impl PendingAppend ===

impl std::fmt::Debug for PendingAppend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingAppend")
    }
}

fn drop_permanently(counters: &Counters, count: usize, status: &tonic::Status) {
    Counters::add(&counters.dropped_permanent, count);
    tracing::error!(%status, dropped = count, "control plane refused a batch: events dropped");
}
