//! The Watch protocol from the agent's side: ACK, NACK, up-to-date, heartbeats,
//! reconnects, time limits, shutdown.

use std::{sync::Arc, time::Duration};

use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use vary_edge_agent::{Hooks, lkg};
use vary_proto::pb::{self, watch_response};

use crate::support::{Followed, experiment, snapshot};

#[tokio::test]
async fn before_any_snapshot_health_is_not_serving_and_assign_is_unavailable() {
    let t = Followed::start().await;
    assert_eq!(t.stream.hello.agent_id, "agent-under-test");
    assert_eq!(t.stream.hello.known_revision, 0);
    assert!(!t.stream.hello.agent_version.is_empty());

    assert_eq!(t.agent.health().await, ServingStatus::NotServing);
    let status = t.agent.assign("u1").await.expect_err("nothing loaded");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "no config loaded yet");
    t.agent.stop().await;
}

#[tokio::test]
async fn a_snapshot_is_acked_persisted_and_served() {
    let mut t = Followed::start().await;

    t.stream.send_snapshot_expect_ack(snapshot(5, "reco", 2)).await;
    t.agent.wait_until_serving().await;
    let response = t.agent.assign("u123").await.expect("assign");
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

    assert_eq!(persisted_revision(&t), 5);
    t.agent.stop().await;
}

#[tokio::test]
async fn an_invalid_snapshot_is_nacked_and_the_old_one_keeps_serving() {
    let mut t = Followed::start().await;
    t.stream.send_snapshot_expect_ack(snapshot(5, "reco", 2)).await;

    let mut invalid = snapshot(6, "reco", 3);
    invalid.experiments[0].spec.as_mut().expect("spec").variants[1].weight = 0.0;
    let nack = t.stream.send_snapshot_expect_nack(invalid).await;
    assert_eq!(nack.revision, 6);
    assert!(nack.error.contains("experiments[0].spec.variants[1].weight"), "{}", nack.error);
    let response = t.agent.assign("u123").await.expect("assign");
    assert_eq!((response.revision, response.assignments[0].version), (5, 2));
    assert_eq!(persisted_revision(&t), 5);

    // The next valid revision is applied as usual.
    t.stream.send_snapshot_expect_ack(snapshot(7, "reco", 4)).await;
    assert_eq!(t.agent.assign("u123").await.expect("assign").assignments[0].version, 4);
    t.agent.stop().await;
}

#[tokio::test]
async fn a_test_hook_can_corrupt_a_snapshot_which_is_then_nacked() {
    let hooks = Hooks {
        on_snapshot: Some(Arc::new(|snapshot: &mut pb::ConfigSnapshot| {
            if snapshot.revision == 6 {
                snapshot.experiments[0].key = "Not A Slug".into();
            }
        })),
    };
    let mut t = Followed::start_with(|config| config, hooks).await;
    t.stream.send_snapshot_expect_ack(snapshot(5, "reco", 1)).await;
    let nack = t.stream.send_snapshot_expect_nack(snapshot(6, "reco", 2)).await;
    assert_eq!(nack.revision, 6);
    assert!(nack.error.contains("experiments[0].key"), "{}", nack.error);
    assert_eq!(t.agent.assign("u1").await.expect("assign").revision, 5);
    t.agent.stop().await;
}

#[tokio::test]
async fn the_empty_revision_zero_of_a_fresh_installation_is_served() {
    let mut t = Followed::start().await;
    t.stream.send_snapshot_expect_ack(pb::ConfigSnapshot::default()).await;
    t.agent.wait_until_serving().await;
    let response = t.agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments.len()), (0, 0));
    t.stream.send_snapshot_expect_ack(snapshot(1, "reco", 1)).await;
    t.agent.stop().await;
}

#[tokio::test]
async fn a_head_of_revision_zero_means_the_empty_config() {
    let mut t = Followed::start().await;
    t.stream.send(heartbeat(0)).await;
    assert_eq!(t.stream.expect_ack().await, 0);
    t.agent.wait_until_serving().await;
    let response = t.agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments.len()), (0, 0));
    t.agent.stop().await;
}

#[tokio::test]
async fn an_older_revision_is_nacked() {
    let mut t = Followed::start().await;
    t.stream.send_snapshot_expect_ack(snapshot(9, "reco", 2)).await;
    let nack = t.stream.send_snapshot_expect_nack(snapshot(8, "reco", 1)).await;
    assert_eq!(nack.revision, 8);
    assert!(nack.error.contains("older"), "{}", nack.error);
    assert_eq!(t.agent.assign("u1").await.expect("assign").revision, 9);
    t.agent.stop().await;
}

#[tokio::test]
async fn a_stopped_experiment_stops_assigning() {
    let mut t = Followed::start().await;
    t.stream.send_snapshot_expect_ack(snapshot(1, "reco", 1)).await;
    assert_eq!(t.agent.assign("u1").await.expect("assign").assignments.len(), 1);

    let stopped = pb::ConfigSnapshot {
        revision: 2,
        commit_time: None,
        experiments: vec![experiment("reco", 2, pb::ExperimentStatus::Stopped)],
    };
    t.stream.send_snapshot_expect_ack(stopped).await;
    let response = t.agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments.len()), (2, 0));
    t.agent.stop().await;
}

#[tokio::test]
async fn heartbeats_are_answered_with_the_served_revision() {
    let mut t = Followed::start().await;
    t.stream.send(heartbeat(3)).await;
    assert_eq!(t.stream.expect_ack().await, 0, "nothing served yet");
    t.stream.send_snapshot_expect_ack(snapshot(3, "reco", 1)).await;
    t.stream.send(heartbeat(3)).await;
    assert_eq!(t.stream.expect_ack().await, 3);
    t.agent.stop().await;
}

#[tokio::test]
async fn the_agent_reconnects_after_a_clean_close_and_reports_its_revision() {
    let mut t = Followed::start().await;
    t.stream.send_snapshot_expect_ack(snapshot(4, "reco", 1)).await;
    t.stream.close();

    let stream = t.control_plane.next_stream().await;
    assert_eq!(stream.hello.known_revision, 4);
    stream.send(watch_response::Kind::UpToDate(pb::ConfigUpToDate { revision: 4 })).await;
    // Serving never stopped.
    assert_eq!(t.agent.health().await, ServingStatus::Serving);
    assert_eq!(t.agent.assign("u1").await.expect("assign").revision, 4);
    t.agent.stop().await;
}

#[tokio::test]
async fn a_silent_stream_is_dropped_after_the_idle_timeout() {
    let idle_timeout = Duration::from_millis(300);
    let mut t = Followed::start_with(
        |config| vary_edge_agent::Config { idle_timeout, ..config },
        Hooks::default(),
    )
    .await;
    t.stream.send_snapshot_expect_ack(snapshot(2, "reco", 1)).await;

    // No heartbeat follows: the agent gives up on the stream and dials again.
    let second = t.control_plane.next_stream().await;
    assert_eq!(second.hello.known_revision, 2);
    assert_eq!(t.stream.next_request().await, None, "the first stream was ended by the agent");
    assert_eq!(t.agent.assign("u1").await.expect("assign").revision, 2);
    t.agent.stop().await;
}

#[tokio::test]
async fn a_stream_without_a_first_message_is_abandoned() {
    let first_message_timeout = Duration::from_millis(300);
    // The first stream (`t.stream`) is left silent.
    let mut t = Followed::start_with(
        |config| vary_edge_agent::Config { first_message_timeout, ..config },
        Hooks::default(),
    )
    .await;
    let retry = t.control_plane.next_stream().await;
    assert_eq!(retry.hello.known_revision, 0);
    t.agent.stop().await;
}

#[tokio::test]
async fn shutdown_ends_the_watch_stream() {
    let mut t = Followed::start().await;
    t.stream.send_snapshot_expect_ack(snapshot(1, "reco", 1)).await;
    t.agent.wait_until_serving().await;

    t.agent.stop().await;
    assert_eq!(t.stream.next_request().await, None, "the agent ended its stream");
    t.control_plane.stop().await;
}

/// A heartbeat announcing `head_revision`, which the agent answers with an ACK of what
/// it serves.
fn heartbeat(head_revision: i64) -> watch_response::Kind {
    watch_response::Kind::Heartbeat(pb::Heartbeat { head_revision })
}

/// The revision in the agent's last-known-good file, which must exist.
fn persisted_revision(t: &Followed) -> i64 {
    lkg::read(t.state.path()).expect("read").expect("file written").snapshot.revision
}
