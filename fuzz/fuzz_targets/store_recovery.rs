//! CommitLog recovery on arbitrary file contents. The input, split into 4096-byte pieces (the
//! last one zero-padded, at most two), becomes the files `00000000000000000000` and
//! `00000000000000004096` of a fresh log; `open` + `recover(0, true)` must not panic and must
//! leave a log that reads back record by record up to its end, takes a new append where the
//! append rules say it goes, and recovers to the same end when reopened.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use apogee_protocol::record::{BLANK_BYTES, RecordAt, decode_record};
use apogee_runtime::ManualClock;
use apogee_store::MessageToStore;
use apogee_store::commit_log::CommitLog;
use apogee_store::io::FileIo;
use apogee_store::quarantine::Quarantine;
use apogee_store::mapped_file::offset_to_file_name;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const FILE_SIZE: usize = 4096;
const FILE_SIZE_I64: i64 = FILE_SIZE as i64;
const MAX_FILES: usize = 2;
const NOW_MS: i64 = 1;
const BODY: &[u8] = b"fuzz-body";
const TOPIC: &str = "FuzzTopic";

fn open(dir: &Path) -> CommitLog {
    let io = FileIo::default();
    let quarantine = Quarantine::new(dir.parent().unwrap_or(dir), io.clone());
    CommitLog::open(
        dir,
        FILE_SIZE,
        FILE_SIZE,
        Arc::new(ManualClock::new(NOW_MS)),
        (&io, &quarantine),
    )
    .expect("files of the configured size and name must open")
}

/// A fresh directory per input, in RAM when `/dev/shm` exists: creating, allocating and
/// mapping two files per input is most of the cost, and several times cheaper on tmpfs.
fn temp_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("apogee-fuzz-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("temp dir")
}

fn message() -> MessageToStore {
    MessageToStore {
        topic: TOPIC.to_owned(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:5000".parse().expect("address"),
        store_host: "127.0.0.1:10911".parse().expect("address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(BODY),
        properties: "TAGS\u{1}A\u{2}".to_owned(),
    }
}

/// Walks `[0, end)` as a reader would: a record, or a blank marker that skips to the start of
/// the next file. Every byte up to `end` must be covered.
fn walk(log: &CommitLog, end: i64) {
    let mut offset = log.min_offset();
    while offset < end {
        if let Some(record) = log.read_record(offset) {
            let size = i64::try_from(record.encoded_len()).expect("size");
            assert!(size > 0, "empty record at {offset}");
            offset += size;
            continue;
        }
        let marker = log
            .read(offset, BLANK_BYTES)
            .unwrap_or_else(|| panic!("nothing readable at {offset} below the end {end}"));
        match decode_record(&marker, 0, false) {
            Ok((RecordAt::Blank { .. }, _)) => {
                offset = offset - offset % FILE_SIZE_I64 + FILE_SIZE_I64;
            }
            other => panic!("neither record nor blank marker at {offset} (end {end}): {other:?}"),
        }
    }
    assert_eq!(offset, end, "the last record runs past the end");
}

fuzz_target!(|data: &[u8]| {
    let tmp = temp_dir();
    let dir = tmp.path().join("commitlog");
    std::fs::create_dir_all(&dir).expect("commitlog dir");
    let data = &data[..data.len().min(FILE_SIZE * MAX_FILES)];
    let pieces: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(FILE_SIZE).collect()
    };
    for (i, piece) in pieces.iter().enumerate() {
        let mut file = piece.to_vec();
        file.resize(FILE_SIZE, 0);
        let start = i64::try_from(i * FILE_SIZE).expect("offset");
        std::fs::write(dir.join(offset_to_file_name(start)), &file).expect("write file");
    }
    let stored_bytes = i64::try_from(pieces.len() * FILE_SIZE).expect("size");

    let log = open(&dir);
    let end = log
        .recover(0, true, 0)
        .expect("recovery must not fail on bad data")
        .end;
    assert_eq!(end, log.max_offset(), "recover's end != max_offset");
    assert!(
        (0..=stored_bytes).contains(&end),
        "end {end} outside the files"
    );
    walk(&log, end);

    // A new record goes at the end, or at the next file start if it (plus room for a blank
    // marker) does not fit in the last file.
    let last = log.files().last().expect("recovery keeps the first file");
    let (last_start, last_remaining) = (last.start_offset(), last.remaining());
    assert_eq!(
        last_start + i64::try_from(last.wrote()).expect("wrote"),
        end,
        "the last file does not end at the recovered end"
    );
    drop(last);
    let outcome = log
        .append(&[message()])
        .expect("a small append must succeed");
    let size = usize::try_from(outcome.records[0].1).expect("size");
    let expected = if size + BLANK_BYTES > last_remaining {
        last_start + FILE_SIZE_I64
    } else {
        end
    };
    assert_eq!(outcome.physical_offset, expected, "append landed elsewhere");
    assert_eq!(log.max_offset(), outcome.end_offset);
    let record = log
        .read_record(outcome.physical_offset)
        .expect("the appended record must read back");
    assert_eq!(&record.body[..], BODY);
    assert_eq!(record.topic_str(), TOPIC);
    assert_eq!(record.physical_offset, outcome.physical_offset);
    assert_eq!(record.store_timestamp, NOW_MS);
    assert_eq!(record.encoded_len(), size);
    walk(&log, outcome.end_offset);

    // Reopened, the log recovers to just past the new record.
    drop(log);
    let log = open(&dir);
    let again = log.recover(0, true, 0).expect("second recovery").end;
    assert_eq!(
        again, outcome.end_offset,
        "reopened log recovered elsewhere"
    );
    walk(&log, again);
});
