//! Text decoders of stored and sent bytes: the message properties string (`parse_properties`,
//! `find_property`, and the store's `normalize_properties`), Java properties text (broker
//! config updates), offset message ids and topic-attribute changes. None may panic;
//! normalising is idempotent, ends a non-empty string with 0x02, drops every `__CRC32#`
//! entry and keeps every other property.
#![no_main]

use apogee_protocol::body::properties;
use apogee_protocol::header::admin::parse_attribute_changes;
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::record::{find_property, parse_properties};
use apogee_store::normalize_properties;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse_properties(&text);
    for (key, value) in &parsed {
        let found = find_property(&text, key);
        assert!(found.is_some(), "find_property misses {key:?}");
        assert_eq!(found, Some(value.as_str()), "find_property and parse disagree on {key:?}");
    }
    let normalized = normalize_properties(&text);
    assert!(
        normalized.is_empty() || normalized.ends_with('\u{2}'),
        "normalised properties must end with the separator"
    );
    assert_eq!(normalize_properties(&normalized), normalized, "normalising is idempotent");
    let mut expected = parsed.clone();
    expected.remove("__CRC32#");
    let mut kept = parse_properties(&normalized);
    assert!(!kept.contains_key("__CRC32#"), "a client's CRC property survived");
    kept.remove("__CRC32#");
    assert_eq!(kept, expected, "normalising changed a property");

    if let Ok(map) = properties::parse(&text) {
        let again = properties::parse(&properties::render(&map)).expect("rendered text parses");
        assert_eq!(again, map, "Java properties round trip");
    }
    let _ = decode_offset_msg_id(&text);
    let _ = parse_attribute_changes(&text);
});
