//! REGISTER_BROKER body: JSON and zlib forms. The first byte picks the `compressed` flag; the
//! rest is the body. A 1 MiB inflate limit keeps zlib bombs from exhausting the fuzzer's memory.
#![no_main]

use apogee_protocol::FrameLimits;
use apogee_protocol::body::register::RegisterBrokerBody;
use libfuzzer_sys::fuzz_target;

const ZLIB_FIRST_BYTE: u8 = 0x78;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let compressed = selector & 1 == 1;
    let limits = FrameLimits {
        frame_bytes_max: 16 << 20,
        inflated_body_bytes_max: 1 << 20,
    };
    let Ok(decoded) = RegisterBrokerBody::decode(body, compressed, &limits) else {
        return;
    };

    // Round trips. Re-encoding may grow the body a little, so read it back with default limits.
    let roomy = FrameLimits::default();
    let json = decoded.to_json();
    let from_json =
        RegisterBrokerBody::decode(&json, false, &roomy).expect("our own JSON form must decode");
    assert_eq!(from_json, decoded, "JSON round trip changed the body");

    // The text form of a topic drops `order` and `topicSysFlag` and keys topics by name, so it
    // is only lossless for bodies that came from the compressed form in the first place.
    let was_compressed = compressed || body.first() == Some(&ZLIB_FIRST_BYTE);
    if was_compressed {
        let zlib = decoded.encode_compressed();
        let from_zlib = RegisterBrokerBody::decode(&zlib, true, &roomy)
            .expect("our own compressed form must decode");
        assert_eq!(from_zlib, decoded, "compressed round trip changed the body");
    }
});
