//! The request path's side of forwarding: [`EventSink::send`] never waits and never
//! touches the disk.
//!
//! An event goes into the bounded in-memory queue the forwarder drains. When that queue
//! is full (the forwarder is slower than the traffic, for example while it spools during
//! an outage), the event goes into a second, smaller bounded channel read by the
//! overflow writer, which appends it to the spool. When that channel is full too, the
//! event is dropped and counted in `dropped_queue_full`. Overflowed events reach the
//! spool ahead of older events still in the queue, so under overflow the upstream order
//! is only roughly the order of creation; nothing depends on it (each event carries its
//! own time, and ingest is keyed by event id).

use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use vary_proto::pb;

use super::{batch::drain_now, counters::Counters, shared::SharedSpool};

/// Where one sent event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Into the in-memory queue.
    Queued,
    /// Into the overflow channel, on its way to the spool.
    Overflowed,
    /// Nowhere: both were full (counted).
    Dropped,
}

/// The cheap-clone handle the gRPC services hold.
#[derive(Debug, Clone)]
pub struct EventSink {
    queue: mpsc::Sender<pb::Event>,
    overflow: mpsc::Sender<pb::Event>,
    counters: Arc<Counters>,
}

// === impl EventSink ===

impl EventSink {
    /// A sink over the two channels' senders.
    pub fn new(
        queue: mpsc::Sender<pb::Event>,
        overflow: mpsc::Sender<pb::Event>,
        counters: Arc<Counters>,
    ) -> Self {
        Self { queue, overflow, counters }
    }

    /// Hands `event` on without waiting; see the module docs for the order of resorts.
    pub fn send(&self, event: pb::Event) -> Sent {
        let event = match self.queue.try_send(event) {
            Ok(()) => {
                Counters::add(&self.counters.queued, 1);
                return Sent::Queued;
            }
            Err(TrySendError::Full(event) | TrySendError::Closed(event)) => event,
        };
        match self.overflow.try_send(event) {
            Ok(()) => Sent::Overflowed,
            Err(_) => {
                Counters::add(&self.counters.dropped_queue_full, 1);
                Sent::Dropped
            }
        }
    }

    /// Sends each event; returns how many were dropped.
    pub fn send_all(&self, events: impl IntoIterator<Item = pb::Event>) -> usize {
        events
            .into_iter()
            .map(|event| self.send(event))
            .filter(|sent| *sent == Sent::Dropped)
            .count()
    }

    /// Events waiting in the queue and in the overflow channel now.
    pub fn queue_depth(&self) -> usize {
        let waiting = |sender: &mpsc::Sender<pb::Event>| sender.max_capacity() - sender.capacity();
        waiting(&self.queue) + waiting(&self.overflow)
    }

    /// The shared counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

/// Appends overflowed events to the spool in batches of up to `batch_size`, until
/// `stop`; then appends whatever is still in the channel and returns.
pub async fn run_overflow_writer(
    mut overflow: mpsc::Receiver<pb::Event>,
    spool: SharedSpool,
    batch_size: usize,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(batch_size);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            received = overflow.recv_many(&mut batch, batch_size) => {
                if received == 0 {
                    return;
                }
                tracing::warn!(events = batch.len(), "event queue full: spooling directly");
                spool.append(std::mem::take(&mut batch)).await;
            }
        }
    }
    overflow.close();
    if !batch.is_empty() {
        spool.append(batch).await;
    }
    loop {
        let rest = drain_now(&mut overflow, batch_size);
        if rest.is_empty() {
            return;
        }
        spool.append(rest).await;
    }
}
