use std::time::Duration;

use vary_proto::pb::{self, fleet_service_client::FleetServiceClient, watch_response::Kind};
use vary_tests::{TestControlPlane, WatchClient, fixtures};

async fn agents(server: &TestControlPlane) -> pb::ListAgentsResponse {
    let mut fleet = FleetServiceClient::new(server.channel().await.expect("channel"));
    fleet.list_agents(pb::ListAgentsRequest::default()).await.expect("list agents").into_inner()
}

/// Polls `ListAgents` (written through asynchronously) until `check` holds, within a bound.
async fn wait_for_fleet(
    server: &TestControlPlane,
    check: impl Fn(&pb::ListAgentsResponse) -> bool,
) -> pb::ListAgentsResponse {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = agents(server).await;
        if check(&listed) {
            return listed;
        }
        assert!(tokio::time::Instant::now() < deadline, "fleet never matched: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn commit_change(server: &TestControlPlane, key: &str, allocation: Option<u32>) -> i64 {
    let mut client = server.experiments().await.expect("client");
    match allocation {
        None => {
            client
                .create_experiment(pb::CreateExperimentRequest {
                    key: key.into(),
                    spec: Some(fixtures::spec(key)),
                    change_note: String::new(),
                })
                .await
                .expect("create")
                .into_inner()
                .experiment
                .expect("experiment")
                .revision
        }
        Some(allocation_bps) => fixtures::ramp(&mut client, key, allocation_bps).await,
    }
}

#[tokio::test]
async fn list_agents_shows_what_each_agent_was_sent_and_applied() {
    let server = TestControlPlane::start().await.expect("control plane");
    let revision = commit_change(&server, "fleet_exp", None).await;
    let mut watch = WatchClient::connect(server.endpoint(), "pod-a", 0).await.expect("watch");
    let snapshot = watch.snapshot_at_least(revision).await.expect("snapshot");
    watch.ack(snapshot.revision).await.expect("ack");

    let listed = wait_for_fleet(&server, |listed| {
        listed
            .agents
            .iter()
            .any(|agent| agent.agent_id == "pod-a" && agent.applied_revision == revision)
    })
    .await;
    let agent = &listed.agents[0];
    assert_eq!((agent.sent_revision, agent.connected), (revision, true));
    assert_eq!(agent.labels.get("app").map(String::as_str), Some("test"));
    assert_eq!(listed.head_revision, revision);
    assert!(agent.replica.starts_with("test-replica-"));

    drop(watch);
    wait_for_fleet(&server, |listed| listed.agents.iter().all(|agent| !agent.connected)).await;
}

/// The control plane never re-sends a revision an agent rejected, on the same stream or
/// after it reconnects; the next revision is sent as usual.
#[tokio::test]
async fn a_rejected_revision_is_recorded_and_never_sent_to_that_agent_again() {
    let server = TestControlPlane::start().await.expect("control plane");
    let bad = commit_change(&server, "nacked", None).await;
    let mut watch = WatchClient::connect(server.endpoint(), "picky", 0).await.expect("watch");
    assert_eq!(watch.snapshot_at_least(bad).await.expect("snapshot").revision, bad);
    watch.nack(bad, "spec.variants[0].weight: test rejection").await.expect("nack");
    wait_for_fleet(&server, |listed| {
        listed.agents.iter().any(|agent| agent.rejected_revision == bad)
    })
    .await;
    drop(watch);

    // Reconnect still at revision 0: the head is the rejected revision, so only heartbeats.
    let mut again = WatchClient::connect(server.endpoint(), "picky", 0).await.expect("watch again");
    for _ in 0..2 {
        match again.next().await.expect("message") {
            Kind::Heartbeat(heartbeat) => assert_eq!(heartbeat.head_revision, bad),
            other => panic!("the rejected revision must not be re-sent, got {other:?}"),
        }
    }
    let fixed = commit_change(&server, "nacked", Some(5_000)).await;
    assert_eq!(again.snapshot_at_least(fixed).await.expect("next revision").revision, fixed);

    let listed = agents(&server).await;
    let agent = listed.agents.iter().find(|agent| agent.agent_id == "picky").expect("listed");
    assert_eq!(agent.rejected_revision, bad);
    assert_eq!(agent.rejected_error, "spec.variants[0].weight: test rejection");
}

#[tokio::test]
async fn list_agents_pages_by_agent_id() {
    let server = TestControlPlane::start().await.expect("control plane");
    let revision = commit_change(&server, "paged", None).await;
    let mut streams = Vec::new();
    for index in 0..5 {
        let mut watch = WatchClient::connect(server.endpoint(), &format!("agent-{index}"), 0)
            .await
            .expect("watch");
        watch.snapshot_at_least(revision).await.expect("snapshot");
        streams.push(watch);
    }
    wait_for_fleet(&server, |listed| {
        listed.agents.len() == 5 || !listed.next_page_token.is_empty()
    })
    .await;
    let mut fleet = FleetServiceClient::new(server.channel().await.expect("channel"));
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = fleet
            .list_agents(pb::ListAgentsRequest { page_size: 2, page_token })
            .await
            .expect("page")
            .into_inner();
        assert!(page.agents.len() <= 2);
        ids.extend(page.agents.into_iter().map(|agent| agent.agent_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(ids, ["agent-0", "agent-1", "agent-2", "agent-3", "agent-4"]);
}
