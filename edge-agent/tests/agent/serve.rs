//! `Assign` and `Explain` over gRPC: request limits and explanations.

use tonic::Code;
use vary_proto::pb;

use crate::support::{Followed, snapshot};

/// An agent serving revision 3 (its stream kept open as long as the result lives).
async fn serving_agent() -> Followed {
    let mut t = Followed::start().await;
    t.stream.send_snapshot_expect_ack(snapshot(3, "reco", 1)).await;
    t
}

#[tokio::test]
async fn an_oversized_user_id_is_invalid_and_names_its_field() {
    let t = serving_agent().await;
    let status = t.agent.assign(&"u".repeat(257)).await.expect_err("too long");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("user_id: "), "{}", status.message());
    t.agent.assign(&"u".repeat(256)).await.expect("256 bytes fit");
    t.agent.stop().await;
}

#[tokio::test]
async fn explain_says_why_each_experiment_did_or_did_not_assign() {
    let t = serving_agent().await;
    let mut client = t.agent.client().await;
    let explain = |placement: &str| pb::ExplainRequest {
        user_id: "u123".into(),
        context: Some(pb::AssignmentContext { placement: placement.into(), ..Default::default() }),
        ..Default::default()
    };

    let on_pdp = client.explain(explain("pdp")).await.expect("explain").into_inner();
    assert_eq!((on_pdp.revision, on_pdp.unit_type()), (3, pb::UnitType::User));
    let [entry] = on_pdp.experiments.as_slice() else { panic!("one entry: {on_pdp:?}") };
    assert_eq!(entry.outcome(), pb::ExplanationOutcome::Assigned);
    assert_eq!(entry.status(), pb::ExperimentStatus::Running);
    assert!(!entry.variant_key.is_empty() && !entry.detail.is_empty(), "{entry:?}");
    assert!(entry.variant_bucket.is_some() && entry.alloc_bucket.is_some(), "{entry:?}");
    assert_eq!(entry.layer_bucket, None, "no layer");

    let elsewhere = client.explain(explain("home")).await.expect("explain").into_inner();
    let entry = &elsewhere.experiments[0];
    assert_eq!(entry.outcome(), pb::ExplanationOutcome::NotInPlacement);
    assert!(entry.detail.contains("pdp"), "{}", entry.detail);
    assert!(entry.variant_key.is_empty());
    t.agent.stop().await;
}
