//! The AutoSwitch HA decoders on hostile bytes: a master's handshake (header, then as many
//! epoch entries as it claims) and transfer headers, as a slave reads them, and a slave's
//! handshake as a master reads it. Nothing may panic; a refused header never yields a body
//! size over the limit.
#![no_main]

use apogee_protocol::ha::TRANSFER_BODY_MAX;
use apogee_protocol::ha_autoswitch::{
    MASTER_HANDSHAKE_BYTES, MasterHandshake, SLAVE_HANDSHAKE_REST, SlaveHandshake,
    TRANSFER_HEADER_BYTES, TransferHeader,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(head) = data.get(..MASTER_HANDSHAKE_BYTES) {
        let head: [u8; MASTER_HANDSHAKE_BYTES] = head.try_into().expect("sized");
        if let Ok((_, size, max, _)) = MasterHandshake::decode_header(&head) {
            assert!(max >= 0);
            let body = data.get(MASTER_HANDSHAKE_BYTES..).unwrap_or_default();
            let body = &body[..size.min(body.len())];
            let entries = MasterHandshake::decode_entries(body);
            assert!(entries.len() <= 1000);
        }
    }
    for chunk in data.chunks_exact(TRANSFER_HEADER_BYTES) {
        let frame: [u8; TRANSFER_HEADER_BYTES] = chunk.try_into().expect("sized");
        if let Ok((_, header)) = TransferHeader::decode(&frame) {
            assert!(header.size <= TRANSFER_BODY_MAX && header.offset >= 0);
            let (_, again) = TransferHeader::decode(&header.encode()).expect("round trip");
            assert_eq!(again, header);
        }
    }
    if let Some(rest) = data.get(..SLAVE_HANDSHAKE_REST) {
        let rest: [u8; SLAVE_HANDSHAKE_REST] = rest.try_into().expect("sized");
        let _ = SlaveHandshake::decode_rest(&rest);
    }
});
