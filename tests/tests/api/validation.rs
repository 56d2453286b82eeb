use prost_types::{Timestamp, Value, value::Kind};
use tonic::Code;
use vary_proto::pb;
use vary_tests::{TestControlPlane, fixtures};

use crate::assert_status;

type Bend = fn(&mut pb::ExperimentSpec);

/// One broken spec per validation rule, with the field path the error must name.
fn broken_specs() -> Vec<(&'static str, Bend)> {
    vec![
        ("spec.name", |s| s.name.clear()),
        ("spec.owner", |s| s.owner = "   ".into()),
        ("spec.description", |s| s.description = "x".repeat(10_001)),
        ("spec.variants", |s| s.variants.truncate(1)),
        ("spec.variants[1].key", |s| s.variants[1].key = "control".into()),
        ("spec.variants[1].key", |s| s.variants[1].key = "Has Space".into()),
        ("spec.variants[1].weight", |s| s.variants[1].weight = 0.0),
        ("spec.variants[0].weight", |s| s.variants[0].weight = -1.0),
        ("spec.variants[1].weight", |s| s.variants[1].weight = f64::NAN),
        ("spec.variants", |s| s.variants[0].control = false),
        ("spec.variants", |s| s.variants[1].control = true),
        ("spec.variants[0].params.bad", |s| {
            let params = s.variants[0].params.get_or_insert_with(Default::default);
            params
                .fields
                .insert("bad".into(), Value { kind: Some(Kind::NumberValue(f64::INFINITY)) });
        }),
        ("spec.allocation_bps", |s| s.allocation_bps = 10_001),
        ("spec.layer_range", |s| s.layer_range = Some(pb::BucketRange { start: 0, end: 100 })),
        ("spec.layer_range", |s| {
            s.layer = "pdp".into();
            s.layer_range = Some(pb::BucketRange { start: 5_000, end: 10_001 });
        }),
        ("spec.layer_range", |s| {
            s.layer = "pdp".into();
            s.layer_range = Some(pb::BucketRange { start: 300, end: 300 });
        }),
        ("spec.layer", |s| s.layer = "Bad Layer".into()),
        ("spec.placements[1]", |s| s.placements = vec!["pdp".into(), "pdp".into()]),
        ("spec.eligibility[0].conditions", |s| s.eligibility[0].conditions.clear()),
        ("spec.eligibility[0].conditions[0].operator", |s| {
            s.eligibility[0].conditions[0].operator = pb::Operator::Unspecified as i32;
        }),
        ("spec.eligibility[0].conditions[0].attribute", |s| {
            s.eligibility[0].conditions[0].attribute.clear();
        }),
        ("spec.eligibility[0].conditions[0].values", |s| {
            s.eligibility[0].conditions[0].operator = pb::Operator::Eq as i32;
        }),
        ("spec.eligibility[0].conditions[0].values", |s| {
            s.eligibility[0].conditions[0].operator = pb::Operator::Exists as i32;
        }),
        ("spec.eligibility[0].conditions[0].values[0]", |s| {
            s.eligibility[0].conditions[0] = pb::Condition {
                attribute: "age".into(),
                operator: pb::Operator::Gte as i32,
                values: vec!["eighteen".into()],
            };
        }),
        ("spec.schedule.end_time", |s| {
            s.schedule = Some(pb::Schedule {
                start_time: Some(Timestamp { seconds: 2_000_000_000, nanos: 0 }),
                end_time: Some(Timestamp { seconds: 1_999_999_999, nanos: 0 }),
            });
        }),
        ("spec.schedule.start_time.nanos", |s| {
            s.schedule = Some(pb::Schedule {
                start_time: Some(Timestamp { seconds: 0, nanos: -1 }),
                end_time: None,
            });
        }),
        ("spec.overrides[\"qa-user-1\"]", |s| {
            s.overrides.insert("qa-user-1".into(), "ghost".into());
        }),
        ("spec.metrics[1].role", |s| {
            let again = pb::Metric { key: "second".into(), ..s.metrics[0].clone() };
            s.metrics.push(again);
        }),
        ("spec.metrics[0].key", |s| s.metrics[0].key.clear()),
        ("spec.metrics[0].kind", |s| s.metrics[0].kind = pb::MetricKind::Unspecified as i32),
        ("spec.metrics[0].denominator_event_type", |s| {
            s.metrics[0].kind = pb::MetricKind::Ratio as i32;
        }),
        ("spec.metrics[0].guardrail", |s| {
            s.metrics[0].role = pb::MetricRole::Guardrail as i32;
        }),
        ("spec.metrics[0].guardrail.max_relative_degradation", |s| {
            s.metrics[0].role = pb::MetricRole::Guardrail as i32;
            s.metrics[0].guardrail = Some(pb::Guardrail {
                max_relative_degradation: -0.1,
                action: pb::GuardrailAction::Pause as i32,
            });
        }),
    ]
}

#[tokio::test]
async fn each_validation_rule_is_invalid_argument_naming_its_field_and_writes_nothing() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    for (expected_path, bend) in broken_specs() {
        let mut spec = fixtures::spec("Broken");
        bend(&mut spec);
        let result = client
            .create_experiment(pb::CreateExperimentRequest {
                key: "broken".into(),
                spec: Some(spec),
                change_note: String::new(),
            })
            .await;
        let status = result.expect_err(expected_path);
        assert_eq!(status.code(), Code::InvalidArgument, "{expected_path}: {status:?}");
        assert!(
            status.message().starts_with(&format!("{expected_path}: ")),
            "expected path {expected_path}, got {:?}",
            status.message()
        );
    }
    let database = server.database.connect().await.expect("db");
    let written: i64 = database
        .query_one("SELECT (SELECT count(*) FROM experiment_versions) + (SELECT count(*) FROM audit_events) + (SELECT revision FROM config_revision)", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(written, 0, "a refused create left rows or bumped the revision");
}

#[tokio::test]
async fn malformed_requests_name_the_request_field() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    assert_status(
        client
            .create_experiment(pb::CreateExperimentRequest {
                key: "Bad Key".into(),
                spec: Some(fixtures::spec("x")),
                change_note: String::new(),
            })
            .await,
        Code::InvalidArgument,
        &["key: "],
    );
    assert_status(
        client
            .create_experiment(pb::CreateExperimentRequest {
                key: "ok".into(),
                spec: None,
                change_note: String::new(),
            })
            .await,
        Code::InvalidArgument,
        &["spec: is required"],
    );
    assert_status(
        client
            .get_experiment_version(pb::GetExperimentVersionRequest {
                key: "ok".into(),
                version: 0,
            })
            .await,
        Code::InvalidArgument,
        &["version: must be >= 1"],
    );
    assert_status(
        client
            .list_experiments(pb::ListExperimentsRequest {
                page_token: "garbage!".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        &["page_token"],
    );
    assert_status(
        client
            .list_experiments(pb::ListExperimentsRequest { page_size: -5, ..Default::default() })
            .await,
        Code::InvalidArgument,
        &["page_size"],
    );
    assert_status(
        client
            .list_experiments(pb::ListExperimentsRequest { status: 99, ..Default::default() })
            .await,
        Code::InvalidArgument,
        &["status"],
    );
}

#[tokio::test]
async fn ramp_beyond_the_bucket_count_is_invalid_argument() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: "ramp".into(),
            spec: Some(fixtures::spec("Ramp")),
            change_note: String::new(),
        })
        .await
        .expect("create");
    assert_status(
        client
            .set_experiment_allocation(pb::SetExperimentAllocationRequest {
                key: "ramp".into(),
                allocation_bps: 10_001,
                change_note: String::new(),
            })
            .await,
        Code::InvalidArgument,
        &["allocation_bps: must be in 0..=10000"],
    );
}
