//! What POP and the v5 endpoint read from clients: receipt handles (`POP_CK` / `extraInfo`),
//! a POP answer's offset strings, and the v5 `authorization` header. Parsing any text must not
//! panic; a handle that parses prints back as text that parses to the same handle.
#![no_main]

use apogee_auth::signature_v5::V5Credentials;
use apogee_protocol::pop_info::{ExtraInfo, parse_numbers, parse_offset_lists};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(handle) = ExtraInfo::parse(&text) {
        let printed = handle.to_string();
        let again = ExtraInfo::parse(&printed)
            .unwrap_or_else(|_| panic!("{printed:?} (printed from {text:?}) does not parse"));
        assert_eq!(again, handle, "printing changed the handle");
        let _ = handle.deadline();
        let _ = handle.offset();
    }
    let _ = parse_numbers(&text);
    let _ = parse_offset_lists(&text);
    let (header, date) = text.split_once('\n').unwrap_or((&text, "20261204T000000Z"));
    if let Some(credentials) = V5Credentials::parse(header, Some(date)) {
        let _ = credentials.verify("secret");
    }
});
