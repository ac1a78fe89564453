use apogee_runtime::ManualClock;

use super::*;
use crate::io::FileIo;

pub(crate) fn message(topic: &str, queue_id: i32, body: &[u8]) -> MessageToStore {
    MessageToStore {
        topic: topic.to_owned(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:5000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        properties: "TAGS\u{1}A\u{2}".to_owned(),
    }
}

fn open(dir: &Path, file_size: usize) -> CommitLog {
    let quarantine = Quarantine::new(dir, FileIo::default());
    CommitLog::open(
        dir,
        file_size,
        4 * 1024 * 1024,
        Arc::new(ManualClock::new(1_000)),
        (&FileIo::default(), &quarantine),
    )
    .unwrap()
}

fn quarantined(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir.join("quarantine")) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn given_appends_should_assign_dense_queue_offsets_and_consecutive_physical_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096);
    let a = log.append(&[message("T", 0, b"one")]).unwrap();
    let b = log
        .append(&[message("T", 0, b"two"), message("T", 0, b"three")])
        .unwrap();
    let c = log.append(&[message("T", 1, b"other queue")]).unwrap();
    assert_eq!((a.queue_offset, b.queue_offset, c.queue_offset), (0, 1, 0));
    assert_eq!(a.physical_offset, 0);
    assert_eq!(b.physical_offset, a.end_offset);
    assert_eq!(b.records[1].0, b.records[0].0 + i64::from(b.records[0].1));
    let record = log.read_record(b.records[1].0).unwrap();
    assert_eq!(&record.body[..], b"three");
    assert_eq!(record.queue_offset, 2);
    assert_eq!(record.store_timestamp, 1_000);
    assert_eq!(record.physical_offset, b.records[1].0);
}

#[test]
fn given_record_not_fitting_should_write_blank_marker_and_roll_to_next_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 512);
    let body = vec![7u8; 300];
    let first = log.append(&[message("T", 0, &body)]).unwrap();
    let second = log.append(&[message("T", 0, &body)]).unwrap();
    assert_eq!(
        second.physical_offset, 512,
        "second record starts the next file"
    );
    let tail = log.read(first.end_offset, 8).unwrap();
    let remaining = i32::try_from(512 - first.end_offset).unwrap();
    assert_eq!(&tail[..4], &remaining.to_be_bytes());
    assert_eq!(&tail[4..], &BLANK_MAGIC.to_be_bytes());
    assert_eq!(log.files().files().len(), 2);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn given_oversize_or_bad_messages_should_refuse_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 512);
    assert!(matches!(
        log.append(&[message("T", 0, &[0u8; 600])]),
        Err(StoreError::RecordTooLarge { .. })
    ));
    let mut props = message("T", 0, b"x");
    props.properties = "k\u{1}".repeat(20_000);
    assert!(matches!(
        log.append(&[props]),
        Err(StoreError::PropertiesTooLarge { .. })
    ));
    assert_eq!(log.max_offset(), 0, "nothing was written");
}

#[test]
fn given_prepared_transaction_should_not_consume_a_queue_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096);
    let mut half = message("T", 0, b"half");
    half.sys_flag = sys_flag::TRANSACTION_PREPARED;
    assert_eq!(log.append(&[half]).unwrap().queue_offset, 0);
    assert_eq!(
        log.append(&[message("T", 0, b"n")]).unwrap().queue_offset,
        0
    );
    assert_eq!(log.next_queue_offset("T", 0), Some(1));
}

#[test]
fn given_torn_body_when_recovered_should_keep_every_whole_record_and_quarantine_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 512);
    let body = vec![1u8; 200];
    let a = log.append(&[message("T", 0, &body)]).unwrap();
    let b = log.append(&[message("T", 0, &body)]).unwrap();
    let c = log.append(&[message("T", 0, b"last")]).unwrap();
    assert_eq!(b.physical_offset, 512);
    log.files().flush().unwrap();
    drop(log);
    // Tear the last record: zero bytes of its body on disk (the body CRC fails).
    let path = dir.path().join("00000000000000000512");
    let mut raw = std::fs::read(&path).unwrap();
    let tear_at = usize::try_from(c.end_offset - 512).unwrap() - 14;
    raw[tear_at..tear_at + 3].fill(0);
    std::fs::write(&path, &raw).unwrap();
    let log = open(dir.path(), 512);
    let report = log.recover(0, true, 0).unwrap();
    assert_eq!(report.end, c.physical_offset, "the torn record is cut");
    let cut = report.cut.unwrap();
    assert!(cut.reason.contains("CRC"), "{}", cut.reason);
    let kept = quarantined(dir.path());
    assert_eq!(kept.len(), 1);
    let c_len = usize::try_from(c.end_offset - c.physical_offset).unwrap();
    assert_eq!(
        &kept[0][..c_len],
        &raw[tear_at + 14 - c_len..tear_at + 14],
        "the cut bytes are kept"
    );
    assert_eq!(log.max_offset(), c.physical_offset);
    assert!(log.read_record(a.physical_offset).is_some());
    assert!(log.read_record(b.physical_offset).is_some());
    assert!(log.read_record(c.physical_offset).is_none());
    let d = log.append(&[message("T", 0, b"after")]).unwrap();
    assert_eq!(d.physical_offset, c.physical_offset);
}

#[test]
fn given_prop_crc_enabled_should_write_java_layout_and_catch_header_damage_on_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096).with_prop_crc(true);
    let a = log.append(&[message("T", 0, b"first")]).unwrap();
    let b = log.append(&[message("T", 0, b"second")]).unwrap();
    let record = log.read_record(a.physical_offset).unwrap();
    let props = &record.properties[..];
    let tail = &props[props.len() - 20..];
    assert_eq!(&tail[..9], b"__CRC32#\x01");
    let raw = log
        .read(a.physical_offset, usize::try_from(a.records[0].1).unwrap())
        .unwrap();
    let mut crc = crc32fast::hash(&raw[..raw.len() - 20]) & 0x7FFF_FFFF;
    for digit in &tail[9..19] {
        assert_eq!(
            u32::from(*digit - b'0'),
            crc % 10,
            "least-significant digit first"
        );
        crc /= 10;
    }
    assert_eq!(record.properties_map()["TAGS"], "A");
    log.files().flush().unwrap();
    drop(log);
    // Damage a header field of the second record (born timestamp): sizes and body CRC still pass.
    let path = dir.path().join("00000000000000000000");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[usize::try_from(b.physical_offset).unwrap() + 41] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let log = open(dir.path(), 4096).with_prop_crc(true);
    assert_eq!(
        log.recover(0, true, 0).unwrap().end,
        b.physical_offset,
        "the damaged record is cut"
    );
}

#[test]
fn given_file_with_less_than_a_marker_left_when_recovered_should_append_to_the_next_file() {
    // Found by the store_recovery fuzz target: one valid 4092-byte record leaves 4 bytes.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096);
    let body = Bytes::from(vec![0u8; 4001]);
    let record = StoredRecord {
        magic: MAGIC_V1,
        body_crc: apogee_protocol::record::body_crc(&body),
        queue_id: 0,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "0.0.0.0:0".parse().unwrap(),
        store_timestamp: 1,
        store_host: "0.0.0.0:0".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        topic: Bytes::new(),
        properties: Bytes::new(),
    };
    let mut raw = Vec::new();
    record.encode(&mut raw);
    assert_eq!(raw.len(), 4092);
    raw.resize(4096, 0);
    drop(log);
    std::fs::write(dir.path().join("00000000000000000000"), &raw).unwrap();
    let log = open(dir.path(), 4096);
    assert_eq!(
        log.recover(0, true, 0).unwrap().end,
        4096,
        "the file counts as complete"
    );
    let next = log.append(&[message("T", 0, b"x")]).unwrap();
    assert_eq!(next.physical_offset, 4096);
    assert_eq!(&log.read_record(4096).unwrap().body[..], b"x");
}

#[test]
fn given_client_shaped_properties_when_recovered_should_keep_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096);
    let shapes = [
        "UNIQ_KEY\u{1}x\u{2}CLUSTER\u{1}c",
        "TAGS\u{1}A\u{2}__CRC32#\u{1}9999999999\u{2}",
        "__CRC32#\u{1}12\u{2}KEYS\u{1}k",
        "",
        "\u{2}\u{2}",
    ];
    let mut ends = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        let mut m = message("T", 0, format!("body{i}").as_bytes());
        m.properties = (*shape).to_owned();
        ends.push(log.append(&[m]).unwrap());
    }
    let tail = log.append(&[message("T", 0, b"tail")]).unwrap();
    log.files().flush().unwrap();
    drop(log);
    for prop_crc in [false, true] {
        let log = open(dir.path(), 4096).with_prop_crc(prop_crc);
        let report = log.recover(0, true, tail.end_offset).unwrap();
        assert_eq!(
            report.end, tail.end_offset,
            "prop crc {prop_crc}: nothing is cut"
        );
        assert_eq!(report.cut, None);
        drop(log);
    }
    let log = open(dir.path(), 4096);
    log.recover(0, true, 0).unwrap();
    let first = log.read_record(ends[0].physical_offset).unwrap();
    assert_eq!(
        &first.properties[..],
        b"UNIQ_KEY\x01x\x02CLUSTER\x01c\x02",
        "the separator is added"
    );
    let second = log.read_record(ends[1].physical_offset).unwrap();
    assert_eq!(
        &second.properties[..],
        b"TAGS\x01A\x02",
        "a client's __CRC32# is dropped"
    );
    let third = log.read_record(ends[2].physical_offset).unwrap();
    assert_eq!(&third.properties[..], b"KEYS\x01k\x02");
    assert!(
        log.read_record(ends[3].physical_offset)
            .unwrap()
            .properties
            .is_empty()
    );
}

#[test]
fn given_a_stale_record_at_the_wrong_position_should_end_the_log_there() {
    // Bytes of an older record copied to another position (a stale tail after a cut) pass
    // every length and CRC check but name a different physical offset.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096);
    let a = log.append(&[message("T", 0, b"a")]).unwrap();
    log.files().flush().unwrap();
    drop(log);
    let path = dir.path().join("00000000000000000000");
    let mut raw = std::fs::read(&path).unwrap();
    let len = usize::try_from(a.end_offset).unwrap();
    let copy = raw[..len].to_vec();
    raw[len..2 * len].copy_from_slice(&copy);
    std::fs::write(&path, &raw).unwrap();
    let log = open(dir.path(), 4096);
    let report = log.recover(0, true, a.end_offset).unwrap();
    assert_eq!(report.end, a.end_offset);
    let cut = report.cut.unwrap();
    assert!(
        cut.reason.contains("names physical offset 0"),
        "{}",
        cut.reason
    );
    assert!(
        !cut.below_durable,
        "past the durable offset: a torn, unsynced tail"
    );
    let kept = quarantined(dir.path());
    assert_eq!(kept.len(), 1);
    assert_eq!(&kept[0][..len], &copy[..], "the stale bytes are kept");
}

#[test]
fn given_damage_below_the_durable_offset_should_report_it_and_quarantine_later_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 512);
    let body = vec![9u8; 300];
    let a = log.append(&[message("T", 0, &body)]).unwrap();
    let b = log.append(&[message("T", 0, &body)]).unwrap();
    log.files().flush().unwrap();
    drop(log);
    let second = std::fs::read(dir.path().join("00000000000000000512")).unwrap();
    let first = dir.path().join("00000000000000000000");
    let mut raw = std::fs::read(&first).unwrap();
    raw[4] ^= 0x55; // the magic code
    std::fs::write(&first, &raw).unwrap();
    let log = open(dir.path(), 512);
    let report = log.recover(0, true, b.end_offset).unwrap();
    assert_eq!(report.end, a.physical_offset);
    let cut = report.cut.unwrap();
    assert!(cut.below_durable);
    assert_eq!(
        cut.quarantined.len(),
        2,
        "the cut tail and the later file: {cut:?}"
    );
    assert!(!dir.path().join("00000000000000000512").exists());
    let kept = quarantined(dir.path());
    assert!(kept.contains(&second), "the later file is kept whole");
    assert!(
        kept.iter().any(|k| k[..8] == raw[..8]),
        "the damaged record is kept"
    );
}

/// Refuses `pwrite`s while `refusing` is set (an I/O error, as a failing disk gives).
#[derive(Default)]
struct FailingWrites {
    refusing: std::sync::atomic::AtomicBool,
}

impl crate::io::FileHooks for FailingWrites {
    fn before(&self, op: &crate::io::FileOp) -> std::io::Result<()> {
        let refused = self.refusing.load(std::sync::atomic::Ordering::SeqCst);
        match op {
            crate::io::FileOp::Write { .. } if refused => Err(std::io::Error::from_raw_os_error(5)),
            _ => Ok(()),
        }
    }
}

impl FailingWrites {
    fn refuse(&self, refuse: bool) {
        self.refusing
            .store(refuse, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A log in `dir` whose writes fail while its hooks are told to refuse them.
fn failing_log(dir: &Path) -> (CommitLog, Arc<FailingWrites>) {
    let hooks = Arc::new(FailingWrites::default());
    let io = FileIo::with_hooks(Arc::clone(&hooks) as Arc<dyn crate::io::FileHooks>);
    let quarantine = Quarantine::new(dir, io.clone());
    let clock = Arc::new(ManualClock::new(1_000));
    let log = CommitLog::open(dir, 4096, 4 * 1024 * 1024, clock, (&io, &quarantine)).unwrap();
    (log, hooks)
}

#[test]
fn given_a_failed_write_should_refuse_that_append_and_give_its_queue_offsets_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let (log, hooks) = failing_log(dir.path());
    let first = log.append(&[message("T", 0, b"one")]).unwrap();
    hooks.refuse(true);
    let batch = [message("T", 0, b"two"), message("T", 0, b"three")];
    assert!(matches!(log.append(&batch), Err(StoreError::Io { .. })));
    assert_eq!(log.max_offset(), first.end_offset, "nothing was published");
    hooks.refuse(false);
    let next = log.append(&batch).unwrap();
    assert_eq!(
        next.queue_offset, 1,
        "the failed append's offsets were taken back"
    );
    assert_eq!(next.physical_offset, first.end_offset);
    assert_eq!(
        &log.read_record(next.records[1].0).unwrap().body[..],
        b"three"
    );
}

#[test]
fn given_a_refused_combined_write_should_publish_nothing_and_give_every_groups_offsets_back() {
    let dir = tempfile::tempdir().unwrap();
    let (log, hooks) = failing_log(dir.path());
    let (a, b) = (
        [message("T", 0, b"a")],
        [message("T", 0, b"b"), message("U", 1, b"c")],
    );
    hooks.refuse(true);
    assert!(log.append_groups(&[&a, &b], &|_, _| Ok(0)).is_err());
    assert_eq!(log.max_offset(), 0, "nothing was published");
    hooks.refuse(false);
    let again = log.append_groups(&[&b, &a], &|_, _| Ok(0)).unwrap();
    assert_eq!(
        (again[0].queue_offset, again[1].queue_offset),
        (0, 1),
        "the refused write's queue offsets were taken back"
    );
    assert_eq!(again[0].physical_offset, 0);
}

fn groups_strategy() -> impl proptest::strategy::Strategy<Value = Vec<Vec<(u8, u8, usize)>>> {
    // Groups of (topic, queue, body size) messages; an empty group too.
    proptest::collection::vec(
        proptest::collection::vec((0u8..3, 0u8..3, 0usize..300), 0..4),
        1..6,
    )
}

proptest::proptest! {
    /// Groups written together land exactly as if each had been appended alone, in order:
    /// the same outcome per group and the same bytes in the log.
    #[test]
    fn given_groups_written_together_should_match_appending_each_alone(groups in groups_strategy()) {
        let messages: Vec<Vec<MessageToStore>> = groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|&(topic, queue, size)| {
                        message(&format!("T{topic}"), i32::from(queue), &vec![topic; size])
                    })
                    .collect()
            })
            .collect();
        let (alone_dir, together_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let alone_log = open(alone_dir.path(), 64 * 1024);
        let together_log = open(together_dir.path(), 64 * 1024);
        // A record already there, so offsets do not start at 0.
        alone_log.append(&[message("T0", 0, b"first")]).unwrap();
        together_log.append(&[message("T0", 0, b"first")]).unwrap();
        let alone: Vec<AppendOutcome> = messages
            .iter()
            .map(|group| alone_log.append(group).unwrap())
            .collect();
        let slices: Vec<&[MessageToStore]> = messages.iter().map(Vec::as_slice).collect();
        let together = together_log.append_groups(&slices, &|_, _| Ok(0)).unwrap();
        proptest::prop_assert_eq!(together.len(), alone.len());
        for (t, a) in together.iter().zip(&alone) {
            proptest::prop_assert_eq!(
                (t.physical_offset, t.end_offset, t.queue_offset, t.count, &t.records),
                (a.physical_offset, a.end_offset, a.queue_offset, a.count, &a.records)
            );
        }
        proptest::prop_assert_eq!(together_log.max_offset(), alone_log.max_offset());
        let mut offset = 0;
        while offset < alone_log.max_offset() {
            let (x, y) = (alone_log.read_record(offset).unwrap(), together_log.read_record(offset).unwrap());
            proptest::prop_assert_eq!((&x.body, x.queue_offset, x.queue_id), (&y.body, y.queue_offset, y.queue_id));
            offset += i64::try_from(x.encoded_len()).unwrap();
        }
    }
}
