//! IndexFile (REMOTING.md §6.4): a hash index from message key to CommitLog offset, so a
//! message can be found by `KEYS` or `UNIQ_KEY`. Layout per file:
//!
//! ```text
//! header 40 B: beginTs i64 · endTs i64 · beginPhy i64 · endPhy i64 · slotsUsed i32 · indexCount i32
//! slots  N×4 B: newest entry number per slot (0 = empty)
//! entries M×20 B: keyHash i32 · phyOffset i64 · timeDiff s i32 · previous entry i32
//! ```
//! Keys are `topic#UNIQ_KEY` and `topic#key` per space-separated `KEYS` token. A file holds
//! one mapping behind a RwLock: the reput thread writes, queries read in bounded steps, and
//! the flush (msync) takes no lock at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use apogee_protocol::record::{java_string_hash, java_string_hash_continue, sys_flag};

use crate::StoreError;
use crate::dispatch::{DispatchRequest, Dispatcher};
use crate::io::FileIo;
use crate::mapped_file::RandomAccessMap;

const HEADER_BYTES: usize = 40;
const ENTRY_BYTES: usize = 20;

/// Index sizing (Java: 5,000,000 slots, 20,000,000 entries per file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSizing {
    pub slots: usize,
    pub entries: usize,
}

impl Default for IndexSizing {
    fn default() -> Self {
        Self {
            slots: 5_000_000,
            entries: 20_000_000,
        }
    }
}

impl IndexSizing {
    fn file_bytes(self) -> usize {
        HEADER_BYTES + self.slots * 4 + self.entries * ENTRY_BYTES
    }
}

struct IndexFile {
    map: RandomAccessMap,
    sizing: IndexSizing,
    /// Entry count when last flushed: a full file flushed once is never flushed again.
    flushed_entries: std::sync::atomic::AtomicI32,
}

fn get_i32(map: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(map[at..at + 4].try_into().unwrap_or([0; 4]))
}

fn get_i64(map: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(map[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// `abs(String.hashCode(key))`, 0 when that overflows.
pub fn key_hash(key: &str) -> i32 {
    java_string_hash(key).checked_abs().unwrap_or(0)
}

/// [`key_hash`] of the index key `<topic>#<key>`, without building it (per indexed key).
pub fn topic_key_hash(topic: &str, key: &str) -> i32 {
    let hash =
        java_string_hash_continue(java_string_hash_continue(java_string_hash(topic), "#"), key);
    hash.checked_abs().unwrap_or(0)
}

/// Hash-chain steps a query takes per hold of a file's read lock; between holds the writer
/// gets its turn (entries never change once written, so the walk can resume).
const QUERY_STEPS_PER_LOCK: usize = 4096;

impl IndexFile {
    fn open(path: &Path, sizing: IndexSizing, io: &FileIo) -> Result<Self, StoreError> {
        let map = RandomAccessMap::open(path, sizing.file_bytes(), io)
            .map_err(StoreError::io(path.display().to_string()))?;
        let fresh = map.write(|map| {
            let fresh = get_i32(map, 36) == 0;
            if fresh {
                map[36..40].copy_from_slice(&1i32.to_be_bytes());
            }
            fresh
        });
        if fresh {
            // A new file's hash slots are written at random from its first key on (20 MB at
            // the default sizing): brought into the page cache in one call rather than by a
            // page fault each over the first minutes of traffic.
            map.prefetch(HEADER_BYTES + sizing.slots * 4);
        }
        Ok(Self {
            map,
            sizing,
            flushed_entries: std::sync::atomic::AtomicI32::new(0),
        })
    }

    fn path(&self) -> &Path {
        self.map.path()
    }

    fn entry_count(&self) -> i32 {
        self.map.read(|map| get_i32(map, 36))
    }

    fn is_full(&self) -> bool {
        usize::try_from(self.entry_count()).unwrap_or(usize::MAX) >= self.sizing.entries
    }

    fn end_phy(&self) -> i64 {
        self.map.read(|map| get_i64(map, 24))
    }

    fn time_range(&self) -> (i64, i64) {
        self.map.read(|map| (get_i64(map, 0), get_i64(map, 8)))
    }

    /// Adds one key by its [`key_hash`]; false when the file is full.
    fn put(&self, hash: i32, phy: i64, store_ts: i64) -> bool {
        let slots = self.sizing.slots;
        let entries = self.sizing.entries;
        self.map.write(|map| {
            let count = get_i32(map, 36);
            let Ok(entry_no) = usize::try_from(count) else {
                return false;
            };
            if entry_no >= entries {
                return false;
            }
            let slot_at = HEADER_BYTES + usize::try_from(hash).unwrap_or(0) % slots * 4;
            let previous = get_i32(map, slot_at);
            if count == 1 {
                map[0..8].copy_from_slice(&store_ts.to_be_bytes());
                map[16..24].copy_from_slice(&phy.to_be_bytes());
            }
            let begin = get_i64(map, 0);
            let diff = i32::try_from(
                (store_ts.saturating_sub(begin) / 1000).clamp(0, i64::from(i32::MAX)),
            )
            .unwrap_or(i32::MAX);
            let at = HEADER_BYTES + slots * 4 + entry_no * ENTRY_BYTES;
            map[at..at + 4].copy_from_slice(&hash.to_be_bytes());
            map[at + 4..at + 12].copy_from_slice(&phy.to_be_bytes());
            map[at + 12..at + 16].copy_from_slice(&diff.to_be_bytes());
            map[at + 16..at + 20].copy_from_slice(&previous.to_be_bytes());
            map[slot_at..slot_at + 4].copy_from_slice(&count.to_be_bytes());
            if previous == 0 {
                let used = get_i32(map, 32).saturating_add(1);
                map[32..36].copy_from_slice(&used.to_be_bytes());
            }
            map[36..40].copy_from_slice(&(count + 1).to_be_bytes());
            map[8..16].copy_from_slice(&store_ts.to_be_bytes());
            map[24..32].copy_from_slice(&phy.to_be_bytes());
            true
        })
    }

    /// Walks the key's hash chain, newest entry first, collecting offsets stored within
    /// `range`; stops at `max` results, at the first entry older than the range (entries are
    /// written in store order), or at a broken link.
    fn query(&self, key: &str, range: (i64, i64), max: usize, out: &mut BTreeSet<i64>) {
        let hash = key_hash(key);
        let (slots, entries) = (self.sizing.slots, self.sizing.entries);
        let slot_at = HEADER_BYTES + usize::try_from(hash).unwrap_or(0) % slots * 4;
        let mut entry = self.map.read(|map| get_i32(map, slot_at));
        let mut hops = 0;
        while entry > 0 && out.len() < max && hops < entries {
            entry = self.map.read(|map| {
                let begin = get_i64(map, 0);
                for _ in 0..QUERY_STEPS_PER_LOCK {
                    let Ok(n) = usize::try_from(entry) else {
                        return 0;
                    };
                    if n == 0 || n >= entries || out.len() >= max || hops >= entries {
                        return 0;
                    }
                    let at = HEADER_BYTES + slots * 4 + n * ENTRY_BYTES;
                    let time = begin.saturating_add(i64::from(get_i32(map, at + 12)) * 1000);
                    if time < range.0 - 1000 {
                        return 0;
                    }
                    if get_i32(map, at) == hash && time >= range.0 && time <= range.1 {
                        out.insert(get_i64(map, at + 4));
                    }
                    let previous = get_i32(map, at + 16);
                    if previous >= entry {
                        return 0;
                    }
                    entry = previous;
                    hops += 1;
                }
                entry
            });
        }
    }

    /// Writes the file back unless nothing was added since the last flush.
    fn flush(&self) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        let count = self.entry_count();
        if self.flushed_entries.load(Ordering::Acquire) == count {
            return Ok(());
        }
        self.map.flush()?;
        self.flushed_entries.store(count, Ordering::Release);
        Ok(())
    }
}

/// All index files of a store; also the dispatcher that fills them.
pub struct IndexService {
    dir: PathBuf,
    sizing: IndexSizing,
    files: RwLock<Vec<Arc<IndexFile>>>,
    clock: Arc<dyn apogee_runtime::Clock>,
    io: FileIo,
}

/// File name: creation time as `yyyyMMddHHmmssSSS` (UTC here; Java uses local time and only
/// sorts by name).
fn file_name(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// The instant a file name stands for (the inverse of [`file_name`]); `None` if it is not one.
fn name_ms(name: &str) -> Option<i64> {
    if name.len() != 17 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| name[range].parse::<i64>().ok();
    let (y, m, d) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (h, min, sec, ms) = (
        field(8..10)?,
        field(10..12)?,
        field(12..14)?,
        field(14..17)?,
    );
    Some(days_from_civil(y, m, d) * 86_400_000 + h * 3_600_000 + min * 60_000 + sec * 1000 + ms)
}

/// A proleptic Gregorian date to days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The name of a new index file created at `now_ms`: its creation time, or one millisecond
/// past the newest file's when the clock is behind that (names must keep increasing; a
/// clock set back a day must not cost a day of one-millisecond steps).
fn next_file_name(now_ms: i64, last: Option<&str>) -> String {
    match last.and_then(name_ms) {
        Some(last_ms) if last_ms >= now_ms => file_name(last_ms + 1),
        _ => file_name(now_ms),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl IndexService {
    pub fn open(
        dir: &Path,
        sizing: IndexSizing,
        clock: Arc<dyn apogee_runtime::Clock>,
        io: FileIo,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::io(dir.display().to_string()))?;
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(StoreError::io(dir.display().to_string()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| name_ms(n).is_some())
            })
            .collect();
        names.sort();
        let files = names
            .iter()
            .map(|p| IndexFile::open(p, sizing, &io).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            dir: dir.to_owned(),
            sizing,
            files: RwLock::new(files),
            clock,
            io,
        })
    }

    fn writable(&self) -> Result<Arc<IndexFile>, StoreError> {
        if let Some(last) = self
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .filter(|f| !f.is_full())
        {
            return Ok(Arc::clone(last));
        }
        let last_name = self
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .and_then(|f| {
                f.path()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            });
        let name = next_file_name(self.clock.now_ms(), last_name.as_deref());
        // Created (allocated, synced) before the list's write lock is taken.
        let file = Arc::new(IndexFile::open(
            &self.dir.join(name),
            self.sizing,
            &self.io,
        )?);
        let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = files.last().filter(|f| !f.is_full()) {
            return Ok(Arc::clone(last));
        }
        files.push(Arc::clone(&file));
        Ok(file)
    }

    fn put(&self, hash: i32, phy: i64, store_ts: i64) -> Result<(), StoreError> {
        if !self.writable()?.put(hash, phy, store_ts) {
            let file = self.writable()?;
            file.put(hash, phy, store_ts);
        }
        Ok(())
    }

    /// CommitLog offsets of messages of `topic` with `key`, stored within `[begin_ms, end_ms]`,
    /// newest files first, at most `max`. Hash collisions are possible: callers re-check keys.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<i64> {
        let full_key = format!("{topic}#{key}");
        let mut found = BTreeSet::new();
        let files = self
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for file in files.iter().rev() {
            let (begin, end) = file.time_range();
            if end >= begin_ms && begin <= end_ms {
                file.query(&full_key, (begin_ms, end_ms), max, &mut found);
            }
            if found.len() >= max {
                break;
            }
        }
        found.into_iter().collect()
    }

    /// Deletes index files whose every entry is older than `commit_log_min` (retention).
    pub fn delete_before(&self, commit_log_min: i64) -> usize {
        let removed: Vec<Arc<IndexFile>> = {
            let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
            let mut count = 0;
            while count + 1 < files.len() && files[count].end_phy() < commit_log_min {
                count += 1;
            }
            files.drain(..count).collect()
        };
        // Unlinked (and unmapped, once no query holds them) outside the list's lock.
        for file in &removed {
            if let Err(e) = self.io.remove(file.path()) {
                tracing::warn!(file = %file.path().display(), error = %e, "cannot delete an index file");
            }
        }
        removed.len()
    }
}

/// The keys a record is indexed under: its unique key, then each of its `KEYS`; none for a
/// rolled-back transactional record.
fn index_keys(request: &DispatchRequest) -> impl Iterator<Item = &str> {
    let indexed = request.sys_flag & sys_flag::TRANSACTION_MASK != sys_flag::TRANSACTION_ROLLBACK;
    let uniq = request.uniq_key.as_deref().into_iter();
    let keys = request.keys.as_deref().unwrap_or("").split(' ');
    uniq.chain(keys).filter(move |k| indexed && !k.is_empty())
}

impl Dispatcher for IndexService {
    fn ready(&self, request: &DispatchRequest) -> bool {
        let needed = index_keys(request).count();
        if needed == 0 {
            return true;
        }
        // Room in the last file for every key of the record: no new file on the way.
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .is_some_and(|f| {
                usize::try_from(f.entry_count())
                    .unwrap_or(usize::MAX)
                    .saturating_add(needed)
                    <= f.sizing.entries
            })
    }

    fn dispatch(&self, request: &DispatchRequest) -> Result<(), StoreError> {
        for key in index_keys(request) {
            self.put(
                topic_key_hash(&request.topic, key),
                request.commit_log_offset,
                request.store_timestamp,
            )?;
        }
        Ok(())
    }

    fn flush(&self) -> std::io::Result<()> {
        for file in self
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            file.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
