use super::*;

#[test]
fn given_embedded_default_file_should_equal_the_defaults_in_code() {
    let parsed: RawBrokerConfig = toml::from_str(DEFAULT_CONFIG_TOML).unwrap();
    assert_eq!(parsed, RawBrokerConfig::default());
    let text = DEFAULT_CONFIG_TOML;
    let table = toml::Table::try_from(RawBrokerConfig::default()).unwrap();
    for key in table.keys() {
        assert!(
            text.contains(&format!("\n{key} = ")),
            "{key} missing from config/broker.toml"
        );
    }
}

#[test]
fn given_java_and_toml_names_should_resolve_both_ways() {
    let table = default_table().unwrap();
    for (java, toml_key) in JAVA_KEYS {
        assert!(
            table.contains_key(*toml_key),
            "{java} maps to unknown {toml_key}"
        );
        assert_eq!(toml_key_of(java).as_deref(), Some(*toml_key));
        // Two Java names may set one key (haSlaveFallbehindMax, 5.x haMaxGapNotInSync).
        let named = java_name(toml_key).unwrap();
        assert_eq!(toml_key_of(named).as_deref(), Some(*toml_key));
    }
    assert_eq!(
        toml_key_of("frame_bytes_max").as_deref(),
        Some("frame_bytes_max")
    );
    assert_eq!(toml_key_of("nope"), None);
}

#[test]
fn given_java_broker_conf_should_map_known_keys_and_report_the_rest() {
    let text = "brokerClusterName = C1\nbrokerName=broker-b\nbrokerId=0\ndeleteWhen=04\nfileReservedTime=48\n\
                brokerRole=ASYNC_MASTER\nflushDiskType=SYNC_FLUSH\nnamesrvAddr=10.0.0.1:9876;10.0.0.2:9876\n\
                brokerIP1=10.0.0.9\nlistenPort=10921\nautoCreateTopicEnable=false\nmessageDelayLevel=1s 2s\n\
                storePathCommitLog=/x/commitlog\ntransactionCheckInterval=200\ntransactionTimeOut=1000\n\
                transactionCheckMax=3\nrejectTransactionMessage=true\ncleanFileForciblyEnable=false\n\
                diskSpaceWarningLevelRatio=95\ndiskSpaceCleanForciblyRatio=80\n";
    let import = import_java_properties(text).unwrap();
    assert_eq!(import.ignored, vec!["storePathCommitLog".to_string()]);
    let raw: RawBrokerConfig =
        apogee_runtime::config::load_layered(&apogee_runtime::config::Layers {
            base: Some(import.table),
            ..Default::default()
        })
        .unwrap();
    let config = BrokerConfig::try_from(raw).unwrap();
    assert_eq!(config.cluster.as_str(), "C1");
    assert_eq!(config.broker_name.as_str(), "broker-b");
    assert_eq!(config.namesrv_addrs, vec!["10.0.0.1:9876", "10.0.0.2:9876"]);
    assert_eq!(config.broker_ip.to_string(), "10.0.0.9");
    assert_eq!(config.bind, "0.0.0.0:10921");
    assert!(matches!(config.store.flush, FlushMode::Sync { .. }));
    assert_eq!(config.store.retention.file_reserved_hours, 48);
    assert!(!config.store.retention.clean_file_forcibly);
    assert!((config.store.retention.reject_ratio - 0.95).abs() < 1e-9);
    assert!((config.store.retention.force_clean_ratio - 0.80).abs() < 1e-9);
    assert_eq!(config.limits.delay_levels_ms, vec![1000, 2000]);
    assert!(!config.limits.auto_create_topic);
    assert!(config.limits.reject_transaction_message);
    assert_eq!(
        config.limits.transaction.check_interval,
        Duration::from_millis(200)
    );
    assert_eq!(
        (
            config.limits.transaction.timeout_ms,
            config.limits.transaction.check_max
        ),
        (1000, 3)
    );
    assert_eq!(config.limits.transaction.file_reserved_ms, 48 * 3_600_000);
}

#[test]
fn given_bad_values_should_refuse_with_the_key_named() {
    for (key, value) in [
        ("broker_role", "SLAVE"),
        ("flush_disk_type", "SOMETIMES"),
        ("message_delay_level", "1x"),
        ("broker_ip1", "not-an-ip"),
        ("broker_name", "  "),
    ] {
        let mut table = toml::Table::try_from(RawBrokerConfig::default()).unwrap();
        table.insert(key.into(), toml::Value::String(value.into()));
        let raw: RawBrokerConfig = table.try_into().unwrap();
        let err = BrokerConfig::try_from(raw).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    let raw = RawBrokerConfig {
        network_worker_threads: 5000,
        ..RawBrokerConfig::default()
    };
    let err = BrokerConfig::try_from(raw).unwrap_err().to_string();
    assert!(err.contains("network_worker_threads"), "{err}");
    let raw = RawBrokerConfig {
        network_worker_threads: 1,
        ..RawBrokerConfig::default()
    };
    assert_eq!(
        BrokerConfig::try_from(raw)
            .unwrap()
            .raw
            .network_worker_threads,
        1
    );
}

#[test]
fn given_destructive_retention_values_should_refuse_them_naming_the_key() {
    let refused = |tweak: fn(&mut RawBrokerConfig), key: &str| {
        let mut raw = RawBrokerConfig::default();
        tweak(&mut raw);
        let err = BrokerConfig::try_from(raw).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    };
    refused(|r| r.file_reserved_time = 0, "file_reserved_time");
    refused(
        |r| r.disk_space_clean_forcibly_ratio = 10,
        "disk_space_clean_forcibly_ratio",
    );
    refused(
        |r| r.disk_space_clean_forcibly_ratio = 70,
        "disk_max_used_space_ratio",
    );
    refused(
        |r| r.disk_space_clean_forcibly_ratio = 95,
        "disk_space_warning_level_ratio",
    );
    let fine = RawBrokerConfig {
        file_reserved_time: 1,
        disk_space_clean_forcibly_ratio: 90,
        ..RawBrokerConfig::default()
    };
    assert!(BrokerConfig::try_from(fine).is_ok());
}
