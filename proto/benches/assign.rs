//! Assignment engine benchmarks (DESIGN section 9: `Assign` inside the agent, engine
//! only, 200 running experiments, at most 2 µs).
//!
//! `cargo bench -p vary-proto --bench assign`; results in docs/BENCHMARKS.md.
//!
//! The synthetic snapshot spreads N running experiments over the five recommender
//! placements. Per placement, three quarters sit in three mutual-exclusion layers with
//! disjoint ranges and a quarter in no layer; every experiment has two rule groups
//! (country list AND device, OR logged-in AND numeric tier), 20 QA overrides, an
//! allocation between 50% and 100%, and 2 to 4 variants with params.
//!
//! Rules come from a pool of 11 distinct conditions (four country lists, two device
//! exclusions, four tier thresholds, logged-in), as targeting tends to repeat across a
//! team's experiments; `evaluate/200_unique_rules` gives every experiment conditions
//! of its own, the worst case for the per-request condition memo.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;
use time::OffsetDateTime;
use vary_proto::assign::{AssignRequest, CompiledSnapshot, Context};
use vary_proto::model::{
    BucketRange, Condition, Experiment, ExperimentSpec, LayerPlacement, Operator, RuleGroup,
    Schedule, Snapshot, Status, Variant,
};

mod support;

const PLACEMENTS: [&str; 5] = ["pdp", "newsfeed", "search", "home", "cart"];
const LAYERS_PER_PLACEMENT: usize = 3;
const SIZES: [usize; 3] = [200, 1_000, 10_000];
/// 2026-06-01T12:00:00Z; the engine takes the time as an argument.
const NOW_UNIX_SECONDS: i64 = 1_780_315_200;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW_UNIX_SECONDS).expect("a 2026 timestamp is in range")
}

fn condition(attribute: &str, operator: Operator, values: &[&str]) -> Condition {
    Condition {
        attribute: attribute.into(),
        operator,
        values: values.iter().map(|value| (*value).into()).collect(),
    }
}

/// Whether experiments draw their conditions from a small shared pool or each has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    SharedPool,
    Unique,
}

fn eligibility(index: usize, rules: Rules) -> Vec<RuleGroup> {
    const COUNTRY_LISTS: [&[&str]; 4] = [
        &["DE", "AT", "CH"],
        &["FR", "BE", "NL", "LU"],
        &["US", "CA"],
        &["DE", "FR", "IT", "ES", "PL"],
    ];
    let mut countries: Vec<String> =
        COUNTRY_LISTS[index % 4].iter().map(|code| (*code).to_owned()).collect();
    let mut tier = (1 + index % 4).to_string();
    if rules == Rules::Unique {
        countries.push(format!("X{index}"));
        tier = format!("{}.{index}", index % 4);
    }
    let countries: Vec<&str> = countries.iter().map(String::as_str).collect();
    vec![
        RuleGroup {
            conditions: vec![
                condition("country", Operator::In, &countries),
                condition("device", Operator::Neq, &[["bot", "crawler"][index % 2]]),
            ],
        },
        RuleGroup {
            conditions: vec![
                condition("logged_in", Operator::Eq, &["true"]),
                condition("tier", Operator::Gte, &[&tier]),
            ],
        },
    ]
}

fn synthetic_snapshot(experiment_count: usize, rules: Rules) -> Snapshot {
    let per_placement = experiment_count / PLACEMENTS.len();
    let layered_per_placement = per_placement * 3 / 4;
    let per_layer = layered_per_placement.div_ceil(LAYERS_PER_PLACEMENT).max(1);
    let range_width = 10_000 / per_layer as u32;
    let experiments = (0..experiment_count)
        .map(|index| {
            let placement = PLACEMENTS[index % PLACEMENTS.len()];
            let position = index / PLACEMENTS.len();
            let layer = (position < layered_per_placement).then(|| {
                let layer_index = position / per_layer;
                let slot = (position % per_layer) as u32;
                LayerPlacement {
                    name: format!("{placement}-layer-{layer_index}"),
                    range: BucketRange { start: slot * range_width, end: (slot + 1) * range_width },
                }
            });
            let variant_count = 2 + index % 3;
            let variants = (0..variant_count)
                .map(|variant| Variant {
                    key: format!("v{variant}"),
                    weight: 1.0 + variant as f64,
                    control: variant == 0,
                    params: json!({"model": format!("als-v{variant}"), "k": 20 + variant})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    description: String::new(),
                })
                .collect();
            let overrides: BTreeMap<String, String> =
                (0..20).map(|qa| (format!("qa-{index}-{qa}"), "v1".to_owned())).collect();
            Experiment {
                key: format!("exp-{index:05}"),
                version: 1,
                status: Status::Running,
                rollout_variant_key: None,
                spec: ExperimentSpec {
                    name: format!("experiment {index}"),
                    description: String::new(),
                    hypothesis: String::new(),
                    owner: "bench".into(),
                    salt: String::new(),
                    layer,
                    allocation_bps: 5_000 + (index as u32 * 37) % 5_001,
                    variants,
                    placements: vec![placement.into()],
                    eligibility: eligibility(index, rules),
                    schedule: Schedule::default(),
                    overrides,
                    metrics: vec![],
                },
            }
        })
        .collect();
    Snapshot { revision: 1, experiments }
}

/// 64 requests across the five placements, varied contexts, user and session units.
fn requests() -> Vec<AssignRequest> {
    (0..64)
        .map(|index| AssignRequest {
            user_id: if index % 4 == 3 {
                String::new()
            } else {
                format!("user-{index}-{}", index * 7919)
            },
            session_id: format!("session-{index:08x}"),
            context: Context {
                placement: PLACEMENTS[index % PLACEMENTS.len()].into(),
                page_type: "product".into(),
                country: ["DE", "US", "FR", "JP"][index % 4].into(),
                device: ["mobile", "desktop", "tablet"][index % 3].into(),
                logged_in: Some(index % 2 == 0),
                attributes: [("tier".to_owned(), (index % 5).to_string())].into(),
            },
            experiment_keys: vec![],
        })
        .collect()
}

fn bench_evaluate(criterion: &mut Criterion) {
    evaluate_group(criterion, "evaluate");
}

/// The same evaluations measured in this thread's CPU time (see `support`).
fn bench_evaluate_cpu_time(criterion: &mut Criterion<support::ThreadCpuTime>) {
    evaluate_group(criterion, "evaluate_cpu_time");
}

fn evaluate_group<M: Measurement>(criterion: &mut Criterion<M>, group_name: &str) {
    let mut group = criterion.benchmark_group(group_name);
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    let requests = requests();
    let now = now();
    let cases = SIZES
        .iter()
        .map(|&size| (size.to_string(), synthetic_snapshot(size, Rules::SharedPool)))
        .chain([("200_unique_rules".to_owned(), synthetic_snapshot(200, Rules::Unique))]);
    for (name, snapshot) in cases {
        snapshot.validate().expect("the synthetic snapshot is valid");
        let compiled = CompiledSnapshot::compile(&snapshot).expect("a valid snapshot compiles");
        let assigned: usize =
            requests.iter().map(|request| compiled.evaluate(request, now).assignments.len()).sum();
        println!("{group_name}/{name}: {:.1} assignments per request", assigned as f64 / 64.0);
        group.bench_with_input(
            BenchmarkId::from_parameter(&name),
            &compiled,
            |bencher, compiled| {
                let mut next = 0;
                bencher.iter(|| {
                    next = (next + 1) % requests.len();
                    black_box(compiled.evaluate(black_box(&requests[next]), now));
                });
            },
        );
    }
    let compiled =
        CompiledSnapshot::compile(&synthetic_snapshot(200, Rules::SharedPool)).expect("compiles");
    let mut qa_request = requests[0].clone();
    qa_request.user_id = "qa-0-3".into();
    group.bench_function("200_with_override_hit", |bencher| {
        bencher.iter(|| black_box(compiled.evaluate(black_box(&qa_request), now)));
    });
    group.finish();
}

fn bench_explain(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("explain");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    let compiled =
        CompiledSnapshot::compile(&synthetic_snapshot(200, Rules::SharedPool)).expect("compiles");
    let request = requests()[0].clone();
    let now = now();
    group.bench_function("200", |bencher| {
        bencher.iter(|| black_box(compiled.explain(black_box(&request), now)));
    });
    group.finish();
}

fn bench_compile(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("compile");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.sample_size(10);
    for size in SIZES {
        let snapshot = synthetic_snapshot(size, Rules::SharedPool);
        group.bench_with_input(
            BenchmarkId::from_parameter(size),
            &snapshot,
            |bencher, snapshot| {
                bencher.iter(|| CompiledSnapshot::compile(black_box(snapshot)).expect("compiles"));
            },
        );
    }
    group.finish();
    // The agent validates every snapshot before compiling it (model code, not the
    // engine's), so a revision costs both; measured here for the same snapshots.
    let mut group = criterion.benchmark_group("validate");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.sample_size(10);
    for size in SIZES {
        let snapshot = synthetic_snapshot(size, Rules::SharedPool);
        group.bench_with_input(
            BenchmarkId::from_parameter(size),
            &snapshot,
            |bencher, snapshot| {
                bencher.iter(|| black_box(snapshot).validate().expect("valid"));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_evaluate, bench_explain, bench_compile);
criterion_group! {
    name = cpu_time_benches;
    config = Criterion::default().with_measurement(support::ThreadCpuTime);
    targets = bench_evaluate_cpu_time
}
criterion_main!(benches, cpu_time_benches);
