//! The request path's decoding, per message: a SEND_MESSAGE_V2 frame as Java's client writes it
//! (JSON header with the fields `a` … `n`, 1 KiB body) decoded from the wire, and its
//! properties string parsed.
//!
//! `cargo bench -p apogee-protocol --bench frames`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use apogee_protocol::frame::{decode_frame, encode_frame};
use apogee_protocol::{FrameLimits, LanguageCode, RemotingCommand, RequestCode, SerializeType};
use bytes::BytesMut;
use criterion::{Criterion, criterion_group, criterion_main};

fn send_v2_frame(serialize_type: SerializeType) -> BytesMut {
    let mut cmd = RemotingCommand::bare_request(RequestCode::SEND_MESSAGE_V2);
    cmd.language = LanguageCode::JAVA;
    cmd.serialize_type = serialize_type;
    cmd.opaque = 123_456;
    for (key, value) in [
        ("a", "please_rename_unique_group_name"),
        ("b", "BenchTopic"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "3"),
        ("f", "0"),
        ("g", "1733350000000"),
        ("h", "0"),
        (
            "i",
            "KEYS\u{1}order-42\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}7F0000010F2C18B4AAC27A1B2F3D0000\u{2}WAIT\u{1}true\u{2}",
        ),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
        ("n", "broker-a"),
    ] {
        cmd.ext_fields.insert(key.into(), value.into());
    }
    cmd.body = vec![b'x'; 1024].into();
    encode_frame(&cmd, &FrameLimits::default()).unwrap()
}

fn decode(c: &mut Criterion) {
    let limits = FrameLimits::default();
    for (name, kind) in [
        ("send_v2_json_header", SerializeType::Json),
        ("send_v2_binary_header", SerializeType::RocketMq),
    ] {
        let frame = send_v2_frame(kind);
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut buf = frame.clone();
                decode_frame(&mut buf, &limits).unwrap().unwrap()
            });
        });
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
