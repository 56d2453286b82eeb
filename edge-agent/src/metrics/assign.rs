//! What the `Assign` path records, priced for it: per (experiment, variant) counters
//! reached by index through a table built once per revision (no key hashing, no lock per
//! request), and a latency histogram of fixed buckets kept in atomics. Both are read and
//! formatted only when Prometheus scrapes.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use vary_proto::assign::{Assignment, CompiledSnapshot};

/// Upper bounds of the latency buckets, in nanoseconds: 1 µs to 10 ms (the budget under
/// load is a 1 ms p99 over loopback gRPC; the handler itself takes a few µs).
pub const LATENCY_BOUNDS_NANOS: [u64; 13] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// An (experiment key, variant key) pair.
type Pair = (Box<str>, Box<str>);

/// Counters of every (experiment, variant) served since the agent started. Counters
/// survive revisions (a counter must only go up), so a table for a new revision reuses
/// the counters of the pairs it shares with the previous one.
#[derive(Debug, Default)]
pub struct AssignmentCounters {
    by_pair: Mutex<HashMap<Pair, Arc<AtomicU64>>>,
}

/// One revision's counters, indexed like the compiled snapshot: `offsets[experiment] +
/// variant` is the slot in `slots`.
#[derive(Debug, Default)]
pub struct RevisionCounters {
    offsets: Box<[u32]>,
    slots: Box<[Arc<AtomicU64>]>,
}

/// A histogram of `Assign` handler latencies.
#[derive(Debug, Default)]
pub struct AssignLatency {
    /// Count per bucket, not cumulative; the last slot is +Inf.
    buckets: [AtomicU64; LATENCY_BOUNDS_NANOS.len() + 1],
    sum_nanos: AtomicU64,
}

/// A consistent-enough copy of [`AssignLatency`] for one scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// Sum of observations, in seconds.
    pub sum_seconds: f64,
    /// Number of observations.
    pub count: u64,
    /// (upper bound in seconds, count in that bucket alone), +Inf last; the encoder
    /// accumulates them into Prometheus's cumulative `le` buckets.
    pub buckets: Vec<(f64, u64)>,
}

// === impl AssignmentCounters ===

impl AssignmentCounters {
    /// The table for `compiled`, reusing the counters of pairs seen before.
    pub fn for_revision(&self, compiled: &CompiledSnapshot) -> RevisionCounters {
        let mut by_pair = self.by_pair.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut offsets = Vec::with_capacity(compiled.experiment_count());
        let mut slots = Vec::new();
        for (experiment, variants) in compiled.experiment_variants() {
            offsets.push(slots.len() as u32);
            for variant in variants {
                let counter = by_pair.entry((experiment.into(), variant.into())).or_default();
                slots.push(counter.clone());
            }
        }
        RevisionCounters { offsets: offsets.into(), slots: slots.into() }
    }

    /// Every pair's count, in key order.
    pub fn counts(&self) -> Vec<(String, String, u64)> {
        let by_pair = self.by_pair.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut counts: Vec<_> = by_pair
            .iter()
            .map(|((experiment, variant), count)| {
                (experiment.to_string(), variant.to_string(), count.load(Ordering::Relaxed))
            })
            .collect();
        counts.sort_unstable();
        counts
    }
}

// === impl RevisionCounters ===

impl RevisionCounters {
    /// Counts each assignment: two indexed loads and one relaxed add apiece.
    pub fn record(&self, assignments: &[Assignment<'_>]) {
        for assignment in assignments {
            let slot = self
                .offsets
                .get(assignment.experiment_index as usize)
                .map(|offset| *offset as usize + usize::from(assignment.variant_index))
                .and_then(|slot| self.slots.get(slot));
            if let Some(counter) = slot {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

// === impl AssignLatency ===

impl AssignLatency {
    /// Records one call that took `elapsed`.
    pub fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_NANOS.partition_point(|bound| *bound < nanos);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The histogram now. Read without a lock, so a scrape racing a call may see its
    /// bucket without its sum; the next scrape is exact again.
    pub fn snapshot(&self) -> LatencySnapshot {
        let mut buckets = Vec::with_capacity(self.buckets.len());
        let mut count = 0;
        for (index, bucket) in self.buckets.iter().enumerate() {
            let in_bucket = bucket.load(Ordering::Relaxed);
            count += in_bucket;
            let bound =
                LATENCY_BOUNDS_NANOS.get(index).map_or(f64::INFINITY, |nanos| *nanos as f64 / 1e9);
            buckets.push((bound, in_bucket));
        }
        LatencySnapshot {
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_land_in_the_first_bucket_that_holds_them() {
        let latency = AssignLatency::default();
        latency.observe(Duration::from_nanos(800));
        latency.observe(Duration::from_nanos(1_000));
        latency.observe(Duration::from_micros(3));
        latency.observe(Duration::from_secs(1));
        let snapshot = latency.snapshot();
        assert_eq!(snapshot.count, 4);
        assert_eq!(snapshot.buckets[0], (1e-6, 2), "<= 1 µs: two");
        assert_eq!(snapshot.buckets[1], (2.5e-6, 0));
        assert_eq!(snapshot.buckets[2], (5e-6, 1));
        assert_eq!(snapshot.buckets.last(), Some(&(f64::INFINITY, 1)));
        assert!((snapshot.sum_seconds - 1.0000048).abs() < 1e-9, "{}", snapshot.sum_seconds);
    }
}
