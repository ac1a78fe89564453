//! The request path's decoding, per message: a SEND_MESSAGE_V2 frame as Java's client writes it
//! (JSON header with the fields `a` … `n`, 1 KiB body) decoded from the wire, and its
//! properties string parsed; the property lookups a send makes.
//!
//! `cargo bench -p apogee-protocol --bench frames`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use apogee_protocol::frame::{decode_frame, encode_frame};
use apogee_protocol::record::find_property;
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
        cmd.ext_fields.insert(key, value);
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

/// The property lookups one send makes on its way through the broker (stamping, redirects,
/// the WAIT flag, the response, dispatch), on a Java client's properties after stamping.
fn property_lookups(c: &mut Criterion) {
    let text = "KEYS\u{1}order-42\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}7F0000010F2C18B4AAC27A1B2F3D0000\u{2}WAIT\u{1}true\u{2}CLUSTER\u{1}DefaultCluster\u{2}";
    let keys = [
        "UNIQ_KEY",
        "CLUSTER",
        "DELAY",
        "TIMER_DELIVER_MS",
        "TIMER_DELAY_SEC",
        "TIMER_DELAY_MS",
        "__STARTDELIVERTIME",
        "TRAN_MSG",
        "WAIT",
        "UNIQ_KEY",
        "TAGS",
        "KEYS",
        "UNIQ_KEY",
    ];
    c.bench_function("send_property_lookups", |b| {
        b.iter(|| {
            keys.iter()
                .filter_map(|key| find_property(std::hint::black_box(text), key))
                .count()
        });
    });
}

criterion_group!(benches, decode, property_lookups);
criterion_main!(benches);
