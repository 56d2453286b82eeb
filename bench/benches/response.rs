//! What the fix proposed in docs/BENCHMARKS.md ("Assign over gRPC (load tool)") would
//! save: the agent builds each `Assign` response by cloning every assigned variant's
//! params `Struct`, encodes it, and drops it (`vary_edge_agent::respond`); the alternative
//! writes each (experiment, variant)'s `Assignment` encoded once per snapshot. Both give
//! the same bytes (checked before timing).
//!
//! `cargo bench -p vary-bench --bench response`

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message as _;
use vary_bench::experiments;
use vary_proto::{
    assign::{Assignment, Reason, UnitType},
    pb,
};

/// Four assignments, as the load tool's mix gets on average against 200 experiments.
const ASSIGNED: usize = 4;

struct Assigned {
    key: String,
    variant: String,
    layer: Option<String>,
    params: Arc<prost_types::Struct>,
}

fn assigned() -> Vec<Assigned> {
    (0..ASSIGNED)
        .map(|index| {
            let spec = experiments::spec(index * 7, 200);
            let variant = &spec.variants[1];
            Assigned {
                key: experiments::key(index * 7),
                variant: variant.key.clone(),
                layer: (!spec.layer.is_empty()).then(|| spec.layer.clone()),
                params: Arc::new(variant.params.clone().unwrap_or_default()),
            }
        })
        .collect()
}

fn engine_view(assigned: &[Assigned]) -> Vec<Assignment<'_>> {
    assigned
        .iter()
        .enumerate()
        .map(|(index, entry)| Assignment {
            experiment_key: &entry.key,
            version: 2,
            variant_key: &entry.variant,
            params: &entry.params,
            reason: Reason::Hash,
            layer: entry.layer.as_deref(),
            forced: false,
            log_exposure: true,
            experiment_index: index as u32,
            variant_index: 1,
        })
        .collect()
}

/// Today: build the message (params cloned), encode it, drop it.
fn respond_today(assignments: &[Assignment<'_>], buffer: &mut Vec<u8>) {
    let response = vary_edge_agent::respond::assign_response(
        17,
        UnitType::User,
        assignments,
        Some(Duration::from_millis(250)),
    );
    buffer.clear();
    response.encode(buffer).expect("a Vec grows");
}

/// Proposed: each `Assignment` encoded once per snapshot; a call writes the bytes.
fn respond_pre_encoded(pre_encoded: &[&[u8]], buffer: &mut Vec<u8>) {
    buffer.clear();
    for assignment in pre_encoded {
        // A message field is a length-delimited field: the same bytes as a bytes field.
        prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, buffer);
        prost::encoding::encode_varint(assignment.len() as u64, buffer);
        buffer.extend_from_slice(assignment);
    }
    prost::encoding::int64::encode(2, &17, buffer);
    let staleness = prost_types::Duration { seconds: 0, nanos: 250_000_000 };
    prost::encoding::message::encode(3, &staleness, buffer);
    prost::encoding::int32::encode(4, &(pb::UnitType::User as i32), buffer);
}

fn bench(criterion: &mut Criterion) {
    let assigned = assigned();
    let view = engine_view(&assigned);
    let pre_encoded: Vec<Vec<u8>> =
        vary_edge_agent::respond::assign_response(1, UnitType::User, &view, None)
            .assignments
            .iter()
            .map(pb::Assignment::encode_to_vec)
            .collect();
    let pre_encoded: Vec<&[u8]> = pre_encoded.iter().map(Vec::as_slice).collect();
    let (mut today, mut proposed) = (Vec::new(), Vec::new());
    respond_today(&view, &mut today);
    respond_pre_encoded(&pre_encoded, &mut proposed);
    assert_eq!(
        pb::AssignResponse::decode(today.as_slice()).expect("decodes"),
        pb::AssignResponse::decode(proposed.as_slice()).expect("decodes"),
        "both ways must answer the same"
    );
    let mut group = criterion.benchmark_group("assign_response_4_assigned");
    group.bench_function("build_clone_params_encode_drop", |bencher| {
        bencher.iter(|| respond_today(black_box(&view), &mut today))
    });
    group.bench_function("write_pre_encoded", |bencher| {
        bencher.iter(|| respond_pre_encoded(black_box(&pre_encoded), &mut proposed))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
