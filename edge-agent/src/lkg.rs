//! The last-known-good file: the latest applied snapshot, kept on disk so an agent that
//! restarts while the control plane is down still has something to serve.
//!
//! Format (little-endian), `<state dir>/snapshot.lkg`:
//!
//! ```text
//! offset  size  field
//!      0     8  magic  b"VARYLKG\x01" (the last byte is the format version)
//!      8     8  written_at, Unix milliseconds (i64): when the control plane last confirmed it
//!     16     8  payload length in bytes (u64)
//!     24    32  SHA-256 of bytes 0..24 followed by the payload
//!     56     n  payload: the encoded vary.v1.ConfigSnapshot
//! ```
//!
//! Writes are atomic: a temporary file in the same directory is written and fsynced, then
//! renamed over the old file, and the directory is fsynced so the rename survives a
//! crash. A reader therefore sees the old file or the new one, never a mix; a file that
//! fails any check (torn by a disk, edited by hand) is refused, never served.
//! These functions block: call them from `spawn_blocking`.

use std::{
    fs::{self, File},
    io::{self, Write as _},
    path::{Path, PathBuf},
};

use prost::Message as _;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use vary_proto::pb;

use crate::error::Error;

/// The file's name inside the state directory.
pub const FILE_NAME: &str = "snapshot.lkg";
const TEMP_FILE_NAME: &str = ".snapshot.lkg.tmp";
const MAGIC: &[u8; 8] = b"VARYLKG\x01";
const HEADER_LEN: usize = 56;
const CHECKSUMMED_HEADER_LEN: usize = 24;

/// A snapshot read back from disk, with when it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct LastKnownGood {
    /// The snapshot as received (it passed validation before it was written).
    pub snapshot: pb::ConfigSnapshot,
    /// When it was written, i.e. last confirmed by the control plane.
    pub written_at: OffsetDateTime,
}

/// The file's path inside `state_dir`.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Atomically replaces the file in `state_dir` (created if missing) with `snapshot`.
pub fn write(
    state_dir: &Path,
    snapshot: &pb::ConfigSnapshot,
    written_at: OffsetDateTime,
) -> Result<(), Error> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::LkgIo { path, source }
    };
    fs::create_dir_all(state_dir).map_err(io_error(state_dir))?;
    let bytes = encode(&snapshot.encode_to_vec(), written_at);
    let temp_path = state_dir.join(TEMP_FILE_NAME);
    let mut temp = File::create(&temp_path).map_err(io_error(&temp_path))?;
    temp.write_all(&bytes).map_err(io_error(&temp_path))?;
    temp.sync_all().map_err(io_error(&temp_path))?;
    drop(temp);
    let final_path = path_in(state_dir);
    fs::rename(&temp_path, &final_path).map_err(io_error(&final_path))?;
    sync_dir(state_dir).map_err(io_error(state_dir))
}

/// Reads the file in `state_dir`: `Ok(None)` when there is none, an error when it exists
/// but cannot be read or fails a check.
pub fn read(state_dir: &Path) -> Result<Option<LastKnownGood>, Error> {
    let path = path_in(state_dir);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::LkgIo { path, source }),
    };
    let corrupt =
        |reason: &str| Error::LkgCorrupt { path: path.clone(), reason: reason.to_owned() };
    let (payload, written_at) = decode(&bytes).map_err(corrupt)?;
    let snapshot = pb::ConfigSnapshot::decode(payload)
        .map_err(|error| corrupt(&format!("payload does not decode: {error}")))?;
    Ok(Some(LastKnownGood { snapshot, written_at }))
}

/// Header + payload.
fn encode(payload: &[u8], written_at: OffsetDateTime) -> Vec<u8> {
    let written_at_ms = (written_at.unix_timestamp_nanos() / 1_000_000) as i64;
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&written_at_ms.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let checksum = checksum(&bytes, payload);
    bytes.extend_from_slice(&checksum);
    bytes.extend_from_slice(payload);
    bytes
}

/// The payload and write time, after every check; the error names the failed check.
fn decode(bytes: &[u8]) -> Result<(&[u8], OffsetDateTime), &'static str> {
    if bytes.len() < HEADER_LEN {
        return Err("shorter than its header (truncated)");
    }
    let (header, payload) = bytes.split_at(HEADER_LEN);
    if &header[..8] != MAGIC {
        return Err("unknown magic or format version");
    }
    let field = |range: std::ops::Range<usize>| -> [u8; 8] {
        header[range].try_into().expect("the range is 8 bytes long")
    };
    let written_at_ms = i64::from_le_bytes(field(8..16));
    let payload_len = u64::from_le_bytes(field(16..24));
    if payload_len != payload.len() as u64 {
        return Err("payload length differs from the header (truncated or extended)");
    }
    if checksum(&header[..CHECKSUMMED_HEADER_LEN], payload)[..] != header[CHECKSUMMED_HEADER_LEN..]
    {
        return Err("checksum mismatch");
    }
    let written_at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(written_at_ms) * 1_000_000)
            .map_err(|_| "write time out of range")?;
    Ok((payload, written_at))
}

fn checksum(header: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize().into()
}

/// Makes a rename inside `dir` durable (POSIX: the directory entry lives in the directory).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn snapshot(revision: i64) -> pb::ConfigSnapshot {
        pb::ConfigSnapshot {
            revision,
            commit_time: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
            experiments: vec![pb::Experiment {
                key: format!("exp-{revision}"),
                ..Default::default()
            }],
        }
    }

    fn at(seconds: u64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn a_written_snapshot_reads_back_identically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state_dir = dir.path().join("nested/state");
        write(&state_dir, &snapshot(7), at(1_000)).expect("write");
        let read_back = read(&state_dir).expect("read").expect("present");
        assert_eq!(read_back, LastKnownGood { snapshot: snapshot(7), written_at: at(1_000) });
    }

    #[test]
    fn a_missing_file_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()).expect("read"), None);
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &snapshot(3), at(5)).expect("write");
        let good = fs::read(path_in(dir.path())).expect("read bytes");
        for index in 0..good.len() {
            let mut bad = good.clone();
            bad[index] ^= 0x40;
            fs::write(path_in(dir.path()), &bad).expect("corrupt");
            let error = read(dir.path()).expect_err("a flipped byte must be refused");
            assert!(matches!(error, Error::LkgCorrupt { .. }), "byte {index}: {error}");
        }
    }

    #[test]
    fn a_truncated_file_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &snapshot(3), at(5)).expect("write");
        let good = fs::read(path_in(dir.path())).expect("read bytes");
        for len in [0, 10, HEADER_LEN - 1, HEADER_LEN, good.len() - 1] {
            fs::write(path_in(dir.path()), &good[..len]).expect("truncate");
            let error = read(dir.path()).expect_err("a truncated file must be refused");
            assert!(error.to_string().contains("corrupt"), "len {len}: {error}");
        }
    }

    #[test]
    fn a_write_replaces_the_previous_file_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &snapshot(1), at(1)).expect("first write");
        write(dir.path(), &snapshot(2), at(2)).expect("second write");
        let read_back = read(dir.path()).expect("read").expect("present");
        assert_eq!(read_back.snapshot.revision, 2);
        assert!(!dir.path().join(TEMP_FILE_NAME).exists(), "the temporary file was renamed");
    }

    #[test]
    fn a_torn_temporary_file_from_a_crash_does_not_affect_the_good_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &snapshot(1), at(1)).expect("write");
        // A crash between create and rename leaves a partial temporary file behind.
        fs::write(dir.path().join(TEMP_FILE_NAME), b"VARYLKG\x01partial").expect("torn temp");
        assert_eq!(read(dir.path()).expect("read").expect("present").snapshot.revision, 1);
        write(dir.path(), &snapshot(2), at(2)).expect("a later write overwrites the torn file");
        assert_eq!(read(dir.path()).expect("read").expect("present").snapshot.revision, 2);
    }
}
