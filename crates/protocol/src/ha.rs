//! RocketMQ's classic HA wire protocol (docs/ha-facts.md §1): raw TCP on `haListenPort`, no
//! remoting framing. The slave sends only its CommitLog end (8 bytes, big-endian); the
//! master sends frames of a 12-byte header (offset i64, size i32, big-endian) and that many
//! CommitLog bytes. A frame with size 0 is a heartbeat.

use bytes::{Buf, BufMut};

/// Bytes of the slave's offset report.
pub const REPORT_BYTES: usize = 8;
/// Bytes of a transfer frame's header.
pub const TRANSFER_HEADER_BYTES: usize = 12;
/// The most a master may put in one frame: Java's slave reads into a 4 MiB buffer.
pub const TRANSFER_BODY_MAX: usize = 4 * 1024 * 1024;

/// A transfer frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    /// CommitLog offset of the first body byte.
    pub offset: i64,
    /// Body bytes that follow (0: a heartbeat).
    pub size: usize,
}

/// Why an HA frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HaFrameError {
    #[error("HA frame body of {0} bytes is negative or over the 4 MiB limit")]
    BodySize(i64),
    #[error("HA offset {0} is negative")]
    Offset(i64),
}

impl TransferHeader {
    pub fn encode(&self) -> [u8; TRANSFER_HEADER_BYTES] {
        let mut out = [0u8; TRANSFER_HEADER_BYTES];
        let mut buf = &mut out[..];
        buf.put_i64(self.offset);
        buf.put_i32(i32::try_from(self.size).expect("frames are cut to the 4 MiB limit"));
        out
    }

    /// Decodes a header, refusing negative offsets and bodies over [`TRANSFER_BODY_MAX`].
    pub fn decode(bytes: &[u8; TRANSFER_HEADER_BYTES]) -> Result<Self, HaFrameError> {
        let mut bytes = &bytes[..];
        let offset = bytes.get_i64();
        let size = bytes.get_i32();
        if offset < 0 {
            return Err(HaFrameError::Offset(offset));
        }
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= TRANSFER_BODY_MAX)
            .ok_or(HaFrameError::BodySize(i64::from(size)))?;
        Ok(Self { offset, size })
    }
}

/// The slave's report: its CommitLog end.
pub fn encode_report(offset: i64) -> [u8; REPORT_BYTES] {
    offset.to_be_bytes()
}

/// The newest report in `buf` (Java's master takes the last complete 8-byte value and
/// ignores earlier ones); consumes every complete report. `None` when there is none.
pub fn take_last_report(buf: &mut bytes::BytesMut) -> Option<i64> {
    let whole = buf.len() - buf.len() % REPORT_BYTES;
    if whole == 0 {
        return None;
    }
    let mut last = [0u8; REPORT_BYTES];
    last.copy_from_slice(&buf[whole - REPORT_BYTES..whole]);
    buf.advance(whole);
    Some(i64::from_be_bytes(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn given_java_bytes_should_decode_header() {
        let bytes = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0];
        let header = TransferHeader::decode(&bytes).expect("valid");
        assert_eq!(
            header,
            TransferHeader {
                offset: 65536,
                size: 32768
            }
        );
        assert_eq!(header.encode(), bytes);
    }

    #[test]
    fn given_hostile_sizes_should_refuse() {
        let mut neg = [0u8; 12];
        neg[8..].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            TransferHeader::decode(&neg),
            Err(HaFrameError::BodySize(-1))
        );
        let mut big = [0u8; 12];
        big[8..].copy_from_slice(&(4 * 1024 * 1024 + 1i32).to_be_bytes());
        assert!(TransferHeader::decode(&big).is_err());
        let mut off = [0xFFu8; 12];
        off[8..].copy_from_slice(&0i32.to_be_bytes());
        assert_eq!(TransferHeader::decode(&off), Err(HaFrameError::Offset(-1)));
    }

    #[test]
    fn given_several_reports_should_take_the_last_and_keep_a_partial_one() {
        let mut buf = bytes::BytesMut::new();
        buf.extend_from_slice(&encode_report(5));
        buf.extend_from_slice(&encode_report(9));
        buf.extend_from_slice(&[0, 0, 0]);
        assert_eq!(take_last_report(&mut buf), Some(9));
        assert_eq!(buf.len(), 3);
        assert_eq!(take_last_report(&mut buf), None);
    }

    proptest! {
        #[test]
        fn header_round_trips(offset in 0i64.., size in 0usize..=TRANSFER_BODY_MAX) {
            let h = TransferHeader { offset, size };
            prop_assert_eq!(TransferHeader::decode(&h.encode()), Ok(h));
        }

        #[test]
        fn any_header_bytes_decode_without_panic(bytes in proptest::array::uniform12(any::<u8>())) {
            let _ = TransferHeader::decode(&bytes);
        }
    }
}
