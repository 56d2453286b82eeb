//! The disk spool: append-only segment files in `<state dir>/spool/`, named by a
//! sequence number (`00000000000000000042.seg`), read back oldest first.
//!
//! Writers append whole batches and fsync each one before saying it is stored. The newest
//! segment is the active one; it is sealed when it passes the rotation size, or when the
//! replayer wants to read it (so a segment being replayed never grows). A sealed segment
//! is deleted only after every event in it was acknowledged upstream, so a crash at any
//! point replays, at worst, events the control plane already has, which ingest counts as
//! duplicates and otherwise ignores.
//!
//! The total size is bounded. When an append would pass the bound, the events that do
//! not fit are dropped: the newest ones, because the older ones are already on disk and
//! a bounded append-only log cannot drop its head without rewriting files the replayer
//! may be reading.

use std::{
    collections::VecDeque,
    fs::{self, File, OpenOptions},
    io::{self, Write as _},
    path::{Path, PathBuf},
    sync::Arc,
};

use vary_proto::pb;

use super::{
    counters::Counters,
    record::{self, Item},
};

/// File name suffix of a segment.
const SEGMENT_SUFFIX: &str = ".seg";

/// The spool's place and bounds.
#[derive(Debug, Clone)]
pub struct SpoolSettings {
    /// The directory (created when missing).
    pub dir: PathBuf,
    /// A segment is sealed once it holds this many bytes.
    pub segment_bytes: u64,
    /// Most bytes all segments together may hold.
    pub max_bytes: u64,
}

/// How an append went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Events written and fsynced.
    pub written: usize,
    /// Newest events not written because the spool was full.
    pub dropped_full: usize,
}

/// A sealed segment's bytes, read into memory for replay and decoded a batch at a time
/// (raw records are smaller than decoded events).
#[derive(Debug)]
pub struct SegmentRead {
    /// Its sequence number, for [`Spool::remove`].
    pub seq: u64,
    path: PathBuf,
    bytes: Vec<u8>,
    /// Where the next record starts.
    offset: usize,
}

/// The spool directory's state. Not thread-safe by itself: [`super::SharedSpool`] wraps
/// it in a mutex and runs it on the blocking pool.
#[derive(Debug)]
pub struct Spool {
    settings: SpoolSettings,
    /// Sealed segments, oldest first, with their sizes.
    sealed: VecDeque<(u64, u64)>,
    active: Option<Active>,
    next_seq: u64,
    total_bytes: u64,
    counters: Arc<Counters>,
}

#[derive(Debug)]
struct Active {
    seq: u64,
    file: File,
    bytes: u64,
}

// === impl Spool ===

impl Spool {
    /// Opens (or creates) the spool directory and takes every segment found there as
    /// sealed, to be replayed oldest first. Empty segments are deleted.
    pub fn open(settings: SpoolSettings, counters: Arc<Counters>) -> io::Result<Self> {
        fs::create_dir_all(&settings.dir)?;
        let mut found = Vec::new();
        for entry in fs::read_dir(&settings.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(seq) = name.to_str().and_then(parse_segment_name) else { continue };
            let bytes = entry.metadata()?.len();
            if bytes == 0 {
                fs::remove_file(entry.path())?;
                continue;
            }
            found.push((seq, bytes));
        }
        found.sort_unstable();
        let next_seq = found.last().map_or(0, |(seq, _)| seq + 1);
        let total_bytes = found.iter().map(|(_, bytes)| bytes).sum();
        counters.spool_bytes.store(total_bytes, std::sync::atomic::Ordering::Relaxed);
        if !found.is_empty() {
            tracing::info!(
                segments = found.len(),
                bytes = total_bytes,
                "spool holds events to replay"
            );
        }
        Ok(Self { settings, sealed: found.into(), active: None, next_seq, total_bytes, counters })
    }

    /// Appends `events` as one write and fsyncs it. Events past the size bound are
    /// dropped and counted; on an I/O error nothing of this call is counted as written.
    pub fn append(&mut self, events: &[pb::Event]) -> io::Result<Appended> {
        let mut buffer = Vec::new();
        let mut written = 0;
        for event in events {
            let before = buffer.len();
            let size = record::encode_into(&mut buffer, event);
            if self.total_bytes + (before + size) as u64 > self.settings.max_bytes {
                buffer.truncate(before);
                break;
            }
            written += 1;
        }
        let dropped_full = events.len() - written;
        if dropped_full > 0 {
            Counters::add(&self.counters.dropped_spool_full, dropped_full);
            tracing::warn!(
                dropped = dropped_full,
                max_bytes = self.settings.max_bytes,
                "spool full: newest events dropped"
            );
        }
        if written > 0 {
            self.write_synced(&buffer)?;
            Counters::add(&self.counters.spooled, written);
        }
        Ok(Appended { written, dropped_full })
    }

    /// Whether no event waits in the spool.
    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.active.as_ref().is_none_or(|active| active.bytes == 0)
    }

    /// Bytes in all segments.
    pub fn bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Reads the oldest segment (sealing the active one first when it is the only one);
    /// `None` when the spool is empty. The segment stays on disk until [`Spool::remove`].
    pub fn read_oldest(&mut self) -> io::Result<Option<SegmentRead>> {
        if self.sealed.is_empty() {
            self.seal_active();
        }
        let Some(&(seq, _)) = self.sealed.front() else { return Ok(None) };
        let path = self.segment_path(seq);
        let bytes = fs::read(&path)?;
        Ok(Some(SegmentRead { seq, path, bytes, offset: 0 }))
    }

    /// Deletes sealed segment `seq`: call only once every event read from it was
    /// acknowledged upstream.
    pub fn remove(&mut self, seq: u64) -> io::Result<()> {
        let Some(position) = self.sealed.iter().position(|(sealed, _)| *sealed == seq) else {
            return Ok(());
        };
        fs::remove_file(self.segment_path(seq))?;
        let (_, bytes) = self.sealed.remove(position).expect("the position was just found");
        self.set_total(self.total_bytes - bytes);
        Ok(())
    }

    fn write_synced(&mut self, buffer: &[u8]) -> io::Result<()> {
        let needs_new = self.active.as_ref().is_none_or(|a| a.bytes >= self.settings.segment_bytes);
        if needs_new {
            self.seal_active();
            self.active = Some(self.create_segment()?);
        }
        let active = self.active.as_mut().expect("an active segment was just ensured");
        let result = active.file.write_all(buffer).and_then(|()| active.file.sync_data());
        if let Err(error) = result {
            // Cut a partial write off so the segment stays clean; if even that fails the
            // reader skips the torn record.
            let _ = active.file.set_len(active.bytes);
            return Err(error);
        }
        active.bytes += buffer.len() as u64;
        self.set_total(self.total_bytes + buffer.len() as u64);
        Ok(())
    }

    fn seal_active(&mut self) {
        if let Some(active) = self.active.take() {
            if active.bytes > 0 {
                self.sealed.push_back((active.seq, active.bytes));
            } else {
                let _ = fs::remove_file(self.segment_path(active.seq));
            }
        }
    }

    fn create_segment(&mut self) -> io::Result<Active> {
        let seq = self.next_seq;
        let file = OpenOptions::new().create_new(true).append(true).open(self.segment_path(seq))?;
        // The new name must survive a crash too, or its fsynced records would be lost.
        File::open(&self.settings.dir)?.sync_all()?;
        self.next_seq += 1;
        Ok(Active { seq, file, bytes: 0 })
    }

    fn set_total(&mut self, bytes: u64) {
        self.total_bytes = bytes;
        self.counters.spool_bytes.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    fn segment_path(&self, seq: u64) -> PathBuf {
        segment_path(&self.settings.dir, seq)
    }
}

// === impl SegmentRead ===

impl SegmentRead {
    /// Up to `max` next good events, in append order; empty once the segment is done.
    /// Damaged regions met on the way are logged with their offset and counted.
    pub fn next_batch(&mut self, max: usize, counters: &Counters) -> Vec<pb::Event> {
        let mut batch = Vec::new();
        while batch.len() < max {
            let Some((item, next)) = record::next_item(&self.bytes, self.offset) else { break };
            self.offset = next;
            match item {
                Item::Event(event) => batch.push(event),
                Item::Skipped(skipped) => {
                    Counters::add(&counters.corrupt_records, 1);
                    tracing::error!(
                        segment = %self.path.display(),
                        offset = skipped.offset,
                        bytes = skipped.bytes,
                        damage = ?skipped.damage,
                        "spool record damaged: skipped to the next good record"
                    );
                }
            }
        }
        batch
    }

    /// Whether every record was read.
    pub fn is_done(&self) -> bool {
        self.offset >= self.bytes.len()
    }
}

/// The file of segment `seq` in `dir`.
pub fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}{SEGMENT_SUFFIX}"))
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
