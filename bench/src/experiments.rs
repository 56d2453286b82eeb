//! N running experiments like the recommender team's, created through the control plane's
//! public API, with the same layout as the engine benchmark (`proto/benches/assign.rs`):
//! layers, rule groups, overrides, allocations and variant counts match, the parameters
//! and names do not, so the two describe the same kind of snapshot, not the same one.
//!
//! Per placement, three quarters of the experiments sit in three mutual-exclusion layers
//! with disjoint ranges and a quarter in no layer; each has two rule groups (country list
//! AND device, OR logged-in AND tier), 20 QA overrides, an allocation between 50% and 100%
//! and 2 to 4 variants with params.

use std::collections::BTreeMap;

use anyhow::Context as _;
use tonic::codegen::{Body, Bytes, StdError};
use vary_proto::{
    model::json_to_struct,
    pb::{self, experiment_service_client::ExperimentServiceClient},
};

/// The placements experiments run on (the request mix uses the same).
pub const PLACEMENTS: [&str; 5] = ["pdp", "newsfeed", "search", "home", "cart"];
const LAYERS_PER_PLACEMENT: usize = 3;
/// Experiments created concurrently while seeding (commits serialise in PostgreSQL anyway).
const SEEDING_CONCURRENCY: usize = 8;

/// The key of experiment `index`.
pub fn key(index: usize) -> String {
    format!("exp-{index:05}")
}

/// The spec of experiment `index` of `count`.
pub fn spec(index: usize, count: usize) -> pb::ExperimentSpec {
    let per_placement = (count / PLACEMENTS.len()).max(1);
    let layered_per_placement = per_placement * 3 / 4;
    let per_layer = layered_per_placement.div_ceil(LAYERS_PER_PLACEMENT).max(1);
    let range_width = 10_000 / per_layer as u32;
    let placement = PLACEMENTS[index % PLACEMENTS.len()];
    let position = index / PLACEMENTS.len();
    let (layer, layer_range) = if position < layered_per_placement {
        let slot = (position % per_layer) as u32;
        (
            format!("{placement}-layer-{}", position / per_layer),
            Some(pb::BucketRange { start: slot * range_width, end: (slot + 1) * range_width }),
        )
    } else {
        (String::new(), None)
    };
    let variants = (0..2 + index % 3)
        .map(|variant| {
            let params = serde_json::json!({
                "model_version": format!("als-v{variant}"),
                "candidate_k": 20 + variant,
                "rerank_weight_style": 0.5 + variant as f64 / 10.0,
            });
            pb::Variant {
                key: format!("v{variant}"),
                weight: 1.0 + variant as f64,
                control: variant == 0,
                params: Some(json_to_struct(params.as_object().expect("literal object"))),
                description: String::new(),
            }
        })
        .collect();
    let overrides: BTreeMap<String, String> =
        (0..20).map(|qa| (format!("qa-{index}-{qa}"), "v1".to_owned())).collect();
    pb::ExperimentSpec {
        name: format!("Synthetic experiment {index}"),
        description: "Load-test experiment".to_owned(),
        hypothesis: "None: it exists to be assigned".to_owned(),
        owner: "vary-bench".to_owned(),
        layer,
        layer_range,
        allocation_bps: 5_000 + (index as u32 * 37) % 5_001,
        variants,
        placements: vec![placement.to_owned()],
        eligibility: eligibility(index),
        overrides,
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

fn eligibility(index: usize) -> Vec<pb::RuleGroup> {
    const COUNTRY_LISTS: [&[&str]; 4] = [
        &["DE", "AT", "CH"],
        &["FR", "BE", "NL", "LU"],
        &["US", "CA"],
        &["DE", "FR", "IT", "ES", "PL"],
    ];
    let condition = |attribute: &str, operator: pb::Operator, values: &[&str]| pb::Condition {
        attribute: attribute.to_owned(),
        operator: operator as i32,
        values: values.iter().map(|value| (*value).to_owned()).collect(),
    };
    let tier = (1 + index % 4).to_string();
    vec![
        pb::RuleGroup {
            conditions: vec![
                condition("country", pb::Operator::In, COUNTRY_LISTS[index % 4]),
                condition("device", pb::Operator::Neq, &[["bot", "crawler"][index % 2]]),
            ],
        },
        pb::RuleGroup {
            conditions: vec![
                condition("logged_in", pb::Operator::Eq, &["true"]),
                condition("tier", pb::Operator::Gte, &[&tier]),
            ],
        },
    ]
}

/// A transport an `ExperimentServiceClient` can be built on and moved between tasks: a
/// bare `Channel`, or one wrapped in the harness's bearer-token interceptor.
pub trait Transport:
    tonic::client::GrpcService<
        tonic::body::Body,
        Error: Into<StdError>,
        ResponseBody: Body<Data = Bytes, Error: Into<StdError> + Send> + Send + 'static,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
}

impl<T> Transport for T where
    T: tonic::client::GrpcService<
            tonic::body::Body,
            Error: Into<StdError>,
            ResponseBody: Body<Data = Bytes, Error: Into<StdError> + Send> + Send + 'static,
            Future: Send,
        > + Clone
        + Send
        + 'static
{
}

/// Creates and starts experiments `0..count` (of a design for `count`) through `client`;
/// the config revision after the last one.
pub async fn seed<T: Transport>(
    client: ExperimentServiceClient<T>,
    count: usize,
) -> anyhow::Result<i64> {
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..SEEDING_CONCURRENCY.min(count.max(1)) {
        let mut client = client.clone();
        tasks.spawn(async move {
            let mut revision = 0;
            for index in (lane..count).step_by(SEEDING_CONCURRENCY) {
                client
                    .create_experiment(pb::CreateExperimentRequest {
                        key: key(index),
                        spec: Some(spec(index, count)),
                        change_note: "vary-bench seed".to_owned(),
                    })
                    .await
                    .with_context(|| format!("create {}", key(index)))?;
                let started = client
                    .start_experiment(pb::StartExperimentRequest {
                        key: key(index),
                        change_note: String::new(),
                    })
                    .await
                    .with_context(|| format!("start {}", key(index)))?;
                let experiment = started.into_inner().experiment.context("no experiment")?;
                revision = revision.max(experiment.revision);
            }
            anyhow::Ok(revision)
        });
    }
    let mut revision = 0;
    while let Some(lane) = tasks.join_next().await {
        revision = revision.max(lane.context("a seeding task panicked")??);
    }
    Ok(revision)
}

/// Changes experiment 0's allocation (alternating two values): one new config revision.
pub async fn publish_one<T: Transport>(
    client: &mut ExperimentServiceClient<T>,
    round: u64,
) -> anyhow::Result<i64> {
    let response = client
        .set_experiment_allocation(pb::SetExperimentAllocationRequest {
            key: key(0),
            allocation_bps: if round.is_multiple_of(2) { 9_000 } else { 9_500 },
            change_note: "vary-bench publish".to_owned(),
        })
        .await
        .context("set allocation")?;
    Ok(response.into_inner().experiment.context("no experiment")?.revision)
}

#[cfg(test)]
mod tests {
    use vary_proto::model;

    use super::*;

    #[test]
    fn every_spec_is_valid_and_no_two_ranges_of_a_layer_overlap() {
        for count in [1, 7, 200, 1_000] {
            let mut ranges: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
            for index in 0..count {
                let spec = spec(index, count);
                model::ExperimentSpec::try_from(spec.clone())
                    .unwrap_or_else(|error| panic!("spec {index} of {count}: {error}"));
                if let Some(range) = spec.layer_range {
                    ranges.entry(spec.layer).or_default().push((range.start, range.end));
                }
            }
            for (layer, mut ranges) in ranges {
                ranges.sort();
                for pair in ranges.windows(2) {
                    assert!(pair[0].1 <= pair[1].0, "{layer} overlaps: {pair:?}");
                }
            }
        }
    }
}
