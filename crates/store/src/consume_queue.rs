//! ConsumeQueue (REMOTING.md §6.3): per topic and queue id, a dense array of 20-byte units
//! `commit-log offset i64 · size i32 · tags code i64`; unit *n* describes queue offset *n*.
//! Derived from the CommitLog by the dispatcher, so it can always be rebuilt.

use std::path::Path;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes};

use crate::StoreError;
use crate::io::FileIo;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;
use crate::quarantine::Quarantine;

pub use crate::consume_queues::{ConsumeQueueStore, QueueRecovery};

/// Bytes per unit.
pub const UNIT_BYTES: usize = 20;
/// RocketMQ's default units per file (300,000 × 20 = 6,000,000 bytes).
pub const DEFAULT_UNITS_PER_FILE: usize = 300_000;

/// One unit of a consume queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqUnit {
    /// Java's filler for the unused front of a queue that starts past offset 0.
    pub(crate) const BLANK: CqUnit = CqUnit {
        commit_log_offset: 0,
        size: i32::MAX,
        tags_code: 0,
    };

    fn encode(&self) -> [u8; UNIT_BYTES] {
        let mut out = [0u8; UNIT_BYTES];
        let mut buf = &mut out[..];
        buf.put_i64(self.commit_log_offset);
        buf.put_i32(self.size);
        buf.put_i64(self.tags_code);
        out
    }

    fn decode(mut bytes: &[u8]) -> CqUnit {
        CqUnit {
            commit_log_offset: bytes.get_i64(),
            size: bytes.get_i32(),
            tags_code: bytes.get_i64(),
        }
    }

    fn is_valid(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }
}

/// One queue's units.
#[derive(Debug)]
pub struct ConsumeQueue {
    files: MappedFileQueue,
    /// First offset whose message is still in the CommitLog (set by retention).
    min_logical: std::sync::atomic::AtomicI64,
}

impl ConsumeQueue {
    pub fn open(
        dir: &Path,
        units_per_file: usize,
        (io, quarantine): (&FileIo, &Quarantine),
    ) -> Result<Self, StoreError> {
        let (files, _) =
            MappedFileQueue::open_growing(dir, units_per_file * UNIT_BYTES, io, quarantine)
                .map_err(StoreError::io(dir.display().to_string()))?;
        Ok(Self {
            files,
            min_logical: std::sync::atomic::AtomicI64::new(0),
        })
    }

    fn unit_bytes_i64() -> i64 {
        UNIT_BYTES as i64
    }

    /// Next queue offset (number of units, counting the blank front).
    pub fn max_offset(&self) -> i64 {
        self.files.max_offset() / Self::unit_bytes_i64()
    }

    /// First queue offset still stored with a real message.
    pub fn min_offset(&self) -> i64 {
        let start = (self.files.min_offset() / Self::unit_bytes_i64())
            .max(self.min_logical.load(std::sync::atomic::Ordering::Acquire));
        let mut offset = start;
        while offset < self.max_offset() {
            match self.get(offset) {
                Some(unit) if unit == CqUnit::BLANK => offset += 1,
                _ => break,
            }
        }
        // Blank units never change once written: remember the walk so later calls (one per
        // pull) start past it.
        if offset > start {
            self.min_logical
                .fetch_max(offset, std::sync::atomic::Ordering::AcqRel);
        }
        offset
    }

    /// Writes the unit for `queue_offset`. Re-dispatch of an offset already present is
    /// ignored (replay after recovery); a gap is filled with blank units and logged. A gap
    /// wider than one file cannot come from the CommitLog's own numbering (it is a damaged
    /// record) and is refused, so a flipped bit can never drive an unbounded fill.
    pub fn put(&self, queue_offset: i64, unit: CqUnit) -> Result<(), StoreError> {
        let max = self.max_offset();
        if queue_offset >= 0 && queue_offset < max && self.files.last().is_some() {
            return Ok(());
        }
        let per_file = self.units_per_file();
        if queue_offset < 0 || (self.files.last().is_some() && queue_offset - max > per_file) {
            return Err(StoreError::Corrupt(format!(
                "queue offset {queue_offset} is not the next one ({max}) of its consume queue"
            )));
        }
        if self.files.last().is_none() && queue_offset > 0 {
            tracing::debug!(
                queue_offset,
                "consume queue starts past 0; filling the front with blanks"
            );
        } else if queue_offset > max {
            tracing::warn!(
                queue_offset,
                max,
                "consume queue gap; filling with blank units"
            );
        }
        let first = if self.files.last().is_none() {
            self.first_file_start(queue_offset)
        } else {
            max
        };
        for offset in first..queue_offset {
            self.append(offset, CqUnit::BLANK)?;
        }
        self.append(queue_offset, unit)
    }

    /// Whether [`put`](Self::put) of `queue_offset` would touch no file system metadata: a
    /// unit already present, or the next one into room already allocated in the last file.
    pub fn can_put_in_place(&self, queue_offset: i64) -> bool {
        let max = self.max_offset();
        let Some(last) = self.files.last() else {
            return false;
        };
        queue_offset < max || (queue_offset == max && last.has_allocated_room(UNIT_BYTES))
    }

    fn units_per_file(&self) -> i64 {
        i64::try_from(self.files.file_size()).expect("a file size fits in i64")
            / Self::unit_bytes_i64()
    }

    fn first_file_start(&self, queue_offset: i64) -> i64 {
        queue_offset - queue_offset % self.units_per_file()
    }

    fn append(&self, queue_offset: i64, unit: CqUnit) -> Result<(), StoreError> {
        let file = self
            .files
            .last_or_create(queue_offset * Self::unit_bytes_i64())
            .map_err(StoreError::io("creating a consume-queue file"))?;
        debug_assert_eq!(
            file.start_offset() + i64::try_from(file.wrote()).unwrap_or(0),
            queue_offset * Self::unit_bytes_i64(),
            "consume queue units stay dense"
        );
        file.reserve(file.wrote() + UNIT_BYTES)
            .map_err(StoreError::io("allocating a consume-queue file"))?;
        file.append(&unit.encode())
            .map_err(StoreError::io("writing a consume-queue file"))?
            .ok_or_else(|| StoreError::Corrupt("consume-queue file full".into()))?;
        Ok(())
    }

    /// The unit at `queue_offset`, if stored.
    pub fn get(&self, queue_offset: i64) -> Option<CqUnit> {
        let position = queue_offset.checked_mul(Self::unit_bytes_i64())?;
        let file = self.files.find(position)?;
        let bytes = file.read(
            usize::try_from(position - file.start_offset()).ok()?,
            UNIT_BYTES,
        )?;
        Some(CqUnit::decode(&bytes))
    }

    /// Up to `max_units` units from `queue_offset`, within one file, as raw bytes (no copy).
    pub fn units(&self, queue_offset: i64, max_units: usize) -> Option<Bytes> {
        let position = queue_offset.checked_mul(Self::unit_bytes_i64())?;
        let file = self.files.find(position)?;
        let pos = usize::try_from(position - file.start_offset()).ok()?;
        let available = file.wrote().checked_sub(pos)? / UNIT_BYTES;
        let count = available.min(max_units);
        if count == 0 {
            return None;
        }
        file.read(pos, count * UNIT_BYTES)
    }

    /// Recovery: the first invalid unit ends the data; units pointing at or past
    /// `commit_log_end` are dropped too (the CommitLog lost them). Only the last three files
    /// are read (as Java does): units are written in CommitLog order, so earlier files cannot
    /// point further. Returns the max offset.
    pub fn recover(&self, commit_log_end: i64) -> Result<i64, StoreError> {
        let skip = self.files.files().len().saturating_sub(3);
        self.cut_from_file(commit_log_end, skip)
    }

    /// After a clean shutdown: the last file's units run unbroken from its start, so its end
    /// is found by binary search (a few pages read, not the whole file: a restart's memory
    /// and time no longer grow with the queue). Falls back to [`recover`](Self::recover) when
    /// what it finds does not check out.
    pub fn recover_clean(&self, commit_log_end: i64) -> Result<i64, StoreError> {
        let files = self.files.files();
        let Some(last) = files.last() else {
            return self.recover(commit_log_end);
        };
        // Recovery has not set the file's write position yet: read the mapping itself (only
        // the pages probed are touched).
        let all = last.read_all();
        let unit_at = |i: usize| all.get(i * UNIT_BYTES..(i + 1) * UNIT_BYTES);
        let present = |i: usize| {
            unit_at(i).is_some_and(|b| {
                let unit = CqUnit::decode(b);
                unit == CqUnit::BLANK || unit.is_valid()
            })
        };
        let units = last.size() / UNIT_BYTES;
        // Past the end of the file's data all is zeros: search only where data is, so the
        // probes read pages that hold units, not holes.
        let data_units = last.data_end(0).div_ceil(UNIT_BYTES).min(units);
        let (mut low, mut high) = (0, data_units);
        while low < high {
            let mid = low + (high - low) / 2;
            if present(mid) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        let zeros_after =
            low >= data_units || unit_at(low).is_some_and(|b| b.iter().all(|x| *x == 0));
        // An empty last file after full ones: the unit to check is in the file before, which
        // the full recovery reads.
        let last_ends_in_log = (low == 0 && files.len() == 1)
            || low.checked_sub(1).and_then(unit_at).is_some_and(|b| {
                let unit = CqUnit::decode(b);
                unit == CqUnit::BLANK
                    || unit.commit_log_offset.saturating_add(i64::from(unit.size)) <= commit_log_end
            });
        if !(zeros_after && last_ends_in_log) {
            return self.recover(commit_log_end);
        }
        let end = last.start_offset() + i64::try_from(low * UNIT_BYTES).unwrap_or(i64::MAX);
        self.files
            .truncate_from(end, 0, None)
            .map_err(StoreError::io("opening a consume queue"))?;
        Ok(self.max_offset())
    }

    /// Drops the units of messages that end past `commit_log_end`, however far back (the
    /// CommitLog's tail was cut at run time). Units are in CommitLog order, so the scan starts
    /// at the newest file whose first unit is kept.
    pub fn cut_to(&self, commit_log_end: i64) -> Result<i64, StoreError> {
        let files = self.files.files();
        let kept_first = |f: &Arc<MappedFile>| {
            f.read_copy(0, UNIT_BYTES).is_some_and(|b| {
                let unit = CqUnit::decode(&b);
                unit == CqUnit::BLANK
                    || unit.commit_log_offset.saturating_add(i64::from(unit.size)) <= commit_log_end
            })
        };
        let from = files.iter().rposition(kept_first).unwrap_or(0);
        self.cut_from_file(commit_log_end, from)
    }

    /// Checks units from file `skip` on (earlier files are taken as whole) and cuts at the
    /// first that is not valid or ends past `commit_log_end`.
    fn cut_from_file(&self, commit_log_end: i64, skip: usize) -> Result<i64, StoreError> {
        let files = self.files.files();
        let skip = skip.min(files.len());
        for file in &files[..skip] {
            file.mark_full();
        }
        let mut end = files
            .get(skip)
            .map_or_else(|| self.files.min_offset(), |f| f.start_offset());
        for file in &files[skip..] {
            file.prefetch(file.data_end(0));
            let bytes = file.read_all();
            let mut pos = 0;
            let mut complete = true;
            while pos + UNIT_BYTES <= bytes.len() {
                let unit = CqUnit::decode(&bytes[pos..pos + UNIT_BYTES]);
                let blank = unit == CqUnit::BLANK;
                if !blank
                    && (!unit.is_valid()
                        || unit.commit_log_offset.saturating_add(i64::from(unit.size))
                            > commit_log_end)
                {
                    complete = false;
                    break;
                }
                pos += UNIT_BYTES;
            }
            end = file.start_offset() + i64::try_from(pos).expect("a file position fits in i64");
            if !complete {
                break;
            }
        }
        // Zeros past the end are checked only where the file holds data (not its holes).
        let size = i64::try_from(self.files.file_size()).unwrap_or(i64::MAX);
        let zero_end = files
            .iter()
            .find(|f| f.start_offset() <= end && end < f.start_offset() + size)
            .map_or(0, |f| {
                f.data_end(usize::try_from(end - f.start_offset()).unwrap_or(0))
            });
        self.files
            .truncate_from(end, zero_end, None)
            .map_err(StoreError::io("truncating a consume queue"))?;
        Ok(self.max_offset())
    }

    pub fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    /// Deletes files whose every unit points before `commit_log_min` (retention); keeps the
    /// last file so the queue's max offset survives.
    pub fn delete_before(&self, commit_log_min: i64) -> Result<usize, StoreError> {
        self.files
            .delete_oldest_while(|file| {
                let wrote = file.wrote();
                wrote >= UNIT_BYTES
                    && Self::read_unit(file, wrote - UNIT_BYTES).is_some_and(|u| {
                        u.commit_log_offset.saturating_add(i64::from(u.size)) <= commit_log_min
                    })
            })
            .map_err(StoreError::io("deleting consume-queue files"))
            .inspect(|_| self.correct_min_offset(commit_log_min))
    }

    /// Moves the min offset past units whose messages the CommitLog no longer has.
    fn correct_min_offset(&self, commit_log_min: i64) {
        let (mut low, mut high) = (
            self.files.min_offset() / Self::unit_bytes_i64(),
            self.max_offset(),
        );
        while low < high {
            let mid = low + (high - low) / 2;
            match self.get(mid) {
                Some(unit) if unit != CqUnit::BLANK && unit.commit_log_offset < commit_log_min => {
                    low = mid + 1
                }
                _ => high = mid,
            }
        }
        self.min_logical
            .fetch_max(low, std::sync::atomic::Ordering::AcqRel);
    }

    fn read_unit(file: &crate::mapped_file::MappedFile, pos: usize) -> Option<CqUnit> {
        // Units are read through a temporary Arc-less copy: retention runs rarely.
        let bytes = file.read_copy(pos, UNIT_BYTES)?;
        Some(CqUnit::decode(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_queue(dir: &Path) -> ConsumeQueue {
        let q = Quarantine::new(dir, FileIo::default());
        ConsumeQueue::open(&dir.join("q"), 4, (&FileIo::default(), &q)).unwrap()
    }

    fn unit(offset: i64) -> CqUnit {
        CqUnit {
            commit_log_offset: offset * 100,
            size: 100,
            tags_code: 7,
        }
    }

    #[test]
    fn given_units_when_put_and_read_should_be_dense_and_twenty_bytes_each() {
        let dir = tempfile::tempdir().unwrap();
        let queue = open_queue(dir.path());
        for offset in 0..10 {
            queue.put(offset, unit(offset)).unwrap();
        }
        queue.put(3, unit(99)).unwrap();
        assert_eq!(queue.max_offset(), 10);
        assert_eq!(queue.get(3), Some(unit(3)), "replayed offsets are ignored");
        assert_eq!(queue.files().files().len(), 3);
        let raw = queue.units(4, 10).unwrap();
        assert_eq!(raw.len(), 4 * UNIT_BYTES, "one file at most");
        assert_eq!(&raw[..8], &400i64.to_be_bytes());
        assert_eq!(
            std::fs::metadata(dir.path().join("q").join("00000000000000000080"))
                .unwrap()
                .len(),
            80
        );
    }

    #[test]
    fn given_queue_starting_late_should_fill_front_with_blank_units() {
        let dir = tempfile::tempdir().unwrap();
        let queue = open_queue(dir.path());
        queue.put(6, unit(6)).unwrap();
        assert_eq!(queue.max_offset(), 7);
        assert_eq!(queue.min_offset(), 6);
        assert_eq!(queue.get(5), Some(CqUnit::BLANK));
        assert!(queue.get(2).is_none(), "the file starts at offset 4");
    }

    #[test]
    fn given_units_beyond_commit_log_end_when_recovered_should_drop_them() {
        let dir = tempfile::tempdir().unwrap();
        let queue = open_queue(dir.path());
        for offset in 0..6 {
            queue.put(offset, unit(offset)).unwrap();
        }
        drop(queue);
        let queue = open_queue(dir.path());
        assert_eq!(queue.recover(350).unwrap(), 3);
        queue.put(3, unit(3)).unwrap();
        assert_eq!(queue.max_offset(), 4);
    }

    #[test]
    fn given_a_clean_shutdown_should_find_the_end_by_search_and_fall_back_when_it_does_not_check_out()
     {
        for (units, log_end, expected) in [
            (0, 0, 0),
            (3, 300, 3),
            (4, 400, 4),
            (6, 600, 6),
            (7, 700, 7),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let queue = open_queue(dir.path());
            for offset in 0..units {
                queue.put(offset, unit(offset)).unwrap();
            }
            drop(queue);
            let queue = open_queue(dir.path());
            assert_eq!(
                queue.recover_clean(log_end).unwrap(),
                expected,
                "{units} units"
            );
            queue.put(expected, unit(expected)).unwrap();
            assert_eq!(queue.get(expected), Some(unit(expected)));
        }
        // The search trusts the files before the last one (a clean shutdown flushed them): a
        // unit damaged there is not looked at, where the full check would cut at it.
        let dir = tempfile::tempdir().unwrap();
        let queue = open_queue(dir.path());
        for offset in 0..7 {
            queue.put(offset, unit(offset)).unwrap();
        }
        let first = queue.files().files()[0].path().to_owned();
        drop(queue);
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[UNIT_BYTES + 8..UNIT_BYTES + 12].copy_from_slice(&(-5i32).to_be_bytes());
        std::fs::write(&first, &bytes).unwrap();
        assert_eq!(open_queue(dir.path()).recover_clean(700).unwrap(), 7);
        assert_eq!(open_queue(dir.path()).recover(700).unwrap(), 1);
        // The last unit points past the log's end: the full check cuts back to what it holds.
        let dir = tempfile::tempdir().unwrap();
        let queue = open_queue(dir.path());
        for offset in 0..6 {
            queue.put(offset, unit(offset)).unwrap();
        }
        drop(queue);
        let queue = open_queue(dir.path());
        assert_eq!(queue.recover_clean(350).unwrap(), 3);
        // An empty last file after a full one: the unit to check is the full file's last.
        let dir = tempfile::tempdir().unwrap();
        let queue = open_queue(dir.path());
        for offset in 0..4 {
            queue.put(offset, unit(offset)).unwrap();
        }
        let unit_bytes = i64::try_from(UNIT_BYTES).unwrap();
        queue.files().last_or_create(4 * unit_bytes).unwrap();
        assert_eq!(queue.files().files().len(), 2);
        drop(queue);
        let queue = open_queue(dir.path());
        assert_eq!(queue.recover_clean(350).unwrap(), 3);
    }

    #[test]
    fn given_a_new_queue_should_allocate_its_file_as_it_fills_not_whole() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let q = Quarantine::new(dir.path(), FileIo::default());
        let units = 300_000;
        let queue =
            ConsumeQueue::open(&dir.path().join("q"), units, (&FileIo::default(), &q)).unwrap();
        queue.put(0, unit(0)).unwrap();
        let path = queue.files().files()[0].path().to_owned();
        let allocated = || std::fs::metadata(&path).unwrap().blocks() * 512;
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            (units * UNIT_BYTES) as u64
        );
        assert!(
            allocated() <= 64 * 1024,
            "a new queue allocates a page, not 6 MB: {}",
            allocated()
        );
        for offset in 1..10_000 {
            queue.put(offset, unit(offset)).unwrap();
        }
        let grown = allocated();
        assert!(
            grown >= 10_000 * UNIT_BYTES as u64 && grown < 1 << 20,
            "{grown}"
        );
        drop(queue);
        let queue =
            ConsumeQueue::open(&dir.path().join("q"), units, (&FileIo::default(), &q)).unwrap();
        assert_eq!(queue.recover_clean(i64::MAX).unwrap(), 10_000);
        queue.put(10_000, unit(10_000)).unwrap();
        assert_eq!(queue.get(9_999), Some(unit(9_999)));
    }

    #[test]
    fn given_a_queue_offset_far_past_the_end_should_refuse_instead_of_filling_the_gap() {
        let dir = tempfile::tempdir().unwrap();
        let queue = open_queue(dir.path());
        queue.put(0, unit(0)).unwrap();
        let err = queue.put(1 << 40, unit(1)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
        assert!(queue.put(-5, unit(1)).is_err());
        assert_eq!(queue.max_offset(), 1);
        assert_eq!(
            queue.files().files().len(),
            1,
            "no file was created for the gap"
        );
        queue.put(3, unit(3)).unwrap();
        assert_eq!(
            queue.max_offset(),
            4,
            "a gap within one file is still filled"
        );
    }
}
