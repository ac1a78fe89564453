use super::*;

fn sample() -> RegisterBrokerBody {
    let mut table = BTreeMap::new();
    let mut t = TopicConfig::new(TopicName::new("TopicA").unwrap());
    t.read_queue_nums = 4;
    t.write_queue_nums = 4;
    t.attributes.insert("message.type".into(), "NORMAL".into());
    table.insert("TopicA".to_owned(), t);
    table.insert(
        "TopicB".to_owned(),
        TopicConfig::new(TopicName::new("TopicB").unwrap()),
    );
    RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: 3,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            topic_config_table: table,
        },
    }
}

#[test]
fn given_body_when_compressed_and_decoded_should_round_trip() {
    let body = sample();
    let bytes = body.encode_compressed();
    assert_eq!(bytes[0], 0x78);
    let decoded = RegisterBrokerBody::decode(&bytes, true, &FrameLimits::default()).unwrap();
    assert_eq!(decoded, body);
    // 5.x brokers say compressed=false; the zlib marker is honoured anyway.
    assert_eq!(
        RegisterBrokerBody::decode(&bytes, false, &FrameLimits::default()).unwrap(),
        body
    );
}

#[test]
fn given_java_json_body_when_decoded_should_read_topics_and_version() {
    let json = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":10},"topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":8}},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1},"topicQueueMappingInfoMap":{}}}"#;
    let body = RegisterBrokerBody::decode(json, false, &FrameLimits::default()).unwrap();
    assert_eq!(body.topic_config_serialize_wrapper.data_version.counter, 2);
    assert_eq!(
        body.topic_config_serialize_wrapper.topic_config_table["T"].read_queue_nums,
        8
    );
}

#[test]
fn given_topic_config_text_when_decoded_should_match_java_layout() {
    let text = "TopicA 4 4 6 SINGLE_TAG {\"message.type\":\"NORMAL\"}";
    let config = decode_topic_config_text(text).unwrap();
    assert_eq!(encode_topic_config_text(&config), text);
    let bare = decode_topic_config_text("T 1 2 6 MULTI_TAG ").unwrap();
    assert_eq!((bare.read_queue_nums, bare.write_queue_nums), (1, 2));
    assert!(decode_topic_config_text("T 1 2").is_err());
}

#[test]
fn given_zip_bomb_when_decoded_should_stop_at_the_limit() {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
    let bomb = encoder.finish().unwrap();
    let limits = FrameLimits {
        inflated_body_bytes_max: 1024,
        ..FrameLimits::default()
    };
    assert!(matches!(
        RegisterBrokerBody::decode(&bomb, true, &limits),
        Err(DecodeError::InflatedTooLarge { .. })
    ));
}

#[test]
fn given_lying_topic_count_when_decoded_should_fail_cleanly() {
    let mut raw = Vec::new();
    put_chunk(&mut raw, b"{\"counter\":1,\"timestamp\":1}");
    raw.put_i32(i32::MAX);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&raw).unwrap();
    let bytes = encoder.finish().unwrap();
    assert!(RegisterBrokerBody::decode(&bytes, true, &FrameLimits::default()).is_err());
}
