//! What a slave does with a hostile master's byte stream: each 12-byte header is decoded
//! (a refused header ends the stream, as it ends the connection), its body is appended to a
//! fresh replica CommitLog (4096-byte files) at the log's end, and after every frame the
//! reput runs over whatever arrived. Nothing may panic, the reput must return (a record not
//! yet whole waits, bytes that are not records are skipped) and never pass the log's end, and
//! the offset reports parsed from the same bytes keep only whole 8-byte values.
#![no_main]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apogee_protocol::ha::{TRANSFER_HEADER_BYTES, TransferHeader, take_last_report};
use apogee_runtime::ManualClock;
use apogee_store::StoreError;
use apogee_store::commit_log::CommitLog;
use apogee_store::dispatch::{DispatchRequest, Dispatcher, Reput};
use apogee_store::io::FileIo;
use apogee_store::quarantine::Quarantine;
use libfuzzer_sys::fuzz_target;

const FILE_SIZE: usize = 4096;

struct Count(AtomicUsize);

impl Dispatcher for Count {
    fn dispatch(&self, request: &DispatchRequest) -> Result<(), StoreError> {
        assert!(request.size > 0, "a dispatched record has a size");
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn temp_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("apogee-fuzz-ha-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("temp dir")
}

fuzz_target!(|data: &[u8]| {
    let mut reports = bytes::BytesMut::from(data);
    let before = reports.len();
    if take_last_report(&mut reports).is_some() {
        assert_eq!(reports.len(), before % 8, "only the partial tail is kept");
    }

    let dir = temp_dir();
    let io = FileIo::default();
    let quarantine = Quarantine::new(dir.path(), io.clone());
    let log_dir = dir.path().join("commitlog");
    let log = Arc::new(
        CommitLog::open(&log_dir, FILE_SIZE, FILE_SIZE, Arc::new(ManualClock::new(1)), (&io, &quarantine))
            .expect("a fresh log opens"),
    );
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let reput = Reput::new(
        Arc::clone(&log),
        vec![count.clone() as Arc<dyn Dispatcher>],
        0,
        apogee_store::config::TagsCodeRule::default(),
    );
    let mut rest = data;
    // At most 64 frames: the input length already bounds the work.
    for _ in 0..64 {
        let Some((head, tail)) = rest.split_first_chunk::<TRANSFER_HEADER_BYTES>() else {
            break;
        };
        let Ok(header) = TransferHeader::decode(head) else {
            break;
        };
        let size = header.size.min(tail.len());
        let (body, after) = tail.split_at(size);
        rest = after;
        let end = log.max_offset();
        if size > 0 {
            let appended = log.append_replica(end, body).expect("appending at the end succeeds");
            assert_eq!(appended, end + size as i64, "every byte lands");
        }
        reput.run_once().expect("the reput never fails on bytes");
        // The reput may skip to the end of the file it is in (a blank marker, bytes that are
        // not a record), never further.
        let end = log.max_offset();
        let file_end = end - end % FILE_SIZE as i64 + FILE_SIZE as i64;
        assert!(reput.offset() <= file_end, "reput at {} past {file_end}", reput.offset());
    }
    let dispatched = count.0.load(Ordering::Relaxed);
    reput.run_once().expect("again");
    assert_eq!(count.0.load(Ordering::Relaxed), dispatched, "nothing new, nothing dispatched");
});
