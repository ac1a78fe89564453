//! Stored record codec: `record::decode_record` walked over a buffer the way a CommitLog scan
//! does (record after record until an error or a blank marker), with an encode → decode round
//! trip of every record that decoded.
//!
//! Input: byte 0 picks `check_crc` (bit 0) and whether the start lies past the end (bit 1);
//! byte 1 picks the start position; the rest is the buffer.
#![no_main]

use apogee_protocol::record::{BLANK_BYTES, RecordAt, StoredRecord, decode_record, sys_flag};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// Offset of BORNHOST inside a record: TOTALSIZE, MAGIC, BODYCRC, QUEUEID, FLAG (5 × i32),
/// QUEUEOFFSET, PHYSICALOFFSET (2 × i64), SYSFLAG (i32), BORNTIMESTAMP (i64).
const BORN_HOST_AT: usize = 5 * 4 + 2 * 8 + 4 + 8;

/// What `encode` must give back for the `original` bytes of `record`: the same bytes, except
/// that a port outside 0..=65535 is read as 0 (`SocketAddr` holds a `u16`) and written as 0.
fn expected_encoding(original: &[u8], record: &StoredRecord) -> Vec<u8> {
    let mut expected = original.to_vec();
    let host_len = |v6: bool| if v6 { 16 } else { 4 };
    let born_port_at = BORN_HOST_AT + host_len(record.sys_flag & sys_flag::BORNHOST_V6 != 0);
    let store_host_at = born_port_at + 4 + 8;
    let store_port_at = store_host_at + host_len(record.sys_flag & sys_flag::STOREHOST_V6 != 0);
    for at in [born_port_at, store_port_at] {
        let field: [u8; 4] = expected[at..at + 4].try_into().expect("4 bytes");
        if u16::try_from(i32::from_be_bytes(field)).is_err() {
            expected[at..at + 4].fill(0);
        }
    }
    expected
}

fn round_trip(buf: &Bytes, pos: usize, size: usize, record: &StoredRecord, check_crc: bool) {
    assert!(size > 0, "a record must consume bytes");
    assert!(pos + size <= buf.len(), "record runs past the buffer");
    assert_eq!(record.encoded_len(), size, "encoded_len != consumed size");
    assert!(
        std::str::from_utf8(&record.topic).is_ok(),
        "topic validated as UTF-8"
    );
    // The host-version bits decide the address widths when decoding, so they already match.
    assert_eq!(record.normalized_sys_flag(), record.sys_flag);

    let mut encoded = Vec::with_capacity(size);
    record.encode(&mut encoded);
    assert_eq!(encoded.len(), size, "encode wrote != encoded_len bytes");
    assert_eq!(
        encoded,
        expected_encoding(&buf[pos..pos + size], record),
        "re-encoding changed bytes other than out-of-range ports"
    );

    let encoded = Bytes::from(encoded);
    let (again, again_size) =
        decode_record(&encoded, 0, check_crc).expect("our own encoding must decode");
    assert_eq!(again_size, size, "re-decoded size differs");
    assert_eq!(
        again,
        RecordAt::Message(record.clone()),
        "round trip changed the record"
    );
}

fuzz_target!(|data: &[u8]| {
    let [selector, start, rest @ ..] = data else {
        return;
    };
    let check_crc = selector & 1 == 1;
    let buf = Bytes::copy_from_slice(rest);
    let start = usize::from(*start);
    let at = if selector & 2 == 2 {
        // Past the end (or exactly at it): must be a clean error.
        buf.len() + start % 16
    } else {
        start % (buf.len() + 1)
    };

    // A CommitLog scan: record after record until an invalid one or the end-of-file marker.
    let mut pos = at;
    loop {
        let result = decode_record(&buf, pos, check_crc);
        if check_crc && let Ok(checked) = &result {
            // CRC checking only ever rejects more.
            assert_eq!(
                decode_record(&buf, pos, false).as_ref(),
                Ok(checked),
                "decoding without the CRC check differs"
            );
        }
        match result {
            Ok((RecordAt::Message(record), size)) => {
                round_trip(&buf, pos, size, &record, check_crc);
                pos += size;
            }
            Ok((RecordAt::Blank { .. }, size)) => {
                assert_eq!(size, BLANK_BYTES, "a blank marker is 8 bytes");
                assert!(pos + size <= buf.len(), "blank marker runs past the buffer");
                break;
            }
            Err(_) => break,
        }
    }
});
