use apogee_model::TopicConfig;

use super::*;

fn cluster() -> ClusterName {
    ClusterName::new("DefaultCluster").unwrap()
}

fn broker(name: &str) -> BrokerName {
    BrokerName::new(name).unwrap()
}

fn topics(version: i64, names: &[&str]) -> TopicConfigSerializeWrapper {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter: version,
            state_version: 0,
            timestamp: 1,
        },
        ..TopicConfigSerializeWrapper::default()
    };
    for name in names {
        let mut config = TopicConfig::new(TopicName::new(*name).unwrap());
        config.read_queue_nums = 4;
        config.write_queue_nums = 4;
        wrapper
            .topic_config_table
            .insert((*name).to_owned(), config);
    }
    wrapper
}

fn reg(name: &str, addr: &str, id: i64, wrapper: TopicConfigSerializeWrapper) -> Registration {
    Registration {
        cluster: cluster(),
        broker_addr: addr.to_owned(),
        broker_name: broker(name),
        broker_id: id,
        ha_server_addr: format!("{addr}-ha"),
        timeout_ms: None,
        enable_acting_master: None,
        topics: Some(wrapper),
        filter_servers: None,
        connection: Some(7),
    }
}

#[test]
fn given_two_masters_serving_a_topic_when_routed_should_list_both() {
    let mut table = RouteTable::new();
    table
        .register_broker(
            reg("a", "10.0.0.1:10911", 0, topics(1, &["T", "OnlyA"])),
            false,
            0,
        )
        .unwrap();
    table
        .register_broker(
            reg("b", "10.0.0.2:10911", 0, topics(1, &["T", "OnlyB"])),
            false,
            0,
        )
        .unwrap();
    let route = table.route("T").unwrap();
    assert_eq!(route.queue_datas.len(), 2);
    assert_eq!(route.broker_datas.len(), 2);
    assert_eq!(route.broker_datas[0].broker_addrs[&0], "10.0.0.1:10911");
    assert_eq!(table.route("OnlyA").unwrap().broker_datas.len(), 1);
    assert!(table.route("Nope").is_none());
}

#[test]
fn given_slave_when_registered_should_learn_its_live_master() {
    let mut table = RouteTable::new();
    let slave_first = table
        .register_broker(reg("a", "s:1", 1, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    assert_eq!(slave_first, RegisterOutcome::default());
    assert!(table.route("T").is_none(), "slaves do not publish topics");
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    let again = table
        .register_broker(reg("a", "s:1", 1, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    assert_eq!(again.master_addr.as_deref(), Some("m:1"));
    assert_eq!(again.ha_server_addr.as_deref(), Some("m:1-ha"));
}

#[test]
fn given_unchanged_data_version_when_reregistered_should_keep_wiped_perm() {
    let mut table = RouteTable::new();
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    assert_eq!(table.operate_write_perm(&broker("a"), WritePermOp::Wipe), 2);
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), false, 10)
        .unwrap();
    assert_eq!(table.route("T").unwrap().queue_datas[0].perm, 4);
    table
        .register_broker(reg("a", "m:1", 0, topics(2, &["T", "U"])), false, 20)
        .unwrap();
    assert_eq!(
        table.route("T").unwrap().queue_datas[0].perm,
        6,
        "a new version replaces queue data"
    );
    assert_eq!(table.operate_write_perm(&broker("a"), WritePermOp::Add), 2);
}

#[test]
fn given_silent_broker_when_scanned_past_timeout_should_drop_it_and_its_topics() {
    let mut table = RouteTable::new();
    let mut short = reg("a", "m:1", 0, topics(1, &["T", "U"]));
    short.timeout_ms = Some(1_000);
    table.register_broker(short, false, 0).unwrap();
    table
        .register_broker(reg("b", "m:2", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    assert!(
        table.scan_expired(1_000).is_empty(),
        "exactly at the deadline is still alive"
    );
    let dropped = table.scan_expired(1_001);
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].addr, "m:1");
    assert_eq!(table.route("T").unwrap().broker_datas.len(), 1);
    assert!(table.touch(
        &BrokerAddrInfo {
            cluster: cluster(),
            addr: "m:2".into()
        },
        200_000
    ));
    assert!(table.scan_expired(250_000).is_empty());
}

#[test]
fn given_connection_closed_should_drop_brokers_registered_over_it() {
    let mut table = RouteTable::new();
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    assert_eq!(table.connection_closed(99).len(), 0);
    assert_eq!(table.connection_closed(7).len(), 1);
    assert!(table.route("T").is_none());
    assert!(table.cluster_info().cluster_addr_table.is_empty());
}

#[test]
fn given_single_topic_registration_from_unknown_id_should_be_refused() {
    let mut table = RouteTable::new();
    let refused = table.register_broker(reg("a", "m:1", 0, topics(1, &["T"])), false, 0);
    assert_eq!(refused, Err(RegisterRefusal::NotRegisteredYet));
}

#[test]
fn given_slave_promoted_at_same_address_should_keep_one_id_per_address() {
    let mut table = RouteTable::new();
    table
        .register_broker(reg("a", "x:1", 1, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    table
        .register_broker(reg("a", "x:1", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    let addrs = &table.cluster_info().broker_addr_table[&broker("a")].broker_addrs;
    assert_eq!(addrs.len(), 1);
    assert_eq!(addrs[&0], "x:1");
}

#[test]
fn given_delete_with_registration_when_topic_vanishes_should_remove_it() {
    let mut table = RouteTable::new();
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), true, 0)
        .unwrap();
    table
        .register_broker(reg("a", "m:1", 0, topics(2, &["T", "V"])), true, 0)
        .unwrap();
    assert!(table.route("U").is_none());
    assert!(table.route("V").is_some());
}

#[test]
fn given_topics_when_listed_by_cluster_system_and_unit_flag_should_filter() {
    let mut table = RouteTable::new();
    let mut wrapper = topics(1, &["T", "Unit"]);
    wrapper
        .topic_config_table
        .get_mut("Unit")
        .unwrap()
        .topic_sys_flag = TopicSysFlag::UNIT_SUB;
    table
        .register_broker(reg("a", "m:1", 0, wrapper), false, 0)
        .unwrap();
    assert_eq!(
        table.topics_of_cluster("DefaultCluster").topic_list,
        ["T", "Unit"]
    );
    assert!(table.topics_of_cluster("Other").topic_list.is_empty());
    let system = table.system_topics();
    assert_eq!(system.topic_list, ["DefaultCluster", "a"]);
    assert_eq!(system.broker_addr.as_deref(), Some("m:1"));
    assert_eq!(
        table
            .topics_by_sys_flag(|f| f.has_unit_sub() && !f.is_unit())
            .topic_list,
        ["Unit"]
    );
    assert!(
        table
            .topics_by_sys_flag(TopicSysFlag::is_unit)
            .topic_list
            .is_empty()
    );
}

#[test]
fn given_topic_when_deleted_by_cluster_or_registered_should_update_routes() {
    let mut table = RouteTable::new();
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    let t = TopicName::new("T").unwrap();
    table.delete_topic(&t, Some("Other"));
    assert!(table.route("T").is_some());
    table.delete_topic(&t, Some("DefaultCluster"));
    assert!(table.route("T").is_none());
    let queue = QueueData {
        broker_name: broker("a"),
        perm: 6,
        read_queue_nums: 2,
        topic_sys_flag: 0,
        write_queue_nums: 2,
    };
    let ghost = QueueData {
        broker_name: broker("ghost"),
        ..queue.clone()
    };
    assert_eq!(table.register_topic(&t, vec![queue, ghost]), 1);
    assert_eq!(table.route("T").unwrap().queue_datas.len(), 1);
    table.delete_topic(&t, None);
    assert!(table.route("T").is_none());
}

#[test]
fn given_member_group_query_should_return_addresses_or_empty() {
    let mut table = RouteTable::new();
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    assert_eq!(
        table.member_group("DefaultCluster", "a").broker_addrs.len(),
        1
    );
    assert!(
        table
            .member_group("DefaultCluster", "zzz")
            .broker_addrs
            .is_empty()
    );
}

#[test]
fn given_split_registration_batches_with_one_new_version_should_apply_every_batch() {
    let mut table = RouteTable::new();
    table
        .register_broker(reg("a", "m:1", 0, topics(1, &["T", "U"])), false, 0)
        .unwrap();
    // Version 2 changes both topics; the broker sends them in two batches of one topic each,
    // both carrying version 2 (as Java's split registration does).
    let mut first = topics(2, &["T"]);
    first
        .topic_config_table
        .get_mut("T")
        .unwrap()
        .write_queue_nums = 8;
    let mut second = topics(2, &["U"]);
    second
        .topic_config_table
        .get_mut("U")
        .unwrap()
        .write_queue_nums = 8;
    table
        .register_broker(reg("a", "m:1", 0, first), false, 100)
        .unwrap();
    table
        .register_broker(reg("a", "m:1", 0, second.clone()), false, 200)
        .unwrap();
    assert_eq!(table.route("T").unwrap().queue_datas[0].write_queue_nums, 8);
    assert_eq!(
        table.route("U").unwrap().queue_datas[0].write_queue_nums,
        8,
        "the second batch's change applies too"
    );
    // Long after the change, a registration with the same version changes nothing.
    assert_eq!(table.operate_write_perm(&broker("a"), WritePermOp::Wipe), 2);
    table
        .register_broker(reg("a", "m:1", 0, second), false, 300)
        .unwrap();
    assert_eq!(
        table.route("U").unwrap().queue_datas[0].perm,
        4,
        "a wipe still stands"
    );
}

#[test]
fn given_a_live_broker_should_refuse_another_address_taking_its_id_whatever_its_state_version() {
    let mut table = RouteTable::new();
    table
        .register_broker(
            reg("a", "10.0.0.1:10911", 0, topics(1, &["T", "U"])),
            false,
            0,
        )
        .unwrap();
    let mut forged = topics(1, &["T", "U"]);
    forged.data_version.state_version = i64::MAX;
    let refused = table.register_broker(reg("a", "10.6.6.6:10911", 0, forged.clone()), false, 1000);
    assert!(matches!(
        refused,
        Err(RegisterRefusal::IdTaken { ref holder }) if holder == "10.0.0.1:10911"
    ));
    let route = table.route("T").unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs[&0], "10.0.0.1:10911");
    // Once the holder has gone silent past its timeout, the id is free again.
    let later = DEFAULT_BROKER_TIMEOUT_MS + 1;
    table
        .register_broker(reg("a", "10.0.0.9:10911", 0, forged), false, later)
        .unwrap();
    let route = table.route("T").unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs[&0], "10.0.0.9:10911");
}

#[test]
fn given_controller_mode_masters_a_newer_epoch_takes_the_id_from_a_live_older_one() {
    let mut table = RouteTable::new();
    let mut old = topics(1, &["T", "U"]);
    old.data_version.state_version = 1;
    table
        .register_broker(reg("a", "10.0.0.1:10911", 0, old.clone()), false, 0)
        .unwrap();
    // The same epoch from elsewhere is refused; a newer one takes over at once.
    let same = table.register_broker(reg("a", "10.0.0.2:10911", 0, old), false, 10);
    assert!(matches!(same, Err(RegisterRefusal::IdTaken { .. })));
    let mut newer = topics(1, &["T", "U"]);
    newer.data_version.state_version = 2;
    table
        .register_broker(reg("a", "10.0.0.2:10911", 0, newer), false, 20)
        .unwrap();
    let route = table.route("T").unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs[&0], "10.0.0.2:10911");
}
