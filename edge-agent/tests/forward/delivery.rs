//! Delivery through failures: retried ones lose nothing and keep the order, permanent
//! ones drop what they must and nothing more.

use tonic::Code;
use vary_edge_agent::forward::{Forwarding, Sent};

use crate::fake_ingest::{FakeIngestServer, Ledger, events, id, settings, wait_until};

fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(5)
}

#[tokio::test]
async fn events_survive_unavailable_answers_in_order_and_without_loss() {
    let fake = FakeIngestServer::start(Ledger {
        script: [Code::Unavailable, Code::Unavailable, Code::Unavailable].into(),
        ..Ledger::default()
    })
    .await;
    let state = tempfile::tempdir().expect("tempdir");
    let (sink, forwarding) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("start");
    for chunk in events(0..2_000).chunks(250) {
        for event in chunk.iter().cloned() {
            assert_eq!(sink.send(event), Sent::Queued);
        }
        tokio::task::yield_now().await;
    }
    fake.wait_for_stored(2_000).await;
    wait_until(|| forwarding.counters.snapshot().spool_bytes == 0, "spool drained").await;

    let stored = fake.stored();
    let expected: Vec<String> = (0..2_000).map(id).collect();
    assert_eq!(stored, expected, "every event once, in the order made");
    let counters = forwarding.flush_or_spool(deadline()).await;
    assert_eq!(counters.forwarded, 2_000);
    assert!(counters.spooled > 0, "the failed batches went through the spool: {counters:?}");
    assert_eq!(counters.replayed, counters.spooled, "{counters:?}");
    assert_eq!(counters.dropped(), 0, "{counters:?}");
    assert!(fake.with(|ledger| ledger.calls) >= 4, "three failed calls, then successes");
    fake.stop().await;
}

#[tokio::test]
async fn a_permanent_refusal_drops_only_its_batch() {
    let fake = FakeIngestServer::start(Ledger {
        script: [Code::InvalidArgument].into(),
        ..Ledger::default()
    })
    .await;
    let state = tempfile::tempdir().expect("tempdir");
    let (sink, forwarding) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("start");
    // One full batch (size 100) is refused; the next one goes through.
    assert_eq!(sink.send_all(events(0..100)), 0);
    wait_until(|| forwarding.counters.snapshot().dropped_permanent == 100, "batch dropped").await;
    assert_eq!(sink.send_all(events(100..150)), 0);
    fake.wait_for_stored(50).await;
    assert_eq!(fake.stored(), (100..150).map(id).collect::<Vec<_>>());
    let counters = forwarding.flush_or_spool(deadline()).await;
    assert_eq!((counters.forwarded, counters.dropped_permanent, counters.spooled), (50, 100, 0));
    fake.stop().await;
}

#[tokio::test]
async fn per_event_rejections_are_counted_and_not_retried() {
    let fake =
        FakeIngestServer::start(Ledger { refuse: [id(3), id(7)].into(), ..Ledger::default() })
            .await;
    let state = tempfile::tempdir().expect("tempdir");
    let (sink, forwarding) =
        Forwarding::start(settings(&fake.endpoint(), state.path())).expect("start");
    assert_eq!(sink.send_all(events(0..10)), 0);
    fake.wait_for_stored(8).await;
    let counters = forwarding.flush_or_spool(deadline()).await;
    assert_eq!((counters.forwarded, counters.rejected, counters.spooled), (8, 2, 0));
    assert_eq!(fake.with(|ledger| ledger.calls), 1, "a partly refused batch is not resent");
    fake.stop().await;
}

#[tokio::test]
async fn a_full_queue_spills_to_the_spool_instead_of_dropping() {
    let fake = FakeIngestServer::start(Ledger { down: true, ..Ledger::default() }).await;
    let state = tempfile::tempdir().expect("tempdir");
    let small_queue = vary_edge_agent::forward::ForwardSettings {
        queue_capacity: 10,
        ..settings(&fake.endpoint(), state.path())
    };
    let (sink, forwarding) = Forwarding::start(small_queue).expect("start");
    let sent: Vec<Sent> = events(0..500).into_iter().map(|event| sink.send(event)).collect();
    assert!(sent.contains(&Sent::Overflowed), "a 10-event queue overflows");
    assert!(!sent.contains(&Sent::Dropped), "the overflow channel has room");
    wait_until(|| forwarding.counters.snapshot().spooled == 500, "all spooled").await;
    fake.with(|ledger| ledger.down = false);
    fake.wait_for_stored(500).await;
    let mut stored = fake.stored();
    stored.sort();
    assert_eq!(stored, (0..500).map(id).collect::<Vec<_>>(), "each once; order may differ");
    let counters = forwarding.flush_or_spool(deadline()).await;
    assert_eq!(counters.dropped(), 0, "{counters:?}");
    fake.stop().await;
}
