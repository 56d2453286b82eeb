//! The spool against a real directory: round trip, durability, rotation, damage,
//! order, deletion after acknowledgement, and the size bound.

use std::sync::atomic::Ordering;

use super::*;
use crate::forward::event::{event_id, outcome_event};

fn event(n: usize) -> pb::Event {
    outcome_event(
        pb::OutcomeEvent {
            event_id: format!("id-{n:05}"),
            event_type: "click".into(),
            user_id: format!("user-{n}"),
            ..Default::default()
        },
        time::OffsetDateTime::UNIX_EPOCH,
    )
}

fn events(range: std::ops::Range<usize>) -> Vec<pb::Event> {
    range.map(event).collect()
}

fn settings(dir: &Path) -> SpoolSettings {
    SpoolSettings { dir: dir.join("spool"), segment_bytes: 1 << 20, max_bytes: 1 << 30 }
}

fn open(settings: &SpoolSettings) -> (Spool, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    (Spool::open(settings.clone(), counters.clone()).expect("open"), counters)
}

fn ids(events: &[pb::Event]) -> Vec<String> {
    events.iter().map(|event| event_id(event).to_owned()).collect()
}

fn expected(range: impl Iterator<Item = usize>) -> Vec<String> {
    range.map(|n| format!("id-{n:05}")).collect()
}

/// Reads, acknowledges and removes every segment, oldest first; returns all events.
fn drain(spool: &mut Spool, counters: &Counters) -> Vec<pb::Event> {
    let mut all = Vec::new();
    while let Some(mut segment) = spool.read_oldest().expect("read") {
        all.extend(segment.next_batch(usize::MAX, counters));
        assert!(segment.is_done());
        spool.remove(segment.seq).expect("remove");
    }
    all
}

#[test]
fn appended_batches_read_back_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut spool, counters) = open(&settings(dir.path()));
    assert!(spool.is_empty());
    for range in [0..10, 10..11, 11..40] {
        let appended = spool.append(&events(range.clone())).expect("append");
        assert_eq!(appended, Appended { written: range.len(), dropped_full: 0 });
    }
    assert!(!spool.is_empty());
    assert_eq!(counters.spooled.load(Ordering::Relaxed), 40);
    assert_eq!(counters.spool_bytes.load(Ordering::Relaxed), spool.bytes());
    let read = drain(&mut spool, &counters);
    assert_eq!(ids(&read), expected(0..40));
    assert_eq!(read[7], event(7), "events come back whole");
    assert!(spool.is_empty());
    assert_eq!(counters.spool_bytes.load(Ordering::Relaxed), 0);
}

#[test]
fn an_appended_batch_is_on_disk_before_the_writer_goes_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings(dir.path());
    let (mut writer, _) = open(&settings);
    writer.append(&events(0..5)).expect("append");
    // A crash: the writer is never dropped cleanly; a new process opens the directory.
    std::mem::forget(writer);
    let (mut reader, counters) = open(&settings);
    assert_eq!(ids(&drain(&mut reader, &counters)), expected(0..5));
    assert_eq!(counters.corrupt_records.load(Ordering::Relaxed), 0);
}

#[test]
fn segments_rotate_at_their_size_and_replay_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = SpoolSettings { segment_bytes: 1_000, ..settings(dir.path()) };
    let (mut spool, _) = open(&settings);
    for start in (0..100).step_by(10) {
        spool.append(&events(start..start + 10)).expect("append");
    }
    let files = std::fs::read_dir(&settings.dir).expect("list").count();
    assert!(files >= 3, "1,000-byte segments rotate often: {files} files");
    drop(spool);
    // Reopened, the same order: the oldest segment first, across files.
    let (mut spool, counters) = open(&settings);
    spool.append(&events(100..110)).expect("append after reopen");
    assert_eq!(ids(&drain(&mut spool, &counters)), expected(0..110));
    let left: Vec<_> = std::fs::read_dir(&settings.dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "all deleted: {left:?}");
}

#[test]
fn a_corrupt_byte_in_the_middle_is_skipped_and_the_rest_recovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings(dir.path());
    let (mut spool, _) = open(&settings);
    spool.append(&events(0..20)).expect("append");
    drop(spool);
    let path = segment_path(&settings.dir, 0);
    let mut bytes = std::fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5A;
    std::fs::write(&path, bytes).expect("write");

    let (mut spool, counters) = open(&settings);
    let mut segment = spool.read_oldest().expect("read").expect("a segment");
    let events = segment.next_batch(usize::MAX, &counters);
    assert_eq!(events.len(), 19, "one record lost, the 19 others kept");
    assert_eq!(counters.corrupt_records.load(Ordering::Relaxed), 1);
    let read = ids(&events);
    let lost: Vec<_> = expected(0..20).into_iter().filter(|id| !read.contains(id)).collect();
    assert_eq!(lost.len(), 1);
    assert!(read.contains(&"id-00019".to_owned()), "records after the damage survive");
}

#[test]
fn a_truncated_tail_is_reported_and_what_precedes_it_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings(dir.path());
    let (mut spool, _) = open(&settings);
    spool.append(&events(0..10)).expect("append");
    drop(spool);
    let path = segment_path(&settings.dir, 0);
    let length = std::fs::metadata(&path).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(length - 5)
        .expect("cut");

    let (mut spool, counters) = open(&settings);
    assert_eq!(ids(&drain(&mut spool, &counters)), expected(0..9));
    assert_eq!(counters.corrupt_records.load(Ordering::Relaxed), 1);
}

#[test]
fn a_segment_stays_until_it_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings(dir.path());
    let (mut spool, counters) = open(&settings);
    spool.append(&events(0..3)).expect("append");
    let mut first = spool.read_oldest().expect("read").expect("a segment");
    let first_events = first.next_batch(usize::MAX, &counters);
    // Not acknowledged yet: reading again (or after a restart) gives the same segment.
    let mut again = spool.read_oldest().expect("read").expect("a segment");
    assert_eq!(first.seq, again.seq);
    assert_eq!(ids(&first_events), ids(&again.next_batch(usize::MAX, &counters)));
    // Appends after the read go to a new segment, not into the one being replayed.
    spool.append(&events(3..5)).expect("append");
    assert!(segment_path(&settings.dir, first.seq).exists());
    spool.remove(first.seq).expect("remove");
    assert!(!segment_path(&settings.dir, first.seq).exists(), "deleted once acknowledged");
    assert_eq!(ids(&drain(&mut spool, &counters)), expected(3..5));
}

#[test]
fn a_full_spool_drops_the_newest_events_and_counts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut one = Vec::new();
    let record_bytes = crate::forward::record::encode_into(&mut one, &event(0)) as u64;
    let settings = SpoolSettings { max_bytes: record_bytes * 5, ..settings(dir.path()) };
    let (mut spool, counters) = open(&settings);
    assert_eq!(spool.append(&events(0..3)).expect("append").written, 3);
    let appended = spool.append(&events(3..10)).expect("append");
    assert_eq!(appended, Appended { written: 2, dropped_full: 5 });
    assert_eq!(counters.dropped_spool_full.load(Ordering::Relaxed), 5);
    assert_eq!(ids(&drain(&mut spool, &counters)), expected(0..5), "the oldest are kept");
    assert_eq!(spool.append(&events(10..11)).expect("append").written, 1, "room again");
}
