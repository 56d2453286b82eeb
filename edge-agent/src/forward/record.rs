//! The spool's record format, and a reader that survives damage.
//!
//! A record is `MAGIC (4 bytes) | length (u32 LE) | crc32c (u32 LE) | payload`, where the
//! payload is one encoded `pb::Event` and the checksum covers the length bytes and the
//! payload (so a damaged length is caught too). One event per record: damage loses the
//! events it touches, not the batch around them.
//!
//! The reader walks records front to back. At a record that fails any check it scans
//! forward for the next offset where MAGIC starts a record whose checksum holds, reports
//! the skipped region, and goes on from there: a flipped byte or a torn write in the
//! middle of a segment costs the records it hits, never the ones after it. A torn tail
//! (the process died mid-append) is the same case with nothing after it.

use prost::Message as _;
use vary_proto::pb;

/// Marks the start of a record: four bytes that protobuf encodings of our events are
/// unlikely to contain (0xD6 is not a valid first byte of a short UTF-8 sequence, and the
/// checksum must also hold before a resynchronising reader trusts a match).
pub const MAGIC: [u8; 4] = [0xD6, 0x5E, 0x7A, 0x91];
/// Bytes before the payload.
pub const HEADER_BYTES: usize = 12;
/// Largest payload accepted. Events are a few hundred bytes (properties at most 8 KiB);
/// a larger length is damage, not data.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// What was wrong with the bytes at a skipped region's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The bytes there are not MAGIC.
    BadMagic,
    /// The length is over [`MAX_PAYLOAD_BYTES`].
    BadLength,
    /// The checksum does not match.
    BadChecksum,
    /// The checksum holds but the payload is not an event (a writer bug, not the disk).
    Undecodable,
    /// The file ends inside the record (a torn append).
    Truncated,
}

/// One skipped region of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Where the damaged record started.
    pub offset: usize,
    /// How many bytes were skipped to reach the next good record (or the end).
    pub bytes: usize,
    /// What was wrong at `offset`.
    pub damage: Damage,
}

/// Everything a segment's bytes held.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The good records' events, in file order.
    pub events: Vec<pb::Event>,
    /// The damaged regions, in file order.
    pub skipped: Vec<Skipped>,
}

/// Appends `event` as one record to `buffer`; returns the record's size.
pub fn encode_into(buffer: &mut Vec<u8>, event: &pb::Event) -> usize {
    let payload_len = event.encoded_len();
    let length = u32::try_from(payload_len).expect("an event is far smaller than 4 GiB");
    let start = buffer.len();
    buffer.extend_from_slice(&MAGIC);
    buffer.extend_from_slice(&length.to_le_bytes());
    buffer.extend_from_slice(&[0; 4]);
    event.encode(buffer).expect("a Vec grows as needed");
    let checksum = checksum(&buffer[start + 4..start + 8], &buffer[start + HEADER_BYTES..]);
    buffer[start + 8..start + HEADER_BYTES].copy_from_slice(&checksum.to_le_bytes());
    buffer.len() - start
}

/// One step of reading a segment: a good event, or a damaged region skipped.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A good record's event.
    Event(pb::Event),
    /// A damaged region, skipped up to the next good record (or the end).
    Skipped(Skipped),
}

/// The item at `offset` of `bytes` and the offset after it; `None` at the end. Reading
/// one item at a time lets the replayer keep a segment's raw bytes and decode a batch at a
/// time, instead of holding every decoded event of the segment in memory.
pub fn next_item(bytes: &[u8], offset: usize) -> Option<(Item, usize)> {
    if offset >= bytes.len() {
        return None;
    }
    match read_record(&bytes[offset..]) {
        Ok((event, size)) => Some((Item::Event(event), offset + size)),
        Err(damage) => {
            let next = next_good_record(bytes, offset + 1);
            Some((Item::Skipped(Skipped { offset, bytes: next - offset, damage }), next))
        }
    }
}

/// Reads every good record of `bytes`, skipping and reporting damaged regions.
pub fn decode_all(bytes: &[u8]) -> Decoded {
    let mut decoded = Decoded::default();
    let mut offset = 0;
    while let Some((item, next)) = next_item(bytes, offset) {
        match item {
            Item::Event(event) => decoded.events.push(event),
            Item::Skipped(skipped) => decoded.skipped.push(skipped),
        }
        offset = next;
    }
    decoded
}

/// The record at the start of `bytes` and its size.
fn read_record(bytes: &[u8]) -> Result<(pb::Event, usize), Damage> {
    if bytes.len() < HEADER_BYTES {
        return Err(if bytes.starts_with(&MAGIC[..bytes.len().min(4)]) {
            Damage::Truncated
        } else {
            Damage::BadMagic
        });
    }
    if bytes[..4] != MAGIC {
        return Err(Damage::BadMagic);
    }
    let length_bytes = &bytes[4..8];
    let length = u32::from_le_bytes(length_bytes.try_into().expect("4 bytes")) as usize;
    if length > MAX_PAYLOAD_BYTES {
        return Err(Damage::BadLength);
    }
    let Some(payload) = bytes.get(HEADER_BYTES..HEADER_BYTES + length) else {
        return Err(Damage::Truncated);
    };
    let stored = u32::from_le_bytes(bytes[8..HEADER_BYTES].try_into().expect("4 bytes"));
    if stored != checksum(length_bytes, payload) {
        return Err(Damage::BadChecksum);
    }
    let event = pb::Event::decode(payload).map_err(|_| Damage::Undecodable)?;
    Ok((event, HEADER_BYTES + length))
}

/// The first offset at or after `from` where a good record starts, or the end.
fn next_good_record(bytes: &[u8], from: usize) -> usize {
    let mut candidate = from;
    while let Some(found) = find_magic(&bytes[candidate.min(bytes.len())..]) {
        let at = candidate + found;
        if read_record(&bytes[at..]).is_ok() {
            return at;
        }
        candidate = at + 1;
    }
    bytes.len()
}

fn find_magic(bytes: &[u8]) -> Option<usize> {
    bytes.windows(MAGIC.len()).position(|window| window == MAGIC)
}

fn checksum(length_bytes: &[u8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(length_bytes), payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> pb::Event {
        crate::forward::event::outcome_event(
            pb::OutcomeEvent {
                event_id: format!("id-{n}"),
                event_type: "click".into(),
                user_id: format!("user-{n}"),
                ..Default::default()
            },
            time::OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn encoded(count: usize) -> (Vec<u8>, Vec<usize>) {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for n in 0..count {
            starts.push(bytes.len());
            encode_into(&mut bytes, &event(n));
        }
        (bytes, starts)
    }

    fn ids(decoded: &Decoded) -> Vec<String> {
        decoded
            .events
            .iter()
            .map(|event| crate::forward::event::event_id(event).to_owned())
            .collect()
    }

    fn expected(range: impl Iterator<Item = usize>) -> Vec<String> {
        range.map(|n| format!("id-{n}")).collect()
    }

    #[test]
    fn records_round_trip() {
        let (bytes, _) = encoded(50);
        let decoded = decode_all(&bytes);
        assert_eq!(ids(&decoded), expected(0..50));
        assert!(decoded.skipped.is_empty());
        assert_eq!(decoded.events[3], event(3));
    }

    #[test]
    fn a_flipped_payload_byte_costs_one_record_and_the_rest_is_recovered() {
        let (mut bytes, starts) = encoded(10);
        bytes[starts[4] + HEADER_BYTES + 2] ^= 0xFF;
        let decoded = decode_all(&bytes);
        assert_eq!(ids(&decoded), expected((0..10).filter(|n| *n != 4)));
        assert_eq!(
            decoded.skipped,
            [Skipped {
                offset: starts[4],
                bytes: starts[5] - starts[4],
                damage: Damage::BadChecksum
            }]
        );
    }

    #[test]
    fn a_damaged_length_or_magic_is_resynchronised() {
        let (mut bytes, starts) = encoded(10);
        bytes[starts[2] + 7] = 0xFF; // length now > MAX_PAYLOAD_BYTES
        bytes[starts[6]] = 0; // magic broken
        let decoded = decode_all(&bytes);
        assert_eq!(ids(&decoded), expected((0..10).filter(|n| *n != 2 && *n != 6)));
        let damage: Vec<_> = decoded.skipped.iter().map(|skipped| skipped.damage).collect();
        assert_eq!(damage, [Damage::BadLength, Damage::BadMagic]);
    }

    #[test]
    fn a_torn_tail_is_reported_and_the_records_before_it_kept() {
        let (bytes, starts) = encoded(5);
        for cut in [starts[4] + 2, starts[4] + HEADER_BYTES + 1, bytes.len() - 1] {
            let decoded = decode_all(&bytes[..cut]);
            assert_eq!(ids(&decoded), expected(0..4), "cut at {cut}");
            assert_eq!(decoded.skipped.len(), 1);
            assert_eq!(decoded.skipped[0].damage, Damage::Truncated);
            assert_eq!(decoded.skipped[0].offset, starts[4]);
        }
    }

    #[test]
    fn any_single_flipped_byte_costs_one_record_and_never_invents_one() {
        let (bytes, _) = encoded(6);
        let originals = expected(0..6);
        for position in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xFF] {
                let mut damaged = bytes.clone();
                damaged[position] ^= flip;
                let decoded = decode_all(&damaged);
                let read = ids(&decoded);
                assert!(read.iter().all(|id| originals.contains(id)), "{position}: {read:?}");
                assert_eq!(read.len(), 5, "byte {position} ^ {flip:#x} lost too much: {read:?}");
                assert!(!decoded.skipped.is_empty(), "byte {position} ^ {flip:#x} unnoticed");
            }
        }
    }

    #[test]
    fn garbage_between_records_is_skipped() {
        let (bytes, starts) = encoded(4);
        let mut damaged = bytes[..starts[2]].to_vec();
        damaged.extend_from_slice(&[0xAB; 37]);
        damaged.extend_from_slice(&MAGIC); // a false start without a valid record
        damaged.extend_from_slice(&bytes[starts[2]..]);
        let decoded = decode_all(&damaged);
        assert_eq!(ids(&decoded), expected(0..4));
        assert_eq!(decoded.skipped.len(), 1);
        assert_eq!(decoded.skipped[0].bytes, 41);
    }
}
