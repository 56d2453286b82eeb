//! Real edge agents following a real control plane over PostgreSQL: experiments reach
//! every agent as they are started, updated and stopped, and each agent ACKs.

use std::time::Duration;

use vary_proto::{
    model::json_to_struct,
    pb::{self, fleet_service_client::FleetServiceClient},
};
use vary_tests::{TestControlPlane, TestEdgeAgent, edge_agent::wait_until, fixtures};

const KEY: &str = "reco_ymal";

/// The fixture spec with every variant's params renamed to `model_version`.
fn spec_with_model(model_version: &str) -> pb::ExperimentSpec {
    let mut spec = fixtures::spec(KEY);
    for variant in &mut spec.variants {
        let json =
            serde_json::json!({ "model_version": format!("{model_version}-{}", variant.key) });
        variant.params = Some(json_to_struct(json.as_object().expect("literal object")));
    }
    spec
}

fn model_version(assignment: &pb::Assignment) -> Option<&str> {
    let field = assignment.params.as_ref()?.fields.get("model_version")?;
    match field.kind.as_ref()? {
        prost_types::value::Kind::StringValue(text) => Some(text),
        _ => None,
    }
}

/// Waits until `ListAgents` shows `agent_id` applied `revision` (the control plane
/// records ACKs asynchronously).
async fn wait_for_ack(control_plane: &TestControlPlane, agent_id: &str, revision: i64) {
    let mut fleet = FleetServiceClient::new(control_plane.channel().await.expect("channel"));
    let acked =
        wait_until(Duration::from_secs(30), || {
            let mut fleet = fleet.clone();
            async move {
                let listed = fleet.list_agents(pb::ListAgentsRequest::default()).await;
                listed.is_ok_and(|listed| {
                    listed.into_inner().agents.iter().any(|agent| {
                        agent.agent_id == agent_id && agent.applied_revision == revision
                    })
                })
            }
        })
        .await;
    let listed = fleet.list_agents(pb::ListAgentsRequest::default()).await.expect("list agents");
    assert!(acked.is_ok(), "{agent_id} never ACKed {revision}: {:?}", listed.into_inner());
}

#[tokio::test]
async fn two_agents_follow_an_experiment_from_start_through_update_to_stop() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let mut experiments = control_plane.experiments().await.expect("client");
    let agents = [
        TestEdgeAgent::start(&control_plane.endpoint(), "agent-a").await.expect("agent a"),
        TestEdgeAgent::start(&control_plane.endpoint(), "agent-b").await.expect("agent b"),
    ];

    // Started: both serve it, with the same variant for the same unit.
    let started = fixtures::create_and_start(&mut experiments, KEY).await;
    let mut variants = Vec::new();
    for agent in &agents {
        agent.wait_for_revision(started).await.expect("started revision");
        let response = agent.assign("u123").await.expect("assign");
        let [assignment] = response.assignments.as_slice() else {
            panic!("one assignment expected: {response:?}")
        };
        assert_eq!((assignment.experiment_key.as_str(), assignment.version), (KEY, 2));
        assert_eq!(assignment.reason(), pb::AssignmentReason::Hash);
        variants.push(assignment.variant_key.clone());
    }
    assert_eq!(variants[0], variants[1], "every agent assigns a unit alike");

    // Updated: both serve the new version and its params, and ACK the revision.
    let updated = experiments
        .update_experiment(pb::UpdateExperimentRequest {
            key: KEY.to_owned(),
            base_version: 2,
            spec: Some(spec_with_model("v4")),
            change_note: "v4 model".into(),
        })
        .await
        .expect("update")
        .into_inner()
        .experiment
        .expect("experiment");
    for (agent, agent_id) in agents.iter().zip(["agent-a", "agent-b"]) {
        let response = agent.wait_for_revision(updated.revision).await.expect("updated revision");
        let assignment = &response.assignments[0];
        assert_eq!(assignment.version, 3);
        let expected = format!("v4-{}", assignment.variant_key);
        assert_eq!(model_version(assignment), Some(expected.as_str()), "{assignment:?}");
        wait_for_ack(&control_plane, agent_id, updated.revision).await;
    }

    // Stopped without a rollout variant: nobody is assigned any more.
    let stopped = experiments
        .stop_experiment(pb::StopExperimentRequest { key: KEY.to_owned(), ..Default::default() })
        .await
        .expect("stop")
        .into_inner()
        .experiment
        .expect("experiment");
    for agent in &agents {
        let response = agent.wait_for_revision(stopped.revision).await.expect("stopped revision");
        assert!(response.assignments.is_empty(), "{response:?}");
        assert!(agent.assign("u123").await.expect("assign").assignments.is_empty());
    }

    for agent in agents {
        agent.stop().await.expect("agent stops cleanly");
    }
    control_plane.stop().await.expect("control plane stops cleanly");
}

#[tokio::test]
async fn an_agent_of_a_fresh_installation_turns_healthy_with_the_empty_config() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let agent = TestEdgeAgent::start(&control_plane.endpoint(), "fresh").await.expect("SERVING");
    let response = agent.assign("u1").await.expect("assign");
    assert!(response.assignments.is_empty());
    agent.stop().await.expect("agent stops cleanly");
    control_plane.stop().await.expect("control plane stops cleanly");
}
