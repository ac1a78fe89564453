//! RocketMQ 5's AutoSwitch HA wire protocol, used between brokers in controller mode
//! (docs/controller-facts.md §7). Raw TCP on `haListenPort`, big-endian, every message led by
//! its state (`HANDSHAKE` 1, `TRANSFER` 2). Unlike classic HA, the slave names itself (its
//! controller broker id), the master sends its epoch history first, and every frame carries
//! its epoch, that epoch's start offset and the master's confirm offset.

use bytes::{Buf, BufMut};

use crate::ha::{HaFrameError, TRANSFER_BODY_MAX};

/// `HAConnectionState.HANDSHAKE`.
pub const STATE_HANDSHAKE: i32 = 1;
/// `HAConnectionState.TRANSFER`.
pub const STATE_TRANSFER: i32 = 2;
/// Bytes after the state of a slave's handshake: two flags (i16) and the broker id (i64).
pub const SLAVE_HANDSHAKE_REST: usize = 12;
/// Bytes after the state of a slave's offset report.
pub const SLAVE_REPORT_REST: usize = 8;
/// Bytes of the master's handshake header.
pub const MASTER_HANDSHAKE_BYTES: usize = 20;
/// Bytes of one epoch entry in the master's handshake.
pub const EPOCH_ENTRY_BYTES: usize = 12;
/// Epoch entries a master's handshake may carry (Java's buffer holds 1000).
pub const EPOCH_ENTRIES_MAX: usize = 1000;
/// Bytes of a transfer frame's header.
pub const TRANSFER_HEADER_BYTES: usize = 36;

/// What a slave sends first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaveHandshake {
    pub sync_from_last_file: bool,
    pub async_learner: bool,
    pub broker_id: i64,
}

impl SlaveHandshake {
    pub fn encode(&self) -> [u8; 4 + SLAVE_HANDSHAKE_REST] {
        let mut out = [0u8; 4 + SLAVE_HANDSHAKE_REST];
        let mut buf = &mut out[..];
        buf.put_i32(STATE_HANDSHAKE);
        buf.put_i16(i16::from(self.sync_from_last_file));
        buf.put_i16(i16::from(self.async_learner));
        buf.put_i64(self.broker_id);
        out
    }

    /// Decodes the bytes after the state.
    pub fn decode_rest(rest: &[u8; SLAVE_HANDSHAKE_REST]) -> Self {
        let mut buf = &rest[..];
        Self {
            sync_from_last_file: buf.get_i16() == 1,
            async_learner: buf.get_i16() == 1,
            broker_id: buf.get_i64(),
        }
    }
}

/// A slave's offset report: state TRANSFER and its CommitLog end.
pub fn encode_slave_report(offset: i64) -> [u8; 4 + SLAVE_REPORT_REST] {
    let mut out = [0u8; 4 + SLAVE_REPORT_REST];
    let mut buf = &mut out[..];
    buf.put_i32(STATE_TRANSFER);
    buf.put_i64(offset);
    out
}

/// The master's handshake: its log end, newest epoch and epoch history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterHandshake {
    pub max_offset: i64,
    pub last_epoch: i32,
    /// (epoch, start offset), ascending.
    pub entries: Vec<(i32, i64)>,
}

impl MasterHandshake {
    pub fn encode(&self) -> Vec<u8> {
        let entries = &self.entries[self.entries.len().saturating_sub(EPOCH_ENTRIES_MAX)..];
        let mut out =
            Vec::with_capacity(MASTER_HANDSHAKE_BYTES + entries.len() * EPOCH_ENTRY_BYTES);
        out.put_i32(STATE_HANDSHAKE);
        out.put_i32(i32::try_from(entries.len() * EPOCH_ENTRY_BYTES).unwrap_or(i32::MAX));
        out.put_i64(self.max_offset);
        out.put_i32(self.last_epoch);
        for (epoch, start) in entries {
            out.put_i32(*epoch);
            out.put_i64(*start);
        }
        out
    }

    /// Decodes the header: (state, body bytes to read next, max offset, last epoch).
    pub fn decode_header(
        bytes: &[u8; MASTER_HANDSHAKE_BYTES],
    ) -> Result<(i32, usize, i64, i32), HaFrameError> {
        let mut buf = &bytes[..];
        let state = buf.get_i32();
        let size = buf.get_i32();
        let max_offset = buf.get_i64();
        let last_epoch = buf.get_i32();
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= EPOCH_ENTRIES_MAX * EPOCH_ENTRY_BYTES && s % EPOCH_ENTRY_BYTES == 0)
            .ok_or(HaFrameError::BodySize(i64::from(size)))?;
        if max_offset < 0 {
            return Err(HaFrameError::Offset(max_offset));
        }
        Ok((state, size, max_offset, last_epoch))
    }

    /// Decodes the entries of the body.
    pub fn decode_entries(body: &[u8]) -> Vec<(i32, i64)> {
        body.chunks_exact(EPOCH_ENTRY_BYTES)
            .map(|mut c| (c.get_i32(), c.get_i64()))
            .collect()
    }
}

/// A transfer frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    pub size: usize,
    /// Where the body starts (for a heartbeat: the next offset to send).
    pub offset: i64,
    pub epoch: i32,
    pub epoch_start: i64,
    /// The master's confirm offset (what every SyncStateSet member has).
    pub confirm_offset: i64,
}

impl TransferHeader {
    pub fn encode(&self) -> [u8; TRANSFER_HEADER_BYTES] {
        let mut out = [0u8; TRANSFER_HEADER_BYTES];
        let mut buf = &mut out[..];
        buf.put_i32(STATE_TRANSFER);
        buf.put_i32(i32::try_from(self.size).expect("frames are cut to the 4 MiB limit"));
        buf.put_i64(self.offset);
        buf.put_i32(self.epoch);
        buf.put_i64(self.epoch_start);
        buf.put_i64(self.confirm_offset);
        out
    }

    /// Decodes a header: (state, header). Bodies over 4 MiB and negative offsets are refused.
    pub fn decode(bytes: &[u8; TRANSFER_HEADER_BYTES]) -> Result<(i32, Self), HaFrameError> {
        let mut buf = &bytes[..];
        let state = buf.get_i32();
        let size = buf.get_i32();
        let header = Self {
            size: usize::try_from(size)
                .ok()
                .filter(|s| *s <= TRANSFER_BODY_MAX)
                .ok_or(HaFrameError::BodySize(i64::from(size)))?,
            offset: buf.get_i64(),
            epoch: buf.get_i32(),
            epoch_start: buf.get_i64(),
            confirm_offset: buf.get_i64(),
        };
        if header.offset < 0 || header.epoch_start < 0 {
            return Err(HaFrameError::Offset(header.offset.min(header.epoch_start)));
        }
        Ok((state, header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn given_a_slave_handshake_should_lay_it_out_as_java_reads_it() {
        let h = SlaveHandshake {
            sync_from_last_file: false,
            async_learner: true,
            broker_id: 3,
        };
        let bytes = h.encode();
        assert_eq!(&bytes[..8], &[0, 0, 0, 1, 0, 0, 0, 1]);
        let rest: [u8; SLAVE_HANDSHAKE_REST] = bytes[4..].try_into().expect("12");
        assert_eq!(SlaveHandshake::decode_rest(&rest), h);
        assert_eq!(encode_slave_report(7)[..4], [0, 0, 0, 2]);
    }

    #[test]
    fn given_a_master_handshake_should_round_trip_its_epochs() {
        let h = MasterHandshake {
            max_offset: 900,
            last_epoch: 2,
            entries: vec![(1, 0), (2, 600)],
        };
        let bytes = h.encode();
        let head: [u8; MASTER_HANDSHAKE_BYTES] = bytes[..20].try_into().expect("20");
        let (state, size, max, last) = MasterHandshake::decode_header(&head).expect("valid");
        assert_eq!((state, size, max, last), (STATE_HANDSHAKE, 24, 900, 2));
        assert_eq!(MasterHandshake::decode_entries(&bytes[20..]), h.entries);
    }

    #[test]
    fn given_hostile_sizes_should_refuse_them() {
        let mut head = [0u8; MASTER_HANDSHAKE_BYTES];
        head[4..8].copy_from_slice(&13i32.to_be_bytes());
        assert!(MasterHandshake::decode_header(&head).is_err());
        let mut frame = [0u8; TRANSFER_HEADER_BYTES];
        frame[4..8].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(TransferHeader::decode(&frame).is_err());
    }

    proptest! {
        #[test]
        fn transfer_header_round_trips(size in 0usize..=TRANSFER_BODY_MAX, offset in 0i64.., epoch in any::<i32>(), start in 0i64.., confirm in any::<i64>()) {
            let h = TransferHeader { size, offset, epoch, epoch_start: start, confirm_offset: confirm };
            prop_assert_eq!(TransferHeader::decode(&h.encode()), Ok((STATE_TRANSFER, h)));
        }

        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 36)) {
            let frame: [u8; TRANSFER_HEADER_BYTES] = bytes[..].try_into().expect("36");
            let _ = TransferHeader::decode(&frame);
            let head: [u8; MASTER_HANDSHAKE_BYTES] = bytes[..20].try_into().expect("20");
            let _ = MasterHandshake::decode_header(&head);
            let _ = MasterHandshake::decode_entries(&bytes);
        }
    }
}
