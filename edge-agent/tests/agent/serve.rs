//! `Assign` and `Explain` over gRPC: request limits and explanations.

use tonic::Code;
use vary_proto::pb;

use crate::support::{Agent, FakeControlPlane, FakeStream, snapshot};

/// An agent serving revision 3, and its stream (kept open by the caller).
async fn serving_agent(
    control_plane: &mut FakeControlPlane,
    state: &std::path::Path,
) -> (Agent, FakeStream) {
    let agent = Agent::start(&control_plane.endpoint(), state).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(snapshot(3, "reco", 1)).await;
    assert_eq!(stream.expect_ack().await, 3);
    (agent, stream)
}

#[tokio::test]
async fn an_oversized_user_id_is_invalid_and_names_its_field() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let (agent, _stream) = serving_agent(&mut control_plane, state.path()).await;
    let status = agent.assign(&"u".repeat(257)).await.expect_err("too long");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("user_id: "), "{}", status.message());
    agent.assign(&"u".repeat(256)).await.expect("256 bytes fit");
    agent.stop().await;
}

#[tokio::test]
async fn explain_says_why_each_experiment_did_or_did_not_assign() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let (agent, _stream) = serving_agent(&mut control_plane, state.path()).await;
    let mut client = agent.client().await;
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
    agent.stop().await;
}
