use proptest::prelude::*;

use super::*;

fn sample(body: &[u8], topic: &str, props: &str) -> StoredRecord {
    StoredRecord {
        magic: MAGIC_V1,
        body_crc: body_crc(body),
        queue_id: 3,
        flag: 0,
        queue_offset: 42,
        physical_offset: 1_000,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:50000".parse().unwrap(),
        store_timestamp: 1_700_000_000_001,
        store_host: "10.0.0.2:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        topic: Bytes::copy_from_slice(topic.as_bytes()),
        properties: Bytes::copy_from_slice(props.as_bytes()),
    }
}

fn encode(record: &StoredRecord) -> Bytes {
    let mut out = Vec::new();
    record.encode(&mut out);
    Bytes::from(out)
}

#[test]
fn given_v1_ipv4_record_when_encoded_should_match_remoting_md_layout() {
    let record = sample(b"hello", "TopicTest", "TAGS\u{1}TagA\u{2}");
    let bytes = encode(&record);
    assert_eq!(bytes.len(), 91 + 5 + 9 + 10, "TOTALSIZE = 91 + B + T + P");
    let at = |pos: usize, n: usize| &bytes[pos..pos + n];
    assert_eq!(at(0, 4), &115i32.to_be_bytes());
    assert_eq!(at(4, 4), &[0xDA, 0xA3, 0x20, 0xA7]);
    assert_eq!(
        at(8, 4),
        &907_060_870i32.to_be_bytes(),
        "CRC32(\"hello\") & 0x7FFFFFFF"
    );
    assert_eq!(at(20, 8), &42i64.to_be_bytes());
    assert_eq!(at(28, 8), &1_000i64.to_be_bytes());
    assert_eq!(at(48, 8), &[10, 0, 0, 1, 0, 0, 0xC3, 0x50]);
    assert_eq!(at(56, 8), &1_700_000_000_001i64.to_be_bytes());
    assert_eq!(at(84, 4), &5i32.to_be_bytes());
    assert_eq!(at(93, 1), &[9], "v1 topic length is one byte");
    let (decoded, size) = decode_record(&bytes, 0, true).unwrap();
    assert_eq!(size, bytes.len());
    assert_eq!(decoded, RecordAt::Message(record));
}

#[test]
fn given_ipv6_hosts_and_v2_magic_when_encoded_should_grow_by_12_12_and_1() {
    let mut record = sample(b"x", "T", "");
    record.born_host = "[::1]:1".parse().unwrap();
    record.store_host = "[fe80::1]:10911".parse().unwrap();
    record.magic = MAGIC_V2;
    let bytes = encode(&record);
    assert_eq!(bytes.len(), 91 + 1 + 1 + 12 + 12 + 1);
    let (decoded, _) = decode_record(&bytes, 0, true).unwrap();
    let RecordAt::Message(decoded) = decoded else {
        panic!("expected a message")
    };
    assert_eq!(
        decoded.sys_flag & (sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6),
        0x30
    );
    assert_eq!(decoded.store_host, record.store_host);
}

#[test]
fn given_corrupt_records_when_decoded_should_say_what_is_wrong() {
    let good = encode(&sample(b"hello", "T", ""));
    let mut flipped = good.to_vec();
    flipped[88] ^= 1;
    assert!(matches!(
        decode_record(&Bytes::from(flipped), 0, true),
        Err(RecordError::BodyCrc { .. })
    ));
    let mut bad_magic = good.to_vec();
    bad_magic[4] = 0;
    assert!(matches!(
        decode_record(&Bytes::from(bad_magic), 0, true),
        Err(RecordError::BadMagic(_))
    ));
    let torn = good.slice(..good.len() - 1);
    assert!(matches!(
        decode_record(&torn, 0, true),
        Err(RecordError::Truncated { .. })
    ));
    let mut lying = good.to_vec();
    lying[3] += 1;
    lying.push(0);
    assert!(matches!(
        decode_record(&Bytes::from(lying), 0, true),
        Err(RecordError::SizeMismatch { .. })
    ));
}

#[test]
fn given_blank_marker_when_decoded_should_report_remaining_bytes() {
    let mut marker = Vec::new();
    marker.put_i32(100);
    marker.put_i32(BLANK_MAGIC);
    assert_eq!(&marker[4..], &[0xCB, 0xD4, 0x31, 0x94]);
    let (at, size) = decode_record(&Bytes::from(marker), 0, true).unwrap();
    assert_eq!((at, size), (RecordAt::Blank { remaining: 100 }, 8));
}

#[test]
fn given_java_strings_when_hashed_should_match_string_hash_code() {
    assert_eq!(java_string_hash("TagA"), 2_598_919);
    assert_eq!(java_string_hash("TopicTest#key1"), -1_655_984_460);
    assert_eq!(java_string_hash("中文"), 646_394);
    assert_eq!(
        java_string_hash("😀"),
        1_772_899,
        "surrogate pairs count as two units"
    );
    assert_eq!(tags_code(Some("")), 0);
    assert_eq!(tags_code(None), 0);
}

#[test]
fn given_properties_text_when_parsed_should_follow_java_rules() {
    let props = parse_properties("KEYS\u{1}k1 k2\u{2}EMPTY\u{1}\u{2}\u{1}novalue\u{2}TAGS\u{1}A");
    assert_eq!(props.len(), 2);
    assert_eq!(props["KEYS"], "k1 k2");
    assert_eq!(props["TAGS"], "A");
    assert_eq!(parse_properties(&encode_properties(&props)), props);
}

proptest! {
    #[test]
    fn given_any_record_when_round_tripped_should_be_equal(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        topic in "[a-zA-Z0-9_%|-]{1,127}",
        props in "[a-zA-Z]{0,40}",
        queue_offset in any::<i64>(),
        v6 in any::<bool>(),
    ) {
        let mut record = sample(&body, &topic, &props);
        record.queue_offset = queue_offset;
        if v6 {
            record.born_host = "[2001:db8::7]:1234".parse().unwrap();
            record.sys_flag |= sys_flag::BORNHOST_V6;
        }
        let bytes = encode(&record);
        let (decoded, size) = decode_record(&bytes, 0, true).unwrap();
        prop_assert_eq!(size, bytes.len());
        prop_assert_eq!(decoded, RecordAt::Message(record));
    }

    #[test]
    fn given_arbitrary_bytes_when_decoded_should_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), at in 0usize..420) {
        let _ = decode_record(&Bytes::from(bytes), at, true);
    }
}

#[test]
fn given_total_size_below_header_when_decoded_should_fail_not_panic() {
    // Found by the record_decode fuzz target: TOTALSIZE 0 with a valid magic.
    let bytes = Bytes::from_static(&[0, 0, 0, 0, 0xDA, 0xA3, 0x20, 0xA7, 1, 2]);
    assert!(matches!(
        decode_record(&bytes, 0, true),
        Err(RecordError::SizeMismatch { .. })
    ));
}

#[test]
fn given_properties_text_when_one_key_is_looked_up_should_agree_with_the_parsed_map() {
    let text = "TAGS\u{1}A\u{2}KEYS\u{1}k1 k2\u{2}TAGS\u{1}B\u{2}EMPTY\u{1}\u{2}";
    let map = parse_properties(text);
    for key in ["TAGS", "KEYS", "EMPTY", "MISSING"] {
        assert_eq!(
            find_property(text, key),
            map.get(key).map(String::as_str),
            "{key}"
        );
    }
}

proptest! {
    #[test]
    fn given_any_properties_text_a_lookup_should_agree_with_the_general_rule(
        pieces in proptest::collection::vec(
            ("(TAGS|KEYS|K|KE|KEYSX|)", "[a-zé\u{1}]{0,4}", proptest::bool::ANY),
            0..8,
        ),
        trailing in proptest::bool::ANY,
    ) {
        let mut text = String::new();
        for (i, (k, v, with_value_separator)) in pieces.iter().enumerate() {
            if i > 0 {
                text.push(PROPERTY_SEPARATOR);
            }
            text.push_str(k);
            if *with_value_separator {
                text.push(NAME_VALUE_SEPARATOR);
            }
            text.push_str(v);
        }
        if trailing {
            text.push(PROPERTY_SEPARATOR);
        }
        for key in ["TAGS", "KEYS", "K", "KE", "X", "", "K\u{1}"] {
            prop_assert_eq!(
                find_property(&text, key),
                find_property_by_split(&text, key),
                "{:?} in {:?}", key, text
            );
        }
        for keys in [&["TAGS", "KE"][..], &["X", "K"], &["KEYS"], &[], &["X", "K\u{1}"]] {
            prop_assert_eq!(
                any_property(&text, keys),
                keys.iter().any(|k| find_property_by_split(&text, k).is_some()),
                "{:?} in {:?}", keys, text
            );
        }
    }
}
