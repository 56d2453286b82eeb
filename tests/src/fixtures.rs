//! Specs for tests: one valid baseline that each test bends to what it checks.

use std::collections::BTreeMap;

use vary_proto::{
    model::json_to_struct,
    pb::{self, experiment_service_client::ExperimentServiceClient},
};

use crate::auth::AuthedChannel;

/// A valid two-variant spec in the style of the recommender team's experiments.
pub fn spec(name: &str) -> pb::ExperimentSpec {
    let params = |model_version: &str| {
        let json =
            serde_json::json!({ "model_version": model_version, "rerank_weight_style": 0.6 });
        json_to_struct(json.as_object().expect("literal object"))
    };
    pb::ExperimentSpec {
        name: name.to_owned(),
        description: "You-may-also-like candidates from the v3 model".to_owned(),
        hypothesis: "v3 raises add-to-cart rate on PDP".to_owned(),
        owner: "reco-team".to_owned(),
        allocation_bps: 10_000,
        variants: vec![
            pb::Variant {
                key: "control".to_owned(),
                weight: 50.0,
                control: true,
                params: Some(params("v2")),
                description: String::new(),
            },
            pb::Variant {
                key: "treatment".to_owned(),
                weight: 50.0,
                control: false,
                params: Some(params("v3")),
                description: String::new(),
            },
        ],
        placements: vec!["pdp".to_owned()],
        eligibility: vec![pb::RuleGroup {
            conditions: vec![pb::Condition {
                attribute: "country".to_owned(),
                operator: pb::Operator::In as i32,
                values: vec!["DE".to_owned(), "FR".to_owned()],
            }],
        }],
        overrides: BTreeMap::from([("qa-user-1".to_owned(), "treatment".to_owned())]),
        metrics: vec![pb::Metric {
            key: "add_to_cart_rate".to_owned(),
            role: pb::MetricRole::Primary as i32,
            kind: pb::MetricKind::Conversion as i32,
            event_type: "add_to_cart".to_owned(),
            direction: pb::MetricDirection::Increase as i32,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// [`spec`] placed in `layer` at `[start, end)`.
pub fn spec_in_layer(name: &str, layer: &str, start: u32, end: u32) -> pb::ExperimentSpec {
    pb::ExperimentSpec {
        layer: layer.to_owned(),
        layer_range: Some(pb::BucketRange { start, end }),
        ..spec(name)
    }
}

/// [`spec`] plus a bounce-rate guardrail (lower is better, 5% degradation tolerated) that
/// takes `action` when breached.
pub fn guarded_spec(name: &str, action: pb::GuardrailAction) -> pb::ExperimentSpec {
    let mut guarded = spec(name);
    guarded.metrics.push(pb::Metric {
        key: "bounce_rate".into(),
        role: pb::MetricRole::Guardrail as i32,
        kind: pb::MetricKind::Conversion as i32,
        event_type: "bounce".into(),
        direction: pb::MetricDirection::Decrease as i32,
        guardrail: Some(pb::Guardrail { max_relative_degradation: 0.05, action: action as i32 }),
        ..Default::default()
    });
    guarded
}

/// Creates `key` as a draft with `spec` and no change note, for tests whose subject
/// comes after the create (its response is checked where it is the subject).
pub async fn create(
    client: &mut ExperimentServiceClient<AuthedChannel>,
    key: &str,
    spec: pb::ExperimentSpec,
) {
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: key.to_owned(),
            spec: Some(spec),
            change_note: String::new(),
        })
        .await
        .expect("create");
}

/// Creates `key` with [`spec`] and starts it; the config revision of the start.
pub async fn create_and_start(
    client: &mut ExperimentServiceClient<AuthedChannel>,
    key: &str,
) -> i64 {
    create_and_start_with(client, key, spec(key)).await
}

/// Creates `key` with `spec` and starts it; the config revision of the start (which
/// agents must reach before they assign it).
pub async fn create_and_start_with(
    client: &mut ExperimentServiceClient<AuthedChannel>,
    key: &str,
    spec: pb::ExperimentSpec,
) -> i64 {
    create(client, key, spec).await;
    client
        .start_experiment(pb::StartExperimentRequest {
            key: key.to_owned(),
            change_note: "go".into(),
        })
        .await
        .expect("start")
        .into_inner()
        .experiment
        .expect("experiment")
        .revision
}

/// Sets `key`'s allocation to `allocation_bps`; the config revision of that change, which
/// is how distribution tests make a new revision of an experiment already running.
pub async fn ramp(
    client: &mut ExperimentServiceClient<AuthedChannel>,
    key: &str,
    allocation_bps: u32,
) -> i64 {
    client
        .set_experiment_allocation(pb::SetExperimentAllocationRequest {
            key: key.to_owned(),
            allocation_bps,
            change_note: String::new(),
        })
        .await
        .expect("ramp")
        .into_inner()
        .experiment
        .expect("experiment")
        .revision
}

/// The current state of `key` as GetExperiment returns it; the key must exist.
pub async fn current(
    client: &mut ExperimentServiceClient<AuthedChannel>,
    key: &str,
) -> pb::Experiment {
    client
        .get_experiment(pb::GetExperimentRequest { key: key.to_owned() })
        .await
        .expect("get")
        .into_inner()
        .experiment
        .expect("experiment")
}
