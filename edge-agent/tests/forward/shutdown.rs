//! Stopping: what is not acknowledged by the deadline is spooled, and the next start
//! replays it; replaying a spool twice stores nothing twice.

use std::time::Duration;

use tokio::time::Instant;
use vary_edge_agent::forward::Forwarding;

use crate::fake_ingest::{FakeIngestServer, Ledger, events, id, settings, wait_until};

#[tokio::test]
async fn shutdown_during_an_outage_spools_everything_and_a_restart_delivers_it() {
    let fake = FakeIngestServer::start(Ledger { down: true, ..Ledger::default() }).await;
    let state = tempfile::tempdir().expect("tempdir");
    let (sink, forwarding) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("start");
    assert_eq!(sink.send_all(events(0..300)), 0);
    wait_until(|| fake.with(|ledger| ledger.calls) > 0, "a first attempt").await;
    assert_eq!(sink.send_all(events(300..350)), 0);
    let counters = forwarding.flush_or_spool(Instant::now() + Duration::from_millis(200)).await;
    assert_eq!(counters.spooled, 350, "queued and failed events are all on disk: {counters:?}");
    assert_eq!(counters.dropped(), 0);
    drop(sink);

    fake.with(|ledger| ledger.down = false);
    let (_sink, restarted) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("restart");
    fake.wait_for_stored(350).await;
    assert_eq!(fake.stored(), (0..350).map(id).collect::<Vec<_>>(), "in order, once each");
    wait_until(|| restarted.counters.snapshot().spool_bytes == 0, "spool emptied").await;
    let counters = restarted.flush_or_spool(Instant::now() + Duration::from_secs(5)).await;
    assert_eq!(counters.replayed, 350);
    let left = std::fs::read_dir(state.path().join("spool")).expect("list").count();
    assert_eq!(left, 0, "acknowledged segments are deleted");
    fake.stop().await;
}

#[tokio::test]
async fn a_call_still_unanswered_at_the_deadline_is_spooled() {
    let fake = FakeIngestServer::start(Ledger { hang: true, ..Ledger::default() }).await;
    let state = tempfile::tempdir().expect("tempdir");
    let (sink, forwarding) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("start");
    assert_eq!(sink.send_all(events(0..250)), 0);
    let started = Instant::now();
    let counters = forwarding.flush_or_spool(started + Duration::from_millis(300)).await;
    assert!(started.elapsed() < Duration::from_secs(3), "bounded by the deadline");
    assert_eq!(counters.spooled, 250, "in flight and queued alike: {counters:?}");
    fake.with(|ledger| ledger.hang = false);
    let (_sink, restarted) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("restart");
    fake.wait_for_stored(250).await;
    restarted.flush_or_spool(Instant::now() + Duration::from_secs(5)).await;
    fake.stop().await;
}

#[tokio::test]
async fn shutdown_with_a_reachable_control_plane_sends_instead_of_spooling() {
    let fake = FakeIngestServer::start(Ledger::default()).await;
    let state = tempfile::tempdir().expect("tempdir");
    let slow_batches = vary_edge_agent::forward::ForwardSettings {
        batch_age: Duration::from_secs(3_600),
        batch_size: 10_000,
        ..settings(&fake.endpoint(), state.path())
    };
    let (sink, forwarding) = Forwarding::start(slow_batches).expect("start");
    assert_eq!(sink.send_all(events(0..42)), 0);
    let counters = forwarding.flush_or_spool(Instant::now() + Duration::from_secs(5)).await;
    assert_eq!((counters.forwarded, counters.spooled), (42, 0), "{counters:?}");
    assert_eq!(fake.stored().len(), 42);
    fake.stop().await;
}

#[tokio::test]
async fn replaying_a_spool_twice_stores_nothing_twice() {
    let fake = FakeIngestServer::start(Ledger { down: true, ..Ledger::default() }).await;
    let state = tempfile::tempdir().expect("tempdir");
    let (sink, forwarding) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("start");
    assert_eq!(sink.send_all(events(0..120)), 0);
    forwarding.flush_or_spool(Instant::now()).await;
    let spool = state.path().join("spool");
    let copy = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(&spool).expect("list") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy");
    }
    fake.with(|ledger| ledger.down = false);
    for _ in 0..2 {
        let (_sink, replaying) =
            Forwarding::start(settings(&fake.endpoint(), state.path())).expect("start");
        wait_until(|| replaying.counters.snapshot().spool_bytes == 0, "spool replayed").await;
        replaying.flush_or_spool(Instant::now() + Duration::from_secs(5)).await;
        // Put the same segments back for the second replay.
        for entry in std::fs::read_dir(copy.path()).expect("list") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), spool.join(entry.file_name())).expect("copy back");
        }
    }
    assert_eq!(fake.stored(), (0..120).map(id).collect::<Vec<_>>());
    assert_eq!(fake.with(|ledger| ledger.duplicates), 120, "the second replay was all duplicates");
}
