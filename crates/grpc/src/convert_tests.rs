use super::*;
use apogee_protocol::record::{MAGIC_V2, find_property};

fn message(sp: pb::SystemProperties) -> pb::Message {
    pb::Message {
        topic: Some(pb::Resource {
            resource_namespace: String::new(),
            name: "T".into(),
        }),
        user_properties: [("color".to_owned(), "red".to_owned())].into(),
        system_properties: Some(sp),
        body: b"hello".to_vec(),
    }
}

fn id(message_id: &str) -> pb::SystemProperties {
    pb::SystemProperties {
        message_id: message_id.into(),
        ..pb::SystemProperties::default()
    }
}

#[test]
fn a_v5_message_becomes_rocketmq_properties() {
    let sp = pb::SystemProperties {
        tag: Some("TagA".into()),
        keys: vec!["k1".into(), "k2".into()],
        delivery_timestamp: Some(timestamp(1_700_000_000_123)),
        queue_id: 2,
        ..id("01ABC")
    };
    let out = outgoing(message(sp), 4).expect("valid");
    let props = out.header.properties.clone().unwrap_or_default();
    assert_eq!(find_property(&props, "TAGS"), Some("TagA"));
    assert_eq!(find_property(&props, "KEYS"), Some("k1 k2"));
    assert_eq!(find_property(&props, "UNIQ_KEY"), Some("01ABC"));
    assert_eq!(
        find_property(&props, "TIMER_DELIVER_MS"),
        Some("1700000000123")
    );
    assert_eq!(find_property(&props, "color"), Some("red"));
    assert_eq!(out.header.queue_id, 2, "the client's queue");
    assert!(!out.transactional);
}

#[test]
fn groups_pick_one_queue_and_transactions_are_prepared() {
    let fifo = |group: &str| pb::SystemProperties {
        message_group: Some(group.into()),
        ..id("01")
    };
    let a = outgoing(message(fifo("orders-1")), 8).expect("valid");
    let b = outgoing(message(fifo("orders-1")), 8).expect("valid");
    assert_eq!(a.header.queue_id, b.header.queue_id, "one group, one queue");
    let tx = pb::SystemProperties {
        message_type: pb::MessageType::Transaction as i32,
        ..id("01")
    };
    let out = outgoing(message(tx), 8).expect("valid");
    assert!(out.transactional);
    assert_eq!(
        out.header.sys_flag & sys_flag::TRANSACTION_PREPARED,
        sys_flag::TRANSACTION_PREPARED
    );
    let props = out.header.properties.unwrap_or_default();
    assert_eq!(find_property(&props, "TRAN_MSG"), Some("true"));
    assert_eq!(find_property(&props, "PGROUP"), Some(V5_PRODUCER_GROUP));
}

#[test]
fn reserved_keys_missing_ids_and_long_groups_are_refused() {
    let mut reserved = message(id("01"));
    reserved
        .user_properties
        .insert("UNIQ_KEY".into(), "x".into());
    let code = |r: Result<Outgoing, Failure>| r.err().map(|s| s.code);
    assert_eq!(
        code(outgoing(reserved, 4)),
        Some(pb::Code::IllegalMessagePropertyKey as i32)
    );
    assert_eq!(
        code(outgoing(message(id("")), 4)),
        Some(pb::Code::IllegalMessageId as i32)
    );
    let long = pb::SystemProperties {
        message_group: Some("g".repeat(65)),
        ..id("01")
    };
    assert_eq!(
        code(outgoing(message(long), 4)),
        Some(pb::Code::IllegalMessageGroup as i32)
    );
}

#[test]
fn a_stored_record_becomes_a_v5_message_with_system_keys_kept_out() {
    let record = StoredRecord {
        magic: MAGIC_V2,
        body_crc: 0,
        queue_id: 1,
        flag: 0,
        queue_offset: 7,
        physical_offset: 700,
        sys_flag: 0,
        born_timestamp: 1_000,
        born_host: "10.0.0.1:5000".parse().expect("addr"),
        store_timestamp: 2_000,
        store_host: "10.0.0.2:10911".parse().expect("addr"),
        reconsume_times: 2,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(b"hello"),
        topic: Bytes::from_static(b"%RETRY%g_T"),
        properties: Bytes::from(
            "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}01X\u{2}__SHARDINGKEY\u{1}grp\u{2}color\u{1}red\u{2}",
        ),
    };
    let delivery = Delivery {
        topic: "T",
        receipt_handle: Some("h".into()),
        invisible_ms: Some(30_000),
        attempts: record.reconsume_times,
    };
    let m = incoming(&record, &delivery);
    let sp = m.system_properties.expect("system properties");
    assert_eq!(m.topic.expect("topic").name, "T");
    assert_eq!(sp.message_id, "01X");
    assert_eq!(sp.tag.as_deref(), Some("TagA"));
    assert_eq!(sp.message_type, pb::MessageType::Fifo as i32);
    assert_eq!(sp.message_group.as_deref(), Some("grp"));
    assert_eq!(sp.delivery_attempt, Some(3));
    assert_eq!(sp.queue_offset, Some(7));
    assert_eq!(sp.receipt_handle.as_deref(), Some("h"));
    assert_eq!(
        m.user_properties.get("color").map(String::as_str),
        Some("red")
    );
    assert!(!m.user_properties.contains_key("TAGS"));
    assert!(
        m.user_properties.contains_key("__SHARDINGKEY"),
        "not a system key for v5"
    );
    assert_eq!(
        sp.body_digest.expect("digest").checksum,
        "5D41402ABC4B2A76B9719D911017C592"
    );
}
