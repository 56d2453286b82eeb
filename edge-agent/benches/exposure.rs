//! What exposure logging adds to one `Assign` inside the agent: building one event per
//! assigned experiment (a UUIDv7, a timestamp, owned strings) and a non-blocking
//! `try_send` into the forwarding queue. The queue is drained between timed chunks, so the
//! measurement is the request path's cost, not the forwarder's.

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use vary_edge_agent::{
    capture::record_assign_exposures,
    forward::{Counters, EventSink},
};
use vary_proto::assign::{AssignRequest, Assignment, Assignments, Context, Reason, Unit, UnitType};

/// Calls timed between two drains of the queue.
const CHUNK: u64 = 2_048;

fn keys(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("reco-model-ranking-{n:03}")).collect()
}

fn bench_exposures(c: &mut Criterion) {
    let params = Arc::new(prost_types::Struct::default());
    let request = AssignRequest {
        user_id: "7f3c9a2e-41d5-4b8e-9c6a-0d2f8e1b5a73".into(),
        session_id: "sess-2f8e1b5a730d".into(),
        context: Context { placement: "pdp".into(), ..Default::default() },
        experiment_keys: Vec::new(),
    };
    let mut group = c.benchmark_group("assign_exposures");
    for (assigned, log_exposure) in [(5, Some(false)), (1, None), (5, None), (20, None)] {
        let keys = keys(assigned);
        let result = Assignments {
            revision: 42,
            unit: Unit { unit_type: UnitType::User, id: &request.user_id },
            assignments: keys
                .iter()
                .map(|key| Assignment {
                    experiment_key: key,
                    version: 3,
                    variant_key: "treatment",
                    params: &params,
                    reason: Reason::Hash,
                    layer: None,
                    forced: false,
                    log_exposure: true,
                    experiment_index: 0,
                    variant_index: 0,
                })
                .collect(),
        };
        let (queue, mut receiver) = mpsc::channel((CHUNK as usize) * assigned);
        let (overflow, _overflow_receiver) = mpsc::channel(1);
        let sink = EventSink::new(queue, overflow, Arc::new(Counters::default()));
        let label = match log_exposure {
            Some(false) => format!("{assigned}_assigned_log_exposure_false"),
            _ => format!("{assigned}_assigned"),
        };
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let chunk = (iters - done).min(CHUNK);
                    let started = Instant::now();
                    for _ in 0..chunk {
                        let now = OffsetDateTime::now_utc();
                        record_assign_exposures(
                            &sink,
                            black_box(log_exposure),
                            &request,
                            &result,
                            now,
                        );
                    }
                    total += started.elapsed();
                    while receiver.try_recv().is_ok() {}
                    done += chunk;
                }
                total
            });
        });
        let dropped = sink.counters().snapshot().dropped();
        assert_eq!(dropped, 0, "the queue never filled, so the drop path was not measured");
    }
    group.finish();
}

criterion_group!(benches, bench_exposures);
criterion_main!(benches);
