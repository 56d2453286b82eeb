//! The spool against the real control plane: a replayed segment stores nothing twice, and
//! a corrupt record costs that record only.

use std::{path::Path, time::Duration};

use tokio::time::Instant;
use vary_control_plane::auth::Role;
use vary_edge_agent::{
    backoff::Backoff,
    forward::{ForwardSettings, Forwarding, event::outcome_event},
    link::ControlPlaneLink,
};
use vary_proto::pb;
use vary_tests::{TestControlPlane, auth::TestToken, edge_agent::wait_until};

use crate::support::{STORED_WAIT, stored};

const EVENTS: usize = 1_000;

fn settings(endpoint: &str, state: &Path) -> ForwardSettings {
    ForwardSettings {
        batch_size: 100,
        batch_age: Duration::from_millis(20),
        segment_bytes: 32 * 1024,
        backoff: Backoff { min: Duration::from_millis(20), max: Duration::from_millis(200) },
        link: ControlPlaneLink::plaintext_with_token(endpoint, TestToken::of(Role::Agent).secret)
            .expect("link"),
        ..ForwardSettings::new(endpoint, "replay-test", state.join("spool"))
    }
}

fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// Starts forwarding over the spool in `state`, waits until the spool is empty, stops.
async fn replay(endpoint: &str, state: &Path) -> vary_edge_agent::forward::CountersSnapshot {
    let (_sink, forwarding) = Forwarding::start(settings(endpoint, state)).expect("start");
    let emptied = wait_until(STORED_WAIT, || {
        let bytes = forwarding.counters.snapshot().spool_bytes;
        async move { bytes == 0 }
    })
    .await;
    let counters = forwarding.flush_or_spool(Instant::now() + Duration::from_secs(5)).await;
    assert!(emptied.is_ok(), "the spool was never emptied: {counters:?}");
    counters
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_replayed_twice_changes_nothing_and_a_corrupt_record_costs_only_itself() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let (database, addr, endpoint) =
        (control_plane.database.clone(), control_plane.addr, control_plane.endpoint());
    control_plane.stop().await.expect("control plane stops");

    // While the control plane is down, everything lands in the spool.
    let state = tempfile::tempdir().expect("tempdir");
    let (sink, forwarding) = Forwarding::start(settings(&endpoint, state.path())).expect("start");
    let now = time::OffsetDateTime::now_utc();
    let events = (0..EVENTS).map(|n| {
        outcome_event(
            pb::OutcomeEvent {
                event_type: "click".into(),
                session_id: format!("s-{n}"),
                ..Default::default()
            },
            now,
        )
    });
    assert_eq!(sink.send_all(events), 0);
    let counters = forwarding.flush_or_spool(Instant::now()).await;
    assert_eq!(counters.spooled as usize, EVENTS, "{counters:?}");
    let spool = state.path().join("spool");
    let pristine = tempfile::tempdir().expect("tempdir");
    copy_files(&spool, pristine.path());

    let control_plane =
        TestControlPlane::start_at(database.clone(), addr).await.expect("control plane is back");
    let first = replay(&endpoint, state.path()).await;
    assert_eq!((first.forwarded as usize, first.replayed as usize), (EVENTS, EVENTS));
    assert_eq!(stored(&database).await.outcome_ids.len(), EVENTS);

    copy_files(pristine.path(), &spool);
    let second = replay(&endpoint, state.path()).await;
    assert_eq!((second.forwarded, second.duplicates as usize), (0, EVENTS), "{second:?}");
    assert_eq!(stored(&database).await.outcome_ids.len(), EVENTS, "nothing changed");

    // Flip one byte in the middle of the oldest segment, then replay once more.
    copy_files(pristine.path(), &spool);
    let mut segments: Vec<_> = std::fs::read_dir(&spool)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .collect();
    segments.sort();
    let mut bytes = std::fs::read(&segments[0]).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&segments[0], bytes).expect("write");
    let third = replay(&endpoint, state.path()).await;
    assert_eq!(third.corrupt_records, 1, "{third:?}");
    assert_eq!(third.duplicates as usize, EVENTS - 1, "the records after the damage were read");
    assert_eq!(stored(&database).await.outcome_ids.len(), EVENTS);

    control_plane.stop().await.expect("control plane stops");
}
