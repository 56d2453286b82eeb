//! Writing one `Assign` answer, the two ways the agent has had: the message form
//! (`vary_edge_agent::respond::assign_response`: clone each assigned variant's params
//! `Struct`, encode, drop), which it used until the fix in docs/BENCHMARKS.md ("Assign over
//! gRPC"), and the bytes it writes now (`vary_edge_agent::encoded`: each variant's
//! `Assignment` encoded once per revision). Both are measured on real evaluations of the
//! load tool's snapshot (200 experiments) and request mix, and give the same bytes
//! (checked before timing).
//!
//! `cargo bench -p vary-bench --bench response`

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message as _;
use time::OffsetDateTime;
use vary_bench::{experiments, mix::MixSettings};
use vary_edge_agent::{
    respond, serve,
    snapshot::{Origin, Served},
};
use vary_proto::{assign::AssignRequest, pb};

const EXPERIMENTS: usize = 200;
/// Requests each timed iteration answers (the same ones each time).
const REQUESTS: usize = 256;

fn served() -> Served {
    let experiments = (0..EXPERIMENTS)
        .map(|index| pb::Experiment {
            key: experiments::key(index),
            status: pb::ExperimentStatus::Running as i32,
            version: 2,
            spec: Some(experiments::spec(index, EXPERIMENTS)),
            ..Default::default()
        })
        .collect();
    let message = pb::ConfigSnapshot { revision: 17, commit_time: None, experiments };
    Served::prepare(message, Origin::ControlPlane).expect("the load tool's snapshot is valid")
}

fn requests() -> Vec<AssignRequest> {
    let settings = MixSettings { pool_size: REQUESTS, ..MixSettings::default() };
    settings
        .requests()
        .into_iter()
        .map(|request| {
            serve::engine_request(
                request.user_id,
                request.session_id,
                request.context,
                request.experiment_keys,
            )
            .expect("the mix draws valid requests")
        })
        .collect()
}

fn bench(criterion: &mut Criterion) {
    let served = served();
    let requests = requests();
    let now = OffsetDateTime::now_utc();
    let results: Vec<_> =
        requests.iter().map(|request| served.compiled.evaluate(request, now)).collect();
    let assigned: usize = results.iter().map(|result| result.assignments.len()).sum();
    assert!(assigned > REQUESTS, "the mix should assign several experiments per call");
    let staleness = Some(Duration::from_millis(250));
    for result in &results {
        let message = respond::assign_response(
            result.revision,
            result.unit.unit_type,
            &result.assignments,
            staleness,
        );
        let written = served.encoded.assign_response(
            result.revision,
            result.unit.unit_type,
            &result.assignments,
            staleness,
        );
        assert_eq!(written.as_ref(), message.encode_to_vec().as_slice(), "the same bytes");
    }

    let mut group = criterion.benchmark_group(format!("assign_response_{REQUESTS}_calls"));
    let mut buffer = Vec::new();
    group.bench_function("message_clone_params_encode_drop", |bencher| {
        bencher.iter(|| {
            for result in black_box(&results) {
                let message = respond::assign_response(
                    result.revision,
                    result.unit.unit_type,
                    &result.assignments,
                    staleness,
                );
                buffer.clear();
                message.encode(&mut buffer).expect("a Vec grows");
            }
        })
    });
    group.bench_function("pre_encoded_bytes", |bencher| {
        bencher.iter(|| {
            for result in black_box(&results) {
                black_box(served.encoded.assign_response(
                    result.revision,
                    result.unit.unit_type,
                    &result.assignments,
                    staleness,
                ));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
