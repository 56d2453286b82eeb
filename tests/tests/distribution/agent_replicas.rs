//! Edge agents and several control-plane replicas on one PostgreSQL.

use std::time::Duration;

use vary_proto::pb::{self, fleet_service_client::FleetServiceClient};
use vary_tests::{TestControlPlane, TestEdgeAgent, edge_agent::wait_until};

use vary_tests::fixtures::create_and_start;

#[tokio::test]
async fn an_agent_on_one_replica_serves_what_was_published_through_another() {
    let replica_a = TestControlPlane::start().await.expect("replica a");
    let replica_b =
        TestControlPlane::start_on(replica_a.database.clone()).await.expect("replica b");
    let agent = TestEdgeAgent::start(&replica_b.endpoint(), "on-b").await.expect("agent");

    let mut experiments = replica_a.experiments().await.expect("client");
    let revision = create_and_start(&mut experiments, "cross_replica").await;
    let response = agent.wait_for_revision(revision).await.expect("published through a");
    assert_eq!(response.assignments.len(), 1, "{response:?}");

    agent.stop().await.expect("agent stops cleanly");
    replica_b.stop().await.expect("replica b stops");
    replica_a.stop().await.expect("replica a stops");
}

#[tokio::test]
async fn an_agent_moved_to_another_replica_serves_its_file_and_is_recorded_there() {
    let replica_a = TestControlPlane::start().await.expect("replica a");
    let mut experiments = replica_a.experiments().await.expect("client");
    let agent = TestEdgeAgent::start(&replica_a.endpoint(), "mover").await.expect("agent");
    let revision = create_and_start(&mut experiments, "mover_exp").await;
    agent.wait_for_revision(revision).await.expect("revision");
    let database = replica_a.database.clone();
    replica_a.stop().await.expect("replica a stops");

    // The agent restarts pointed at another replica (as after a rolling update): it
    // reports the revision of its file, and the new replica accepts it as current.
    let replica_b = TestControlPlane::start_on(database).await.expect("replica b");
    let stopped = agent.stop().await.expect("agent stops");
    let moved = stopped.start(Some(&replica_b.endpoint())).await.expect("agent restarts");
    moved.wait_until_serving().await.expect("SERVING");
    let served = moved.assign("u1").await.expect("assign");
    assert_eq!(served.revision, revision);
    // Replica b records the agent as its own, applying the revision it serves.
    let replica_name = format!("test-replica-{}", replica_b.addr.port());
    let mut fleet = FleetServiceClient::new(replica_b.channel().await.expect("channel"));
    let recorded = wait_until(Duration::from_secs(30), || {
        let mut fleet = fleet.clone();
        let replica_name = replica_name.clone();
        async move {
            fleet.list_agents(pb::ListAgentsRequest::default()).await.is_ok_and(|listed| {
                listed.into_inner().agents.iter().any(|listed| {
                    listed.agent_id == "mover"
                        && listed.connected
                        && listed.replica == replica_name
                        && listed.applied_revision == revision
                })
            })
        }
    })
    .await;
    let listed = fleet.list_agents(pb::ListAgentsRequest::default()).await.expect("list");
    assert!(recorded.is_ok(), "not recorded on replica b: {:?}", listed.get_ref());

    moved.stop().await.expect("agent stops cleanly");
    replica_b.stop().await.expect("replica b stops");
}
