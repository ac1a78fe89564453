//! The bench body: a 20-byte stamp (magic, send time, run id) followed by filler, so a
//! consumer in this or another process can tell bench messages apart and measure how long
//! each took from send to receipt. Bodies shorter than the stamp carry filler only.
//!
//! ```text
//! 0      4                 12                20          size
//! | APGB | sent µs (u64 BE) | run id (u64 BE) | filler ... |
//! ```
//!
//! Send times are wall-clock microseconds since the Unix epoch: the only clock two processes
//! share. The bench measures real time by design, so it reads the system clocks directly
//! rather than through `apogee_runtime::Clock` (whose millisecond resolution is too coarse).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

/// Bytes a stamp takes at the start of a body.
pub const STAMP_BYTES: usize = 20;
const MAGIC: &[u8; 4] = b"APGB";
const FILLER: u8 = b'x';

/// Wall-clock microseconds since the Unix epoch.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A run id that differs between runs (time and process id mixed), so an `e2e` run counts
/// only its own messages when older bench messages are still in the topic.
pub fn new_run_id() -> u64 {
    let mixed = now_micros() ^ (u64::from(std::process::id()) << 40);
    // SplitMix64 finaliser: spreads the bits so ids of close runs differ everywhere.
    let mut z = mixed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A body of `size` bytes stamped with `sent_micros` and `run_id` (filler only when `size` is
/// below [`STAMP_BYTES`]).
pub fn body(size: usize, sent_micros: u64, run_id: u64) -> Bytes {
    let mut buf = BytesMut::with_capacity(size);
    if size >= STAMP_BYTES {
        buf.put_slice(MAGIC);
        buf.put_u64(sent_micros);
        buf.put_u64(run_id);
    }
    buf.resize(size, FILLER);
    buf.freeze()
}

/// What a bench body says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub sent_micros: u64,
    pub run_id: u64,
}

/// Reads the stamp of a bench body; `None` for any other body.
pub fn read(body: &[u8]) -> Option<Stamp> {
    let head = body.get(..STAMP_BYTES)?;
    if &head[..4] != MAGIC {
        return None;
    }
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&head[at..at + 8]);
        u64::from_be_bytes(bytes)
    };
    Some(Stamp {
        sent_micros: word(4),
        run_id: word(12),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_stamped_body_should_read_back_time_and_run() {
        let b = body(128, 1_700_000_000_123_456, 42);
        assert_eq!(b.len(), 128);
        assert_eq!(
            read(&b),
            Some(Stamp {
                sent_micros: 1_700_000_000_123_456,
                run_id: 42
            })
        );
        assert!(b[STAMP_BYTES..].iter().all(|&c| c == FILLER));
    }

    #[test]
    fn given_short_or_foreign_body_should_have_no_stamp() {
        let short = body(STAMP_BYTES - 1, 1, 2);
        assert_eq!(short.len(), STAMP_BYTES - 1);
        assert_eq!(read(&short), None);
        assert_eq!(read(&[0u8; 64]), None);
        assert_eq!(read(b"hello apogee, not a bench message"), None);
    }

    #[test]
    fn given_two_run_ids_should_differ() {
        let a = new_run_id();
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert_ne!(a, new_run_id());
    }
}
