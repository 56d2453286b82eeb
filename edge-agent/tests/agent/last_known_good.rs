//! The last-known-good file at start: served when the control plane is unreachable,
//! confirmed by an up-to-date answer, overridden by a newer snapshot, refused when corrupt.

use std::time::Duration;

use time::OffsetDateTime;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use vary_edge_agent::lkg;
use vary_proto::pb::{self, watch_response};

use crate::support::{Agent, FakeControlPlane, snapshot};

/// An address nothing listens on: bound, then released.
async fn unreachable_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn an_hour_ago() -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::from_secs(3_600)
}

#[tokio::test]
async fn an_agent_that_cannot_reach_the_control_plane_serves_its_file() {
    let state = tempfile::tempdir().expect("tempdir");
    lkg::write(state.path(), &snapshot(12, "reco", 3), an_hour_ago()).expect("write file");
    let agent = Agent::start(&unreachable_endpoint().await, state.path()).await;
    agent.wait_until_serving().await;
    let response = agent.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments[0].version), (12, 3));
    let staleness = response.staleness.expect("staleness");
    assert!(staleness.seconds >= 3_600, "staleness counts from the file's write: {staleness:?}");
    agent.stop().await;
}

#[tokio::test]
async fn an_up_to_date_answer_confirms_the_file_without_a_snapshot() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    lkg::write(state.path(), &snapshot(12, "reco", 3), an_hour_ago()).expect("write file");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let stream = control_plane.next_stream().await;
    assert_eq!(stream.hello.known_revision, 12);
    stream.send(watch_response::Kind::UpToDate(pb::ConfigUpToDate { revision: 12 })).await;
    agent.wait_until_serving().await;
    let response = agent.assign("u1").await.expect("assign");
    assert_eq!(response.revision, 12);
    assert!(response.staleness.expect("staleness").seconds < 60, "confirmed just now");
    agent.stop().await;
}

#[tokio::test]
async fn a_newer_snapshot_from_the_control_plane_wins_over_the_file() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    lkg::write(state.path(), &snapshot(12, "reco", 3), an_hour_ago()).expect("write file");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot_expect_ack(snapshot(15, "reco", 4)).await;
    assert_eq!(agent.assign("u1").await.expect("assign").revision, 15);
    assert_eq!(lkg::read(state.path()).expect("read").expect("file").snapshot.revision, 15);
    agent.stop().await;
}

#[tokio::test]
async fn a_corrupt_file_is_refused_and_never_served() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    lkg::write(state.path(), &snapshot(12, "reco", 3), an_hour_ago()).expect("write file");
    let path = lkg::path_in(state.path());
    let mut bytes = std::fs::read(&path).expect("read file");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).expect("corrupt file");

    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let first = control_plane.next_stream().await;
    assert_eq!(first.hello.known_revision, 0, "the corrupt file was not loaded");
    first.close();
    // The failed session is when a good file would have been served; the next hello
    // shows the agent got past that point.
    let second = control_plane.next_stream().await;
    assert_eq!(second.hello.known_revision, 0);
    assert_eq!(agent.health().await, ServingStatus::NotServing);
    assert_eq!(agent.assign("u1").await.expect_err("nothing served").code(), Code::Unavailable);
    agent.stop().await;
}

#[tokio::test]
async fn an_applied_snapshot_survives_a_restart_while_the_control_plane_is_down() {
    let mut control_plane = FakeControlPlane::start().await;
    let state = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(&control_plane.endpoint(), state.path()).await;
    let mut stream = control_plane.next_stream().await;
    stream.send_snapshot_expect_ack(snapshot(21, "reco", 5)).await;
    agent.stop().await;
    control_plane.stop().await;

    let restarted = Agent::start(&unreachable_endpoint().await, state.path()).await;
    restarted.wait_until_serving().await;
    let response = restarted.assign("u1").await.expect("assign");
    assert_eq!((response.revision, response.assignments[0].version), (21, 5));
    restarted.stop().await;
}
