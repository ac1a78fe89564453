use super::*;
use crate::{ExtFields, HeaderError};

#[test]
fn given_register_header_when_written_should_use_java_field_names() {
    let header = RegisterBrokerRequestHeader {
        broker_name: BrokerName::new("broker-a").unwrap(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: ClusterName::new("DefaultCluster").unwrap(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        heartbeat_timeout_millis: Some(120_000),
        enable_acting_master: None,
        compressed: Some(false),
        body_crc32: Some(12345),
    };
    let mut ext = ExtFields::new();
    header.write_ext_fields(&mut ext);
    let keys: Vec<&str> = ext.keys().collect();
    assert_eq!(
        keys,
        [
            "bodyCrc32",
            "brokerAddr",
            "brokerId",
            "brokerName",
            "clusterName",
            "compressed",
            "haServerAddr",
            "heartbeatTimeoutMillis"
        ]
    );
    assert_eq!(
        RegisterBrokerRequestHeader::from_ext_fields(&ext).unwrap(),
        header
    );
}

#[test]
fn given_missing_required_field_when_decoded_should_name_it_like_java() {
    let mut ext = ExtFields::new();
    ext.insert("namespace", "ns");
    let err = KvConfigKeyHeader::from_ext_fields(&ext).unwrap_err();
    assert_eq!(err, HeaderError::Missing("key"));
    assert_eq!(err.to_string(), "the custom field <key> is null");
}

#[test]
fn given_bad_number_when_decoded_should_report_the_value() {
    let mut ext = ExtFields::new();
    for (k, v) in [
        ("brokerName", "b"),
        ("brokerAddr", "a"),
        ("clusterName", "c"),
        ("brokerId", "zero"),
    ] {
        ext.insert(k, v);
    }
    let err = UnRegisterBrokerRequestHeader::from_ext_fields(&ext).unwrap_err();
    assert_eq!(
        err,
        HeaderError::Invalid {
            key: "brokerId",
            value: "zero".into()
        }
    );
}

#[test]
fn given_java_booleans_when_decoded_should_follow_parse_boolean() {
    let mut ext = ExtFields::new();
    ext.insert("topic", "T");
    ext.insert("acceptStandardJsonOnly", "TRUE");
    let h = GetRouteInfoRequestHeader::from_ext_fields(&ext).unwrap();
    assert_eq!(h.accept_standard_json_only, Some(true));
    ext.insert("acceptStandardJsonOnly", "yes");
    let h = GetRouteInfoRequestHeader::from_ext_fields(&ext).unwrap();
    assert_eq!(h.accept_standard_json_only, Some(false));
    // The C++ SDK writes booleans as 1/0.
    for (text, want) in [("1", true), ("0", false), (" 1 ", true)] {
        ext.insert("acceptStandardJsonOnly", text);
        let h = GetRouteInfoRequestHeader::from_ext_fields(&ext).unwrap();
        assert_eq!(h.accept_standard_json_only, Some(want), "{text:?}");
    }
}
