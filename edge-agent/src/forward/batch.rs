//! Gathering queued events into batches: a batch closes when it holds `max_events`, or
//! `max_age` after its first event arrived, whichever comes first. Size bounds the
//! request; age bounds how stale a quiet agent's events get before they leave.

use std::time::Duration;

use tokio::{sync::mpsc, time::Instant};

/// When a batch closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most events in one batch.
    pub max_events: usize,
    /// Longest a batch stays open after its first event.
    pub max_age: Duration,
}

/// An open batch. Its buffer lives here, not in the future of [`Batcher::next`], so
/// dropping that future (a `select!` that took another branch) loses nothing: the events
/// already received wait here for the next call or for [`Batcher::take_pending`].
#[derive(Debug)]
pub struct Batcher<T> {
    limits: BatchLimits,
    buffer: Vec<T>,
    /// When the open batch closes by age; `None` while it is empty.
    closes_at: Option<Instant>,
}

// === impl Batcher ===

impl<T> Batcher<T> {
    /// An empty batcher; `max_events` is raised to at least 1.
    pub fn new(limits: BatchLimits) -> Self {
        let limits = BatchLimits { max_events: limits.max_events.max(1), ..limits };
        Self { limits, buffer: Vec::new(), closes_at: None }
    }

    /// The next batch: waits for a first event, then for more until the batch is full or
    /// old enough. `None` once `queue` is closed and empty. Cancel-safe.
    pub async fn next(&mut self, queue: &mut mpsc::Receiver<T>) -> Option<Vec<T>> {
        loop {
            let room = self.limits.max_events.saturating_sub(self.buffer.len());
            if room == 0 {
                return Some(self.take_pending());
            }
            let received = match self.closes_at {
                None => queue.recv_many(&mut self.buffer, room).await,
                Some(closes_at) => {
                    match tokio::time::timeout_at(
                        closes_at,
                        queue.recv_many(&mut self.buffer, room),
                    )
                    .await
                    {
                        Ok(received) => received,
                        Err(_elapsed) => return Some(self.take_pending()),
                    }
                }
            };
            if received == 0 {
                // Closed and drained: hand out what is left, then `None`.
                return (!self.buffer.is_empty()).then(|| self.take_pending());
            }
            if self.closes_at.is_none() {
                self.closes_at = Some(Instant::now() + self.limits.max_age);
            }
        }
    }

    /// Whatever the open batch holds, leaving it empty.
    pub fn take_pending(&mut self) -> Vec<T> {
        self.closes_at = None;
        std::mem::take(&mut self.buffer)
    }
}

/// Up to `max` events that are in `queue` right now, without waiting.
pub fn drain_now<T>(queue: &mut mpsc::Receiver<T>, max: usize) -> Vec<T> {
    let mut drained = Vec::new();
    while drained.len() < max {
        match queue.try_recv() {
            Ok(event) => drained.push(event),
            Err(_) => break,
        }
    }
    drained
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BatchLimits = BatchLimits { max_events: 3, max_age: Duration::from_millis(200) };

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_closes_at_once() {
        let (tx, mut rx) = mpsc::channel(16);
        for n in 0..7 {
            tx.try_send(n).expect("room");
        }
        let mut batcher = Batcher::new(LIMITS);
        let started = Instant::now();
        assert_eq!(batcher.next(&mut rx).await, Some(vec![0, 1, 2]));
        assert_eq!(batcher.next(&mut rx).await, Some(vec![3, 4, 5]));
        assert_eq!(started.elapsed(), Duration::ZERO, "full batches wait for nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_batch_closes_after_max_age_from_its_first_event() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut batcher = Batcher::new(LIMITS);
        let producer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.send(1).await.expect("open");
            tokio::time::sleep(Duration::from_millis(100)).await;
            tx.send(2).await.expect("open");
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(tx);
        });
        let started = Instant::now();
        assert_eq!(batcher.next(&mut rx).await, Some(vec![1, 2]));
        assert_eq!(started.elapsed(), Duration::from_millis(250), "50 ms idle + 200 ms age");
        assert_eq!(batcher.next(&mut rx).await, None, "closed and empty");
        producer.await.expect("producer");
    }

    #[tokio::test(start_paused = true)]
    async fn events_received_by_a_dropped_call_are_kept() {
        let (tx, mut rx) = mpsc::channel(16);
        tx.try_send(1).expect("room");
        let mut batcher = Batcher::new(LIMITS);
        let timed_out =
            tokio::time::timeout(Duration::from_millis(10), batcher.next(&mut rx)).await;
        assert!(timed_out.is_err(), "the batch was still open");
        tx.try_send(2).expect("room");
        assert_eq!(batcher.next(&mut rx).await, Some(vec![1, 2]));
        assert!(batcher.take_pending().is_empty());
    }

    #[tokio::test]
    async fn drain_now_takes_only_what_is_there() {
        let (tx, mut rx) = mpsc::channel(16);
        for n in 0..5 {
            tx.try_send(n).expect("room");
        }
        assert_eq!(drain_now(&mut rx, 3), [0, 1, 2]);
        assert_eq!(drain_now(&mut rx, 10), [3, 4]);
        assert!(drain_now(&mut rx, 10).is_empty());
    }
}
