//! Real edge agents through trouble: the control plane going away, an agent restarting
//! without it, a corrupt last-known-good file, and a snapshot the agent must refuse.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use vary_edge_agent::Hooks;
use vary_proto::pb::{self, fleet_service_client::FleetServiceClient};
use vary_tests::{TestControlPlane, TestEdgeAgent, edge_agent::wait_until};

use vary_tests::fixtures::{create_and_start, ramp};

const KEY: &str = "reco_outage";

/// Successful and failed `Assign` calls of one background caller.
#[derive(Debug, Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// Calls `Assign` on `agent` in a loop until `stop`, counting the outcomes.
fn keep_assigning(
    agent: Arc<TestEdgeAgent>,
    stop: CancellationToken,
) -> (Arc<Tally>, tokio::task::JoinHandle<()>) {
    let tally = Arc::new(Tally::default());
    let counted = tally.clone();
    let task = tokio::spawn(async move {
        let mut client = agent.client().await.expect("client");
        let mut call = 0u64;
        while !stop.is_cancelled() {
            call += 1;
            let request = pb::AssignRequest {
                user_id: format!("user-{call}"),
                context: Some(pb::AssignmentContext {
                    placement: "pdp".into(),
                    country: "DE".into(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            match client.assign(request).await {
                Ok(response) if response.get_ref().assignments.len() == 1 => {
                    counted.ok.fetch_add(1, Ordering::Relaxed)
                }
                _ => counted.failed.fetch_add(1, Ordering::Relaxed),
            };
        }
    });
    (tally, task)
}

#[tokio::test]
async fn agents_keep_answering_with_no_failed_request_while_the_control_plane_is_down() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let mut experiments = control_plane.experiments().await.expect("client");
    let endpoint = control_plane.endpoint();
    let agents = [
        Arc::new(TestEdgeAgent::start(&endpoint, "outage-a").await.expect("agent a")),
        Arc::new(TestEdgeAgent::start(&endpoint, "outage-b").await.expect("agent b")),
    ];
    let revision = create_and_start(&mut experiments, KEY).await;
    for agent in &agents {
        agent.wait_for_revision(revision).await.expect("revision");
    }

    let stop = CancellationToken::new();
    let callers: Vec<_> =
        agents.iter().map(|agent| keep_assigning(agent.clone(), stop.clone())).collect();
    control_plane.stop().await.expect("control plane stops");
    // Heartbeats come every second; staleness past three seconds shows each agent has
    // lost the control plane, and has kept answering since.
    for agent in &agents {
        let stale = agent
            .assign_until("u1", "staleness > 3s", |response| {
                response.staleness.is_some_and(|staleness| staleness.seconds > 3)
            })
            .await
            .expect("the agent notices the outage and keeps answering");
        assert_eq!(stale.revision, revision);
        assert_eq!(agent.health().await.expect("health"), ServingStatus::Serving);
    }
    stop.cancel();
    for (tally, task) in callers {
        task.await.expect("caller task");
        let (ok, failed) = (tally.ok.load(Ordering::Relaxed), tally.failed.load(Ordering::Relaxed));
        assert_eq!(failed, 0, "{failed} failed calls of {}", ok + failed);
        assert!(ok > 0);
    }
    for agent in agents {
        let agent = Arc::try_unwrap(agent).expect("callers are done");
        agent.stop().await.expect("agent stops cleanly");
    }
}

#[tokio::test]
async fn an_agent_restarted_while_the_control_plane_is_down_serves_its_last_known_good_file() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let mut experiments = control_plane.experiments().await.expect("client");
    let agent = TestEdgeAgent::start(&control_plane.endpoint(), "restarted").await.expect("agent");
    let revision = create_and_start(&mut experiments, KEY).await;
    let before = agent.wait_for_revision(revision).await.expect("revision");
    control_plane.stop().await.expect("control plane stops");

    let stopped = agent.stop().await.expect("agent stops");
    let restarted = stopped.start(None).await.expect("agent restarts");
    restarted.wait_until_serving().await.expect("SERVING from the file");
    let after = restarted.assign("revision-probe").await.expect("assign");
    assert_eq!(after.revision, revision);
    assert_eq!(after.assignments, before.assignments, "the same answers as before the restart");
    restarted.stop().await.expect("agent stops cleanly");
}

#[tokio::test]
async fn a_corrupt_last_known_good_file_is_refused() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let mut experiments = control_plane.experiments().await.expect("client");
    let agent = TestEdgeAgent::start(&control_plane.endpoint(), "corrupt").await.expect("agent");
    let revision = create_and_start(&mut experiments, KEY).await;
    agent.wait_for_revision(revision).await.expect("revision");
    control_plane.stop().await.expect("control plane stops");
    let stopped = agent.stop().await.expect("agent stops");

    let path = stopped.lkg_path();
    let mut bytes = std::fs::read(&path).expect("read the file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).expect("corrupt the file");

    // A control plane that accepts connections and drops them: each accept is one failed
    // session, so the second one proves the agent is past the point where it would have
    // fallen back to a good file.
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead_endpoint = format!("http://{}", dead.local_addr().expect("addr"));
    let restarted = stopped.start(Some(&dead_endpoint)).await.expect("agent restarts");
    for _ in 0..2 {
        let accepted = tokio::time::timeout(Duration::from_secs(30), dead.accept()).await;
        drop(accepted.expect("the agent dials").expect("accept"));
    }
    assert_eq!(restarted.health().await.expect("health"), ServingStatus::NotServing);
    let refused = restarted.assign("u1").await.expect_err("nothing is served");
    assert_eq!(refused.code(), Code::Unavailable);
    restarted.stop().await.expect("agent stops cleanly");
}

#[tokio::test]
async fn an_invalid_snapshot_injected_by_a_test_hook_is_nacked_and_the_old_one_keeps_serving() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let mut experiments = control_plane.experiments().await.expect("client");
    // Revisions from `poisoned_from` on arrive with a zero weight, which validation refuses.
    let poisoned_from = Arc::new(AtomicI64::new(i64::MAX));
    let poison = poisoned_from.clone();
    let hooks = Hooks {
        on_snapshot: Some(Arc::new(move |snapshot: &mut pb::ConfigSnapshot| {
            if snapshot.revision >= poison.load(Ordering::SeqCst) {
                for experiment in &mut snapshot.experiments {
                    if let Some(spec) = experiment.spec.as_mut() {
                        spec.variants[0].weight = 0.0;
                    }
                }
            }
        })),
    };
    let agent =
        TestEdgeAgent::start_with(&control_plane.endpoint(), "hooked", hooks).await.expect("agent");
    agent.wait_until_serving().await.expect("SERVING");
    let good = create_and_start(&mut experiments, KEY).await;
    agent.wait_for_revision(good).await.expect("good revision");

    poisoned_from.store(good + 1, Ordering::SeqCst);
    let ramped = ramp(&mut experiments, KEY, 5_000).await;
    let mut fleet = FleetServiceClient::new(control_plane.channel().await.expect("channel"));
    let rejected =
        wait_until(Duration::from_secs(30), || {
            let mut fleet = fleet.clone();
            async move {
                fleet.list_agents(pb::ListAgentsRequest::default()).await.is_ok_and(|listed| {
                    listed.into_inner().agents.iter().any(|listed| {
                        listed.agent_id == "hooked" && listed.rejected_revision == ramped
                    })
                })
            }
        })
        .await;
    let listed = fleet.list_agents(pb::ListAgentsRequest::default()).await.expect("list");
    assert!(rejected.is_ok(), "no NACK recorded: {:?}", listed.get_ref());
    let hooked = listed.get_ref().agents.iter().find(|listed| listed.agent_id == "hooked");
    let hooked = hooked.expect("agent listed");
    assert!(hooked.rejected_error.contains("weight"), "{}", hooked.rejected_error);
    assert_eq!(hooked.applied_revision, good);
    let response = agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments[0].version), (good, 2));

    // The next good revision is applied as usual.
    poisoned_from.store(i64::MAX, Ordering::SeqCst);
    let ramped_again = ramp(&mut experiments, KEY, 10_000).await;
    agent.wait_for_revision(ramped_again).await.expect("next good revision");
    agent.stop().await.expect("agent stops cleanly");
    control_plane.stop().await.expect("control plane stops cleanly");
}
