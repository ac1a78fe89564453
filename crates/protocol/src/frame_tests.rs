use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::{ExtFields, LanguageCode, RequestCode};

fn route_request(serialize_type: SerializeType) -> RemotingCommand {
    let mut ext = ExtFields::new();
    ext.insert("topic", "TopicTest");
    RemotingCommand {
        code: RequestCode::GET_ROUTEINFO_BY_TOPIC.0,
        language: LanguageCode::JAVA,
        version: 479,
        opaque: 1,
        flag: 0,
        remark: None,
        ext_fields: ext,
        body: Bytes::new(),
        serialize_type,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn given_remoting_md_11_json_example_when_encoded_should_match_bytes() {
    let json = r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let frame = encode_frame(&route_request(SerializeType::Json), &FrameLimits::default()).unwrap();
    assert_eq!(&frame[..8], &[0, 0, 0, 0x87, 0, 0, 0, 0x83]);
    assert_eq!(&frame[8..], json.as_bytes());
    assert_eq!(frame.len(), 139);
}

#[test]
fn given_remoting_md_11_binary_example_when_encoded_and_decoded_should_match_bytes() {
    let expected = "0000002d01000029006900 01df 00000001 00000000 00000000 00000014 0005746f706963 00000009546f70696354657374"
        .replace(' ', "");
    let frame = encode_frame(
        &route_request(SerializeType::RocketMq),
        &FrameLimits::default(),
    )
    .unwrap();
    assert_eq!(hex(&frame), expected);
    let mut buf = BytesMut::from(&frame[..]);
    let decoded = decode_frame(&mut buf, &FrameLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(decoded, route_request(SerializeType::RocketMq));
    assert!(buf.is_empty());
}

#[test]
fn given_partial_frame_when_decoded_should_wait_for_more_bytes() {
    let frame = encode_frame(&route_request(SerializeType::Json), &FrameLimits::default()).unwrap();
    let mut buf = BytesMut::from(&frame[..10]);
    assert!(
        decode_frame(&mut buf, &FrameLimits::default())
            .unwrap()
            .is_none()
    );
    buf.extend_from_slice(&frame[10..]);
    assert!(
        decode_frame(&mut buf, &FrameLimits::default())
            .unwrap()
            .is_some()
    );
}

#[test]
fn given_bad_lengths_when_decoded_should_fail_before_allocating() {
    let limits = FrameLimits::default();
    let huge = (100 * 1024 * 1024u32).to_be_bytes();
    let mut buf = BytesMut::from(&huge[..]);
    assert!(matches!(
        decode_frame(&mut buf, &limits),
        Err(DecodeError::FrameTooLarge { .. })
    ));
    assert!(buf.capacity() < 1024, "no reservation for a rejected frame");
    let mut neg = BytesMut::from(&(-5i32).to_be_bytes()[..]);
    assert!(matches!(
        decode_frame(&mut neg, &limits),
        Err(DecodeError::FrameTooShort { .. })
    ));
    // length 8: header word says H = 100 but only 4 bytes follow.
    let mut bad_h = BytesMut::from(&[0, 0, 0, 8, 0, 0, 0, 100, 1, 2, 3, 4][..]);
    assert!(matches!(
        decode_frame(&mut bad_h, &limits),
        Err(DecodeError::BadHeaderLength { .. })
    ));
    let mut bad_type = BytesMut::from(&[0, 0, 0, 6, 7, 0, 0, 2, b'{', b'}'][..]);
    assert!(matches!(
        decode_frame(&mut bad_type, &limits),
        Err(DecodeError::UnknownSerializeType(7))
    ));
    let mut bad_json = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 2, b'{', b'x'][..]);
    assert!(matches!(
        decode_frame(&mut bad_json, &limits),
        Err(DecodeError::JsonHeader(_))
    ));
}

#[test]
fn given_exact_limit_when_decoded_should_accept_and_one_more_should_reject() {
    let limits = FrameLimits {
        frame_bytes_max: 64,
        ..FrameLimits::default()
    };
    let mut cmd = RemotingCommand::bare_request(RequestCode(1));
    cmd.serialize_type = SerializeType::RocketMq;
    let mut frame = encode_frame(&cmd, &FrameLimits::default()).unwrap();
    let pad = 64 - frame.len();
    let mut padded = cmd.clone().with_body(vec![7u8; pad]);
    frame = encode_frame(&padded, &limits).unwrap();
    assert_eq!(frame.len(), 64);
    assert!(decode_frame(&mut frame.clone(), &limits).unwrap().is_some());
    padded.body = vec![7u8; pad + 1].into();
    assert!(matches!(
        encode_frame(&padded, &limits),
        Err(EncodeError::FrameTooLarge { .. })
    ));
}

#[test]
fn given_code_above_i16_when_binary_requested_should_fall_back_to_json() {
    let mut cmd = RemotingCommand::bare_request(RequestCode::POP_MESSAGE);
    cmd.serialize_type = SerializeType::RocketMq;
    let frame = encode_frame(&cmd, &FrameLimits::default()).unwrap();
    assert_eq!(frame[4], 0, "type byte must say JSON");
    let decoded = decode_frame(&mut BytesMut::from(&frame[..]), &FrameLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(decoded.code, 200_050);
}

#[test]
fn given_control_chars_in_ext_fields_when_json_encoded_should_escape_them() {
    let mut cmd = RemotingCommand::bare_request(RequestCode::SEND_MESSAGE);
    cmd.ext_fields.insert("properties", "KEYS\u{1}k1\u{2}");
    let frame = encode_frame(&cmd, &FrameLimits::default()).unwrap();
    let text = std::str::from_utf8(&frame[8..]).unwrap();
    assert!(text.contains(r#""KEYS\u0001k1\u0002""#), "{text}");
}

#[test]
fn given_lenient_json_header_when_decoded_should_accept_go_style_and_unknown_keys() {
    let json = br#"{"opaque":9,"unknown":[1],"code":34,"language":"GO","version":317,"flag":2,"extFields":{"n":5,"b":true,"z":null}}"#;
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&(4 + json.len() as u32).to_be_bytes());
    frame.extend_from_slice(&(json.len() as u32).to_be_bytes());
    frame.extend_from_slice(json);
    let cmd = decode_frame(&mut frame, &FrameLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!((cmd.code, cmd.opaque, cmd.version), (34, 9, 317));
    assert!(cmd.is_oneway());
    assert_eq!(cmd.language, LanguageCode::GO);
    assert_eq!(&cmd.ext_fields["n"], "5");
    assert_eq!(&cmd.ext_fields["b"], "true");
    assert!(!cmd.ext_fields.contains_key("z"));
}

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        0u8..14,
        any::<i16>(),
        any::<i32>(),
        0i32..4,
        proptest::option::of("[^\u{0}]{1,40}"),
        proptest::collection::btree_map("[a-zA-Z_]{1,12}", "\\PC{0,30}", 0..6),
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
    )
        .prop_map(
            |(code, lang, version, opaque, flag, remark, ext, body, binary)| RemotingCommand {
                code: i32::from(code),
                language: LanguageCode(lang),
                version: i32::from(version),
                opaque,
                flag,
                remark,
                ext_fields: ext.into_iter().collect(),
                body: body.into(),
                serialize_type: if binary {
                    SerializeType::RocketMq
                } else {
                    SerializeType::Json
                },
            },
        )
}

proptest! {
    #[test]
    fn given_any_command_when_round_tripped_in_either_encoding_should_be_equal(cmd in arb_command()) {
        let limits = FrameLimits::default();
        let frame = encode_frame(&cmd, &limits).unwrap();
        let mut buf = BytesMut::from(&frame[..]);
        let decoded = decode_frame(&mut buf, &limits).unwrap().unwrap();
        prop_assert_eq!(decoded, cmd);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn given_arbitrary_bytes_when_decoded_should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = decode_frame(&mut buf, &FrameLimits::default());
    }
}
