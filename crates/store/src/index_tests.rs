use apogee_runtime::ManualClock;

use super::*;

fn request(topic: &str, keys: &str, uniq: &str, phy: i64, ts: i64) -> DispatchRequest {
    DispatchRequest {
        topic: topic.into(),
        queue_id: 0,
        commit_log_offset: phy,
        size: 100,
        tags_code: 0,
        store_timestamp: ts,
        queue_offset: 0,
        sys_flag: 0,
        keys: Some(keys.into()),
        uniq_key: Some(uniq.into()),
    }
}

fn service(dir: &Path, sizing: IndexSizing) -> IndexService {
    IndexService::open(
        dir,
        sizing,
        Arc::new(ManualClock::new(1_700_000_000_000)),
        FileIo::default(),
    )
    .unwrap()
}

#[test]
fn given_keys_when_indexed_should_find_offsets_by_key_and_uniq_key() {
    let dir = tempfile::tempdir().unwrap();
    let index = service(
        dir.path(),
        IndexSizing {
            slots: 7,
            entries: 100,
        },
    );
    for i in 0..20 {
        index
            .dispatch(&request(
                "T",
                &format!("order-{} shared", i % 5),
                &format!("U{i}"),
                i * 100,
                1_700_000_000_000 + i * 1000,
            ))
            .unwrap();
    }
    assert_eq!(
        index.query("T", "order-3", 10, 0, i64::MAX),
        vec![300, 800, 1300, 1800]
    );
    assert_eq!(index.query("T", "U7", 10, 0, i64::MAX), vec![700]);
    assert_eq!(
        index.query("T", "shared", 5, 0, i64::MAX).len(),
        5,
        "max respected"
    );
    assert!(index.query("Other", "order-3", 10, 0, i64::MAX).is_empty());
    let window = index.query("T", "order-3", 10, 1_700_000_003_000, 1_700_000_008_000);
    assert_eq!(window, vec![300, 800]);
}

#[test]
fn given_full_file_when_indexing_should_roll_to_a_new_file_and_search_both() {
    let dir = tempfile::tempdir().unwrap();
    let sizing = IndexSizing {
        slots: 4,
        entries: 5,
    };
    let index = service(dir.path(), sizing);
    for i in 0..12 {
        index
            .dispatch(&request("T", "k", "", i, 1_700_000_000_000))
            .unwrap();
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    assert_eq!(index.query("T", "k", 100, 0, i64::MAX).len(), 12);
    drop(index);
    let reopened = service(dir.path(), sizing);
    assert_eq!(reopened.query("T", "k", 100, 0, i64::MAX).len(), 12);
    assert_eq!(
        std::fs::metadata(
            dir.path()
                .read_dir()
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path()
        )
        .unwrap()
        .len(),
        40 + 16 + 100
    );
}

#[test]
fn given_times_when_named_should_use_yyyymmddhhmmssmmm() {
    assert_eq!(file_name(0), "19700101000000000");
    assert_eq!(file_name(1_700_000_000_123), "20231114221320123");
    assert_eq!(key_hash("TopicTest#key1"), 1_655_984_460);
}

#[test]
fn given_one_entry_when_written_should_match_remoting_md_6_4_layout() {
    let dir = tempfile::tempdir().unwrap();
    let sizing = IndexSizing {
        slots: 10,
        entries: 4,
    };
    let index = service(dir.path(), sizing);
    index
        .dispatch(&request("T", "", "U1", 4242, 1_700_000_005_000))
        .unwrap();
    index.flush().unwrap();
    let path = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let raw = std::fs::read(path).unwrap();
    let i64_at = |at: usize| i64::from_be_bytes(raw[at..at + 8].try_into().unwrap());
    let i32_at = |at: usize| i32::from_be_bytes(raw[at..at + 4].try_into().unwrap());
    assert_eq!(raw.len(), 40 + 10 * 4 + 4 * 20);
    assert_eq!(
        (i64_at(0), i64_at(8)),
        (1_700_000_005_000, 1_700_000_005_000),
        "begin/end timestamp"
    );
    assert_eq!(
        (i64_at(16), i64_at(24)),
        (4242, 4242),
        "begin/end physical offset"
    );
    assert_eq!(
        (i32_at(32), i32_at(36)),
        (1, 2),
        "slots used, next entry number"
    );
    let hash = key_hash("T#U1");
    let slot = 40 + usize::try_from(hash).unwrap() % 10 * 4;
    assert_eq!(i32_at(slot), 1, "slot points at entry 1");
    let entry = 40 + 10 * 4 + 20;
    assert_eq!(i32_at(entry), hash);
    assert_eq!(i64_at(entry + 4), 4242);
    assert_eq!(i32_at(entry + 12), 0, "seconds since begin");
    assert_eq!(i32_at(entry + 16), 0, "end of the slot chain");
}

#[test]
fn given_a_clock_behind_the_newest_file_name_should_name_the_next_file_one_ms_later_at_once() {
    let newest = file_name(1_700_000_000_000 + 86_400_000 * 365);
    assert_eq!(name_ms(&newest), Some(1_700_000_000_000 + 86_400_000 * 365));
    let next = next_file_name(1_700_000_000_000, Some(&newest));
    assert!(next > newest);
    assert_eq!(name_ms(&next), name_ms(&newest).map(|ms| ms + 1));
    assert_eq!(next_file_name(5_000, Some("nonsense")), file_name(5_000));
    assert_eq!(next_file_name(5_000, None), file_name(5_000));
    for ms in [0, 951_782_400_123, 1_700_000_000_000, 4_102_444_799_999] {
        assert_eq!(name_ms(&file_name(ms)), Some(ms), "{ms}");
    }
}

#[test]
fn given_no_file_or_too_little_room_a_keyed_record_should_not_be_ready_for_an_inline_pass() {
    let dir = tempfile::tempdir().unwrap();
    let sizing = IndexSizing {
        slots: 7,
        entries: 5,
    };
    let index = service(dir.path(), sizing);
    let keyed = request("T", "k", "u", 0, 1);
    let unkeyed = request("T", " ", "", 0, 1);
    assert!(index.ready(&unkeyed), "nothing to index: no file needed");
    assert!(!index.ready(&keyed), "no file yet");
    index.dispatch(&keyed).unwrap();
    assert!(
        !index.ready(&request("T", "a b c d e", "u", 0, 1)),
        "more keys than the file has room for"
    );
    assert!(
        index.ready(&keyed),
        "room left for another record (entry 0 is reserved)"
    );
    index.dispatch(&keyed).unwrap();
    assert!(
        !index.ready(&keyed),
        "the next one might need the next file"
    );
}

proptest::proptest! {
    #[test]
    fn topic_key_hash_equals_the_hash_of_the_joined_key(topic in "\\PC{0,40}", key in "\\PC{0,40}") {
        proptest::prop_assert_eq!(topic_key_hash(&topic, &key), key_hash(&format!("{topic}#{key}")));
    }
}
