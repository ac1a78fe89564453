//! SEND_BATCH_MESSAGE body: `batch::decode_batch` on arbitrary bytes never panics, never
//! returns more than the entry limit, and every batch it accepts re-encodes to bytes that
//! decode to the same entries.
#![no_main]

use apogee_protocol::batch::{decode_batch, encode_batch};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const MAX_ENTRIES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    let Ok(entries) = decode_batch(&body, MAX_ENTRIES) else {
        return;
    };
    assert!(entries.len() <= MAX_ENTRIES, "entry limit ignored");
    let mut encoded = Vec::new();
    encode_batch(&entries, &mut encoded);
    let again = decode_batch(&Bytes::from(encoded), MAX_ENTRIES)
        .expect("our own encoding of a batch must decode");
    assert_eq!(again, entries, "batch round trip changed the entries");
});
