use time::{Duration, OffsetDateTime};
use tonic::Code;
use vary_proto::pb::{self, analysis_service_client::AnalysisServiceClient};
use vary_tests::{TestControlPlane, fixtures};

use crate::assert_status;
use crate::ingest::{exposure, ids, ingest, outcome};

/// Creates and starts `key` (50/50, primary metric: add-to-cart conversion) and returns
/// a time just after the start, when exposures may begin.
async fn running_experiment(server: &TestControlPlane, key: &str) -> OffsetDateTime {
    let mut client = server.experiments().await.expect("client");
    fixtures::create_and_start(&mut client, key).await;
    OffsetDateTime::now_utc() + Duration::seconds(1)
}

/// Sends `units` exposures per variant (`control`, `treatment`) of experiment `key`
/// (the events carry the fixture's key, reco_ymal_v1, rewritten here), and an
/// add-to-cart for the first `converted` units of each.
async fn plant(
    server: &TestControlPlane,
    key: &str,
    at: OffsetDateTime,
    arms: [(&str, usize, usize); 2],
) {
    let mut events = Vec::new();
    for (variant, units, converted) in arms {
        let event_ids = ids(units + converted);
        for unit in 0..units {
            let user = format!("{variant}-{unit}");
            let mut event = exposure(&event_ids[unit], &user, variant, at, false);
            if let Some(pb::event::Kind::Exposure(exposure)) = &mut event.kind {
                exposure.experiment_key = key.into();
            }
            events.push(event);
            if unit < converted {
                events.push(outcome(
                    &event_ids[units + unit],
                    &user,
                    "add_to_cart",
                    at + Duration::seconds(5),
                    None,
                ));
            }
        }
    }
    for batch in events.chunks(5_000) {
        let response = ingest(server, batch.to_vec()).await.expect("ingest");
        assert!(response.rejections.is_empty(), "{:?}", response.rejections.first());
    }
}

async fn results(server: &TestControlPlane, key: &str) -> pb::GetResultsResponse {
    let mut client = AnalysisServiceClient::new(server.channel().await.expect("channel"));
    client
        .get_results(pb::GetResultsRequest { experiment_key: key.into(), phase: 0 })
        .await
        .expect("results")
        .into_inner()
}

fn treatment_comparison(results: &pb::GetResultsResponse) -> pb::Comparison {
    let metric = &results.metrics[0];
    assert_eq!(metric.metric_key, "add_to_cart_rate");
    let treatment =
        metric.variants.iter().find(|v| v.variant_key == "treatment").expect("treatment");
    treatment
        .comparison
        .unwrap_or_else(|| panic!("no comparison: {}", treatment.not_computable_reason))
}

#[tokio::test]
async fn a_planted_effect_is_detected_through_the_real_event_path() {
    let server = TestControlPlane::start().await.expect("control plane");
    let at = running_experiment(&server, "planted").await;
    plant(&server, "planted", at, [("control", 3_000, 300), ("treatment", 3_000, 420)]).await;
    let results = results(&server, "planted").await;
    assert_eq!((results.phase, results.phases.len()), (1, 1));
    let units: Vec<(String, i64)> =
        results.units.iter().map(|v| (v.variant_key.clone(), v.units)).collect();
    assert_eq!(units, [("control".into(), 3_000), ("treatment".into(), 3_000)]);
    assert!(!results.sample_ratio.expect("srm").mismatch);
    let comparison = treatment_comparison(&results);
    // 10% vs 14%: +4 points, +40%.
    assert!((comparison.absolute_lift - 0.04).abs() < 1e-12, "{comparison:?}");
    assert!((comparison.relative_lift.expect("defined") - 0.4).abs() < 1e-9, "{comparison:?}");
    assert!(comparison.significant && comparison.p_value < 1e-5, "{comparison:?}");
    let ci = comparison.absolute_ci.expect("ci");
    assert!(ci.low > 0.0 && ci.low < 0.04 && ci.high > 0.04, "{ci:?}");
}

#[tokio::test]
async fn an_a_a_split_shows_no_effect() {
    let server = TestControlPlane::start().await.expect("control plane");
    let at = running_experiment(&server, "a_a").await;
    plant(&server, "a_a", at, [("control", 2_000, 200), ("treatment", 2_000, 203)]).await;
    let comparison = treatment_comparison(&results(&server, "a_a").await);
    assert!(!comparison.significant && comparison.p_value > 0.5, "{comparison:?}");
}

#[tokio::test]
async fn a_45_55_split_on_a_50_50_config_trips_the_sample_ratio_check() {
    let server = TestControlPlane::start().await.expect("control plane");
    let at = running_experiment(&server, "skewed").await;
    plant(&server, "skewed", at, [("control", 1_800, 180), ("treatment", 2_200, 220)]).await;
    let check = results(&server, "skewed").await.sample_ratio.expect("srm");
    assert!(check.mismatch && check.p_value < 0.001, "{check:?}");
}

#[tokio::test]
async fn results_of_a_draft_are_failed_precondition_and_phases_are_checked() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut experiments = server.experiments().await.expect("client");
    experiments
        .create_experiment(pb::CreateExperimentRequest {
            key: "draft".into(),
            spec: Some(fixtures::spec("d")),
            change_note: String::new(),
        })
        .await
        .expect("create");
    let mut client = AnalysisServiceClient::new(server.channel().await.expect("channel"));
    assert_status(
        client
            .get_results(pb::GetResultsRequest { experiment_key: "draft".into(), phase: 0 })
            .await,
        Code::FailedPrecondition,
        &["has not run yet"],
    );
    experiments
        .start_experiment(pb::StartExperimentRequest { key: "draft".into(), ..Default::default() })
        .await
        .expect("start");
    assert_status(
        client
            .get_results(pb::GetResultsRequest { experiment_key: "draft".into(), phase: 2 })
            .await,
        Code::InvalidArgument,
        &["phase: must be 0 (current) or 1..=1"],
    );
}
