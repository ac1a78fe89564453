use super::*;

fn config(dir: &Path) -> BrokerConfig {
    BrokerConfig::try_from(RawBrokerConfig {
        store_path_root_dir: dir.join("store"),
        broker_ip1: "127.0.0.1".into(),
        ..RawBrokerConfig::default()
    })
    .unwrap()
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const OPENED: usize = 4 * 1024 * 1024 + 64 * 1024;

#[test]
fn given_live_keys_when_planned_should_validate_and_list_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    let current = config(dir.path());
    let (next, changes) = plan_update(
        &current,
        &props(&[
            ("fileReservedTime", "48"),
            ("brokerPermission", "4"),
            ("long_polling_enable", "false"),
            ("deleteWhen", "04"),
        ]),
        OPENED,
    )
    .unwrap();
    assert_eq!(
        changes,
        [
            "broker_permission",
            "file_reserved_time",
            "long_polling_enable"
        ]
    );
    assert_eq!(next.store.retention.file_reserved_hours, 48);
    assert_eq!(next.limits.transaction.file_reserved_ms, 48 * 3_600_000);
    assert_eq!(next.broker_permission, Perm(4));
    assert!(!next.limits.long_polling);
    let live = LiveSettings::new(&current);
    live.set(&next);
    assert_eq!(live.permission(), Perm(4));
    assert!(!live.long_polling());
}

#[test]
fn given_protected_keys_should_refuse_with_no_permission_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let current = config(dir.path());
    for key in [
        "storePathRootDir",
        "brokerName",
        "listenPort",
        "namesrvAddr",
        "configBlackList",
    ] {
        let err = plan_update(
            &current,
            &props(&[("fileReservedTime", "48"), (key, "x")]),
            OPENED,
        )
        .unwrap_err();
        assert_eq!(
            err.response_code(),
            apogee_protocol::ResponseCode::NO_PERMISSION
        );
        assert!(err.to_string().contains(key), "{err}");
        assert!(
            err.to_string()
                .starts_with("Can not update config in black list")
        );
    }
}

#[test]
fn given_unknown_restart_only_or_bad_values_should_refuse_with_system_error() {
    let dir = tempfile::tempdir().unwrap();
    let current = config(dir.path());
    for (pairs, needle) in [
        (vec![("noSuchKey", "1")], "unknown config key `noSuchKey`"),
        (vec![("mappedFileSizeCommitLog", "1024")], "restart"),
        (vec![("fileReservedTime", "soon")], "bad value"),
        (
            vec![("diskMaxUsedSpaceRatio", "5")],
            "disk_max_used_space_ratio",
        ),
        (vec![("deleteWhen", "25")], "delete_when"),
        (
            vec![("maxMessageSize", "8388608")],
            "maxMessageSize can only be lowered",
        ),
    ] {
        let err = plan_update(&current, &props(&pairs), OPENED).unwrap_err();
        assert_eq!(
            err.response_code(),
            apogee_protocol::ResponseCode::SYSTEM_ERROR,
            "{pairs:?}"
        );
        assert!(err.to_string().contains(needle), "{pairs:?}: {err}");
    }
    let (next, _) = plan_update(&current, &props(&[("maxMessageSize", "1024")]), OPENED).unwrap();
    assert_eq!(next.limits.max_message_size, 1024);
}

#[test]
fn given_an_overlay_file_should_apply_its_live_keys_at_start_and_ignore_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let current = config(dir.path());
    save_overlay(
        &current.config_dir.join(OVERLAY_FILE),
        &["file_reserved_time".to_owned()],
        &RawBrokerConfig {
            file_reserved_time: 24,
            ..current.raw.clone()
        },
    )
    .unwrap();
    let path = current.config_dir.join(OVERLAY_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "fileReservedTime=24\n");
    std::fs::write(
        &path,
        format!("{text}brokerName=evil\nmaxMessageSize=8388608\n"),
    )
    .unwrap();
    let started = apply_overlay(current).unwrap();
    assert_eq!(started.store.retention.file_reserved_hours, 24);
    assert_eq!(started.broker_name.as_str(), "broker-a");
    assert_eq!(
        started.limits.max_message_size,
        8 * 1024 * 1024,
        "raised before the store opens"
    );
    let bad = config(dir.path());
    std::fs::write(&path, "diskMaxUsedSpaceRatio=1\n").unwrap();
    let err = apply_overlay(bad).unwrap_err().to_string();
    assert!(err.contains(OVERLAY_FILE), "{err}");
}
