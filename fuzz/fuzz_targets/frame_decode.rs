//! Frame codec: `decode_frame` over a stream of frames, `decode_frame_body` on one frame, and
//! an encode → decode round trip of every command that decoded.
#![no_main]

use apogee_protocol::frame::{decode_frame, decode_frame_body, encode_frame};
use apogee_protocol::{FrameLimits, RemotingCommand, SerializeType};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

/// What a lossless round trip must give back, or `None` where the encoding loses information.
/// - JSON: a language number without a name is written as OTHER, so only known codes compare.
/// - ROCKETMQ: a remark of `Some("")` is written with length 0 and reads back as `None`.
fn expected_after_round_trip(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    match cmd.serialize_type {
        SerializeType::Json => cmd.language.is_known().then(|| cmd.clone()),
        SerializeType::RocketMq => {
            let mut expected = cmd.clone();
            if expected.remark.as_deref() == Some("") {
                expected.remark = None;
            }
            Some(expected)
        }
    }
}

fn round_trip(cmd: &RemotingCommand, limits: &FrameLimits) {
    // A decoded header may grow when re-encoded (JSON escapes, number formatting); a frame the
    // encoder refuses is not a decoder bug.
    let Ok(first) = encode_frame(cmd, limits) else {
        return;
    };
    let mut buf = first.clone();
    let again = decode_frame(&mut buf, limits)
        .expect("a frame we encoded must decode")
        .expect("a frame we encoded must be complete");
    assert!(
        buf.is_empty(),
        "decoding our own frame left {} bytes",
        buf.len()
    );
    if let Some(expected) = expected_after_round_trip(cmd) {
        assert_eq!(again, expected, "round trip changed the command");
    }
    // Whatever was normalised the first time, encoding is a fixpoint from then on.
    let second = encode_frame(&again, limits).expect("a re-decoded command must re-encode");
    assert_eq!(first, second, "encode(decode(encode(cmd))) != encode(cmd)");
}

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits::default();

    // A stream of frames, as a connection would deliver them.
    let mut stream = BytesMut::from(data);
    loop {
        let before = stream.len();
        let declared = stream
            .get(..4)
            .map(|p| i32::from_be_bytes([p[0], p[1], p[2], p[3]]));
        match decode_frame(&mut stream, &limits) {
            Ok(Some(cmd)) => {
                let declared = usize::try_from(declared.expect("a frame has a prefix"))
                    .expect("a decoded frame has a positive length");
                assert_eq!(
                    before - stream.len(),
                    4 + declared,
                    "consumed != prefix + length"
                );
                round_trip(&cmd, &limits);
            }
            Ok(None) => {
                assert_eq!(
                    stream.len(),
                    before,
                    "an incomplete frame must not be consumed"
                );
                break;
            }
            Err(_) => break,
        }
    }

    // The same bytes as one frame without its length prefix.
    if let Ok(cmd) = decode_frame_body(Bytes::copy_from_slice(data)) {
        round_trip(&cmd, &limits);
    }
});
