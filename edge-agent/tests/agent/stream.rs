//! The Watch protocol from the agent's side: ACK, NACK, up-to-date, heartbeats,
//! reconnects, time limits, shutdown.

use std::{sync::Arc, time::Duration};

use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use vary_edge_agent::{Hooks, lkg};
use vary_proto::pb::{self, watch_request, watch_response};

use crate::support::{Agent, FakeControlPlane, experiment, snapshot, test_config};

#[tokio::test]
async fn before_any_snapshot_health_is_not_serving_and_assign_is_unavailable() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let stream = control_plane.next_stream().await;
    assert_eq!(stream.hello.agent_id, "agent-under-test");
    assert_eq!(stream.hello.known_revision, 0);
    assert!(!stream.hello.agent_version.is_empty());

    assert_eq!(agent.health().await, ServingStatus::NotServing);
    let status = agent.assign("u1").await.expect_err("nothing loaded");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "no config loaded yet");
    agent.stop().await;
}

#[tokio::test]
async fn a_snapshot_is_acked_persisted_and_served() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;

    stream.send_snapshot(snapshot(5, "reco", 2)).await;
    assert_eq!(stream.expect_ack().await, 5);
    agent.wait_until_serving().await;
    let response = agent.assign("u123").await.expect("assign");
    assert_eq!(response.revision, 5);
    assert_eq!(response.unit_type(), pb::UnitType::User);
    let [assignment] = response.assignments.as_slice() else {
        panic!("one assignment expected: {response:?}")
    };
    assert_eq!((assignment.experiment_key.as_str(), assignment.version), ("reco", 2));
    assert_eq!(assignment.reason(), pb::AssignmentReason::Hash);
    let params = assignment.params.as_ref().expect("params");
    assert!(params.fields.contains_key("variant"), "{params:?}");
    let staleness = response.staleness.expect("staleness");
    assert!(staleness.seconds < 5, "{staleness:?}");

    let persisted = lkg::read(state.path()).expect("read").expect("file written");
    assert_eq!(persisted.snapshot.revision, 5);
    agent.stop().await;
}

#[tokio::test]
async fn an_invalid_snapshot_is_nacked_and_the_old_one_keeps_serving() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(snapshot(5, "reco", 2)).await;
    assert_eq!(stream.expect_ack().await, 5);

    let mut invalid = snapshot(6, "reco", 3);
    invalid.experiments[0].spec.as_mut().expect("spec").variants[1].weight = 0.0;
    stream.send_snapshot(invalid).await;
    match stream.next_request().await {
        Some(watch_request::Kind::Nack(nack)) => {
            assert_eq!(nack.revision, 6);
            assert!(
                nack.error.contains("experiments[0].spec.variants[1].weight"),
                "{}",
                nack.error
            );
        }
        other => panic!("expected a NACK, got {other:?}"),
    }
    let response = agent.assign("u123").await.expect("assign");
    assert_eq!((response.revision, response.assignments[0].version), (5, 2));
    assert_eq!(lkg::read(state.path()).expect("read").expect("file").snapshot.revision, 5);

    // The next valid revision is applied as usual.
    stream.send_snapshot(snapshot(7, "reco", 4)).await;
    assert_eq!(stream.expect_ack().await, 7);
    assert_eq!(agent.assign("u123").await.expect("assign").assignments[0].version, 4);
    agent.stop().await;
}

#[tokio::test]
async fn a_test_hook_can_corrupt_a_snapshot_which_is_then_nacked() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let hooks = Hooks {
        on_snapshot: Some(Arc::new(|snapshot: &mut pb::ConfigSnapshot| {
            if snapshot.revision == 6 {
                snapshot.experiments[0].key = "Not A Slug".into();
            }
        })),
    };
    let agent =
        Agent::start_with(test_config(&control_plane.endpoint(), state.path()), hooks).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(snapshot(5, "reco", 1)).await;
    assert_eq!(stream.expect_ack().await, 5);
    stream.send_snapshot(snapshot(6, "reco", 2)).await;
    match stream.next_request().await {
        Some(watch_request::Kind::Nack(nack)) => {
            assert_eq!(nack.revision, 6);
            assert!(nack.error.contains("experiments[0].key"), "{}", nack.error);
        }
        other => panic!("expected a NACK, got {other:?}"),
    }
    assert_eq!(agent.assign("u1").await.expect("assign").revision, 5);
    agent.stop().await;
}

#[tokio::test]
async fn the_empty_revision_zero_of_a_fresh_installation_is_served() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(pb::ConfigSnapshot::default()).await;
    assert_eq!(stream.expect_ack().await, 0);
    agent.wait_until_serving().await;
    let response = agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments.len()), (0, 0));
    stream.send_snapshot(snapshot(1, "reco", 1)).await;
    assert_eq!(stream.expect_ack().await, 1);
    agent.stop().await;
}

#[tokio::test]
async fn a_head_of_revision_zero_means_the_empty_config() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send(watch_response::Kind::Heartbeat(pb::Heartbeat { head_revision: 0 })).await;
    assert_eq!(stream.expect_ack().await, 0);
    agent.wait_until_serving().await;
    let response = agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments.len()), (0, 0));
    agent.stop().await;
}

#[tokio::test]
async fn an_older_revision_is_nacked() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(snapshot(9, "reco", 2)).await;
    assert_eq!(stream.expect_ack().await, 9);
    stream.send_snapshot(snapshot(8, "reco", 1)).await;
    match stream.next_request().await {
        Some(watch_request::Kind::Nack(nack)) => {
            assert_eq!(nack.revision, 8);
            assert!(nack.error.contains("older"), "{}", nack.error);
        }
        other => panic!("expected a NACK, got {other:?}"),
    }
    assert_eq!(agent.assign("u1").await.expect("assign").revision, 9);
    agent.stop().await;
}

#[tokio::test]
async fn a_stopped_experiment_stops_assigning() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(snapshot(1, "reco", 1)).await;
    assert_eq!(stream.expect_ack().await, 1);
    assert_eq!(agent.assign("u1").await.expect("assign").assignments.len(), 1);

    let stopped = pb::ConfigSnapshot {
        revision: 2,
        commit_time: None,
        experiments: vec![experiment("reco", 2, pb::ExperimentStatus::Stopped)],
    };
    stream.send_snapshot(stopped).await;
    assert_eq!(stream.expect_ack().await, 2);
    let response = agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments.len()), (2, 0));
    agent.stop().await;
}

#[tokio::test]
async fn heartbeats_are_answered_with_the_served_revision() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send(watch_response::Kind::Heartbeat(pb::Heartbeat { head_revision: 3 })).await;
    assert_eq!(stream.expect_ack().await, 0, "nothing served yet");
    stream.send_snapshot(snapshot(3, "reco", 1)).await;
    assert_eq!(stream.expect_ack().await, 3);
    stream.send(watch_response::Kind::Heartbeat(pb::Heartbeat { head_revision: 3 })).await;
    assert_eq!(stream.expect_ack().await, 3);
    agent.stop().await;
}

#[tokio::test]
async fn the_agent_reconnects_after_a_clean_close_and_reports_its_revision() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(snapshot(4, "reco", 1)).await;
    assert_eq!(stream.expect_ack().await, 4);
    stream.close();

    let stream = control_plane.next_stream().await;
    assert_eq!(stream.hello.known_revision, 4);
    stream.send(watch_response::Kind::UpToDate(pb::ConfigUpToDate { revision: 4 })).await;
    // Serving never stopped.
    assert_eq!(agent.health().await, ServingStatus::Serving);
    assert_eq!(agent.assign("u1").await.expect("assign").revision, 4);
    agent.stop().await;
}

#[tokio::test]
async fn a_silent_stream_is_dropped_after_the_idle_timeout() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let config = vary_edge_agent::Config {
        idle_timeout: Duration::from_millis(300),
        ..test_config(&control_plane.endpoint(), state.path())
    };
    let agent = Agent::start_with(config, Hooks::default()).await;
    let mut first = control_plane.next_stream().await;
    first.send_snapshot(snapshot(2, "reco", 1)).await;
    assert_eq!(first.expect_ack().await, 2);

    // No heartbeat follows: the agent gives up on the stream and dials again.
    let second = control_plane.next_stream().await;
    assert_eq!(second.hello.known_revision, 2);
    assert_eq!(first.next_request().await, None, "the first stream was ended by the agent");
    assert_eq!(agent.assign("u1").await.expect("assign").revision, 2);
    agent.stop().await;
}

#[tokio::test]
async fn a_stream_without_a_first_message_is_abandoned() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let config = vary_edge_agent::Config {
        first_message_timeout: Duration::from_millis(300),
        ..test_config(&control_plane.endpoint(), state.path())
    };
    let agent = Agent::start_with(config, Hooks::default()).await;
    let _silent = control_plane.next_stream().await;
    let retry = control_plane.next_stream().await;
    assert_eq!(retry.hello.known_revision, 0);
    agent.stop().await;
}

#[tokio::test]
async fn shutdown_ends_the_watch_stream() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot(snapshot(1, "reco", 1)).await;
    assert_eq!(stream.expect_ack().await, 1);
    agent.wait_until_serving().await;

    agent.stop().await;
    assert_eq!(stream.next_request().await, None, "the agent ended its stream");
    control_plane.stop().await;
}
