use vary_control_plane::auth::Role;
use vary_proto::pb::{self, watch_response::Kind};
use vary_tests::{TestControlPlane, WatchClient, fixtures};

#[tokio::test]
async fn a_new_agent_gets_the_full_snapshot_and_a_current_one_gets_up_to_date() {
    let server = TestControlPlane::start().await.expect("control plane");
    let revision = server.create_and_start("reco_ymal_v1").await;

    let mut fresh = WatchClient::connect(server.endpoint(), "agent-fresh", 0).await.expect("watch");
    let snapshot = fresh.snapshot_at_least(revision).await.expect("snapshot");
    assert_eq!(snapshot.revision, revision);
    let keys: Vec<&str> = snapshot.experiments.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["reco_ymal_v1"]);
    assert_eq!(snapshot.experiments[0].status(), pb::ExperimentStatus::Running);
    assert!(snapshot.commit_time.is_some());

    let mut current =
        WatchClient::connect(server.endpoint(), "agent-current", revision).await.expect("watch");
    match current.next().await.expect("first message") {
        Kind::UpToDate(up_to_date) => assert_eq!(up_to_date.revision, revision),
        other => panic!("expected up-to-date, got {other:?}"),
    }
    // The fleet view shows the confirmed revision as sent to that agent.
    let mut fleet =
        pb::fleet_service_client::FleetServiceClient::new(server.channel().await.expect("channel"));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let listed =
            fleet.list_agents(pb::ListAgentsRequest::default()).await.expect("list").into_inner();
        let agent = listed.agents.iter().find(|agent| agent.agent_id == "agent-current");
        if agent.is_some_and(|agent| agent.sent_revision == revision) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never shown as sent {revision}: {listed:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn each_commit_reaches_open_streams_and_archived_experiments_leave_the_snapshot() {
    let server = TestControlPlane::start().await.expect("control plane");
    let first = server.create_and_start("first").await;
    let mut watch = WatchClient::connect(server.endpoint(), "agent-1", 0).await.expect("watch");
    assert_eq!(watch.snapshot_at_least(first).await.expect("initial").revision, first);

    let second = server.create_and_start("second").await;
    let snapshot = watch.snapshot_at_least(second).await.expect("pushed");
    assert_eq!(snapshot.experiments.len(), 2);

    let mut client = server.experiments().await.expect("client");
    client
        .stop_experiment(pb::StopExperimentRequest { key: "first".into(), ..Default::default() })
        .await
        .expect("stop");
    let archived = client
        .archive_experiment(pb::ArchiveExperimentRequest {
            key: "first".into(),
            ..Default::default()
        })
        .await
        .expect("archive")
        .into_inner()
        .experiment
        .expect("experiment")
        .revision;
    let snapshot = watch.snapshot_at_least(archived).await.expect("pushed");
    let keys: Vec<&str> = snapshot.experiments.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["second"]);
}

/// Latest wins: an agent that does not read while many revisions commit receives them
/// in increasing order, skips some, and ends at the head. Each snapshot here carries
/// 10,000 overrides (~250 KB), so thirty of them overflow the HTTP/2 flow-control windows
/// and the stream really backs up.
#[tokio::test]
async fn a_slow_agent_skips_intermediate_revisions_but_never_goes_backwards() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut spec = fixtures::spec("Ramped");
    spec.overrides =
        (0..10_000).map(|unit| (format!("qa-unit-{unit:05}"), "treatment".to_owned())).collect();
    let mut client = server.experiments().await.expect("client");
    let start = fixtures::create_and_start_with(&mut client, "ramped", spec).await;
    let mut watch = WatchClient::connect(server.endpoint(), "slow-agent", 0).await.expect("watch");
    assert_eq!(watch.snapshot_at_least(start).await.expect("initial").revision, start);

    let mut head = start;
    for allocation in (1..=30).map(|step| step * 100) {
        head = fixtures::ramp(&mut client, "ramped", allocation).await;
    }
    let mut received = Vec::new();
    loop {
        let snapshot = watch.next_snapshot().await.expect("snapshot");
        received.push(snapshot.revision);
        if snapshot.revision == head {
            assert_eq!(snapshot.experiments[0].spec.as_ref().expect("spec").allocation_bps, 3_000);
            break;
        }
    }
    assert!(received.windows(2).all(|pair| pair[0] < pair[1]), "{received:?}");
    assert!(received.len() < 30, "expected skipped revisions, got {received:?}");
}

#[tokio::test]
async fn idle_streams_get_heartbeats_carrying_the_head_revision() {
    let server = TestControlPlane::start().await.expect("control plane");
    let revision = server.create_and_start("quiet").await;
    let mut watch =
        WatchClient::connect(server.endpoint(), "idle-agent", revision).await.expect("watch");
    assert!(matches!(watch.next().await.expect("answer"), Kind::UpToDate(_)));
    // The harness sets a 1 s heartbeat interval.
    match watch.next().await.expect("heartbeat") {
        Kind::Heartbeat(heartbeat) => assert_eq!(heartbeat.head_revision, revision),
        other => panic!("expected a heartbeat, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_that_does_not_start_with_hello_is_refused() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = pb::config_distribution_service_client::ConfigDistributionServiceClient::new(
        server.channel_as(Role::Agent).await.expect("connect"),
    );
    let ack = pb::WatchRequest {
        kind: Some(pb::watch_request::Kind::Ack(pb::ConfigAck { revision: 1 })),
    };
    let mut responses =
        client.watch(futures::stream::iter([ack])).await.expect("open").into_inner();
    let status = responses.message().await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().starts_with("hello:"), "{status:?}");

    let empty_id = pb::WatchRequest {
        kind: Some(pb::watch_request::Kind::Hello(pb::AgentHello {
            agent_id: " ".into(),
            ..Default::default()
        })),
    };
    let mut responses =
        client.watch(futures::stream::iter([empty_id])).await.expect("open").into_inner();
    let status = responses.message().await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().starts_with("hello.agent_id:"), "{status:?}");
}

/// A publish through one replica reaches an agent connected to another: replicas learn
/// of commits through LISTEN/NOTIFY on the shared database.
#[tokio::test]
async fn a_change_published_through_one_replica_reaches_agents_on_another() {
    let replica_a = TestControlPlane::start().await.expect("replica a");
    let replica_b =
        TestControlPlane::start_on(replica_a.database.clone()).await.expect("replica b");
    let mut watch =
        WatchClient::connect(replica_b.endpoint(), "agent-on-b", 0).await.expect("watch");
    let initial = watch.next_snapshot().await.expect("initial snapshot");
    assert!(initial.experiments.is_empty());

    let revision = replica_a.create_and_start("via_a").await;
    let snapshot = watch.snapshot_at_least(revision).await.expect("published via a");
    assert_eq!(snapshot.experiments[0].key, "via_a");
    replica_b.stop().await.expect("stop b");
    replica_a.stop().await.expect("stop a");
}
