//! The epoch file (RocketMQ's `epochFileCheckpoint`, docs/controller-facts.md §6): under which
//! master epoch each stretch of the CommitLog was written, and the common point two logs share
//! (where a demoted master must cut its log before it follows the new one).
//!
//! File format, as Java writes it: `<count>\n<crc>\n` then `<epoch>-<startOffset>\n` per entry
//! in ascending order; the CRC is CRC32 of the entry lines masked with `0x7FFFFFFF` (0 turns the
//! check off). The previous content is kept as `.bak` and read when the file is damaged.

use std::io::Write;
use std::path::{Path, PathBuf};

use apogee_protocol::body::controller::EpochEntry;

/// Epoch → start offset, ascending in both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochCache {
    entries: Vec<(i32, i64)>,
}

fn encode(entries: &[(i32, i64)]) -> String {
    let lines: String = entries.iter().map(|(e, s)| format!("{e}-{s}\n")).collect();
    let crc = crc32fast::hash(lines.as_bytes()) & 0x7FFF_FFFF;
    format!("{}\n{crc}\n{lines}", entries.len())
}

fn decode(text: &str) -> Option<Vec<(i32, i64)>> {
    let mut lines = text.lines();
    let count: usize = lines.next()?.trim().parse().ok()?;
    let crc: u32 = lines.next()?.trim().parse().ok()?;
    let mut entries = Vec::with_capacity(count.min(10_000));
    let mut body = String::new();
    for line in lines.take(count) {
        let (e, s) = line.trim().split_once('-')?;
        entries.push((e.parse().ok()?, s.parse().ok()?));
        body.push_str(line.trim());
        body.push('\n');
    }
    let valid_order = entries
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
    (entries.len() == count
        && valid_order
        && (crc == 0 || crc32fast::hash(body.as_bytes()) & 0x7FFF_FFFF == crc))
        .then_some(entries)
}

fn backup(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

impl EpochCache {
    /// Reads the file, or its `.bak` when the file is missing or damaged; empty when neither
    /// is readable (a broker that never took part in controller mode).
    pub fn load(path: &Path) -> Self {
        for candidate in [path.to_path_buf(), backup(path)] {
            if let Some(entries) = std::fs::read_to_string(&candidate)
                .ok()
                .and_then(|t| decode(&t))
            {
                return Self { entries };
            }
        }
        Self::default()
    }

    /// Writes the file durably, the old content kept as `.bak` (Java skips writing an empty
    /// list, so a full truncation comes back after a restart; Apogee writes it).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if path.exists() {
            std::fs::copy(path, backup(path))?;
        }
        let mut temp = path.as_os_str().to_owned();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        {
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(encode(&self.entries).as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&temp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    pub fn entries(&self) -> &[(i32, i64)] {
        &self.entries
    }

    /// The newest epoch (0 when none).
    pub fn last_epoch(&self) -> i32 {
        self.entries.last().map_or(0, |e| e.0)
    }

    /// Records that writing under `epoch` starts at `start`. Refused (false, nothing changed)
    /// when `epoch` is older than the newest kept: a stale role change. Entries of this epoch
    /// and entries starting past `start` are dropped first (the same broker elected again, or
    /// a cut log).
    pub fn begin(&mut self, epoch: i32, start: i64) -> bool {
        if epoch < self.last_epoch() {
            return false;
        }
        self.entries.retain(|(e, s)| *e < epoch && *s <= start);
        self.entries.push((epoch, start));
        true
    }

    /// Drops entries that start at or past `end` (the log was cut there).
    pub fn cut(&mut self, end: i64) {
        self.entries.retain(|(_, s)| *s < end);
    }

    /// Takes the master's history for the part of the log this replica holds (its bytes below
    /// `end` are the master's bytes, so the master's epochs describe them).
    pub fn adopt(&mut self, master: &[(i32, i64)], end: i64) {
        let adopted: Vec<_> = master.iter().copied().filter(|(_, s)| *s <= end).collect();
        if !adopted.is_empty() {
            self.entries = adopted;
        }
    }

    /// The epoch `offset` was written under: (epoch, its start, where the next epoch starts).
    pub fn span_at(&self, offset: i64) -> Option<(i32, i64, Option<i64>)> {
        let i = self.entries.iter().rposition(|(_, s)| *s <= offset)?;
        let (epoch, start) = self.entries[i];
        Some((epoch, start, self.entries.get(i + 1).map(|e| e.1)))
    }

    /// GET_BROKER_EPOCH_CACHE's list: each entry ends where the next starts, the last at
    /// `max_offset` (mqadmin prints that; Java's own answer says Long.MAX_VALUE).
    pub fn to_wire(&self, max_offset: i64) -> Vec<EpochEntry> {
        let mut out: Vec<EpochEntry> = self
            .entries
            .iter()
            .map(|(epoch, start)| EpochEntry {
                epoch: *epoch,
                start_offset: *start,
                end_offset: i64::MAX,
            })
            .collect();
        for i in 1..out.len() {
            out[i - 1].end_offset = out[i].start_offset;
        }
        if let Some(last) = out.last_mut() {
            last.end_offset = max_offset.max(last.start_offset);
        }
        out
    }
}

/// The epoch file shared by the HA tasks and the role changes; every change is saved before
/// it is visible.
pub struct SharedEpochs {
    cache: std::sync::Mutex<EpochCache>,
    path: PathBuf,
}

impl SharedEpochs {
    pub fn open(path: &Path) -> Self {
        Self {
            cache: std::sync::Mutex::new(EpochCache::load(path)),
            path: path.to_owned(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EpochCache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> EpochCache {
        self.lock().clone()
    }

    pub fn last_epoch(&self) -> i32 {
        self.lock().last_epoch()
    }

    /// Changes the cache with `f` and saves it when it changed (rare: role changes and new
    /// epochs, so the fsync under the lock does not matter).
    pub fn update<R>(&self, f: impl FnOnce(&mut EpochCache) -> R) -> std::io::Result<R> {
        let mut cache = self.lock();
        let mut next = cache.clone();
        let out = f(&mut next);
        if next != *cache {
            next.save(&self.path)?;
            *cache = next;
        }
        Ok(out)
    }
}

/// Where a replica's log and its master's agree up to (RocketMQ's `findLastConsistentPoint`):
/// walking the replica's epochs newest first, the first one the master also has with the same
/// start offset; the point is the smaller of the two ends of that epoch. `None` when they share
/// no epoch (the logs have nothing provably in common: an operator must decide). An empty
/// replica history, or an empty log, agrees everywhere (nothing to cut).
pub fn common_point(
    local: &EpochCache,
    local_max: i64,
    master: &[(i32, i64)],
    master_max: i64,
) -> Option<i64> {
    if local.entries.is_empty() || local_max == 0 {
        return Some(local_max);
    }
    let end_of =
        |entries: &[(i32, i64)], i: usize, max: i64| entries.get(i + 1).map_or(max, |next| next.1);
    for (i, (epoch, start)) in local.entries.iter().enumerate().rev() {
        if let Some(j) = master.iter().position(|(e, s)| e == epoch && s == start) {
            let local_end = end_of(&local.entries, i, local_max);
            let master_end = end_of(master, j, master_max);
            return Some(local_end.min(master_end));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> EpochCache {
        EpochCache {
            entries: entries.to_vec(),
        }
    }

    #[test]
    fn given_java_text_should_read_it_and_write_it_back_byte_for_byte() {
        let lines = "1-0\n3-4096\n";
        let crc = crc32fast::hash(lines.as_bytes()) & 0x7FFF_FFFF;
        let text = format!("2\n{crc}\n{lines}");
        let entries = decode(&text).expect("valid");
        assert_eq!(entries, vec![(1, 0), (3, 4096)]);
        assert_eq!(encode(&entries), text);
        assert!(decode(&text.replace("4096", "4097")).is_none(), "crc");
        assert!(
            decode(&format!("2\n0\n{lines}")).is_some(),
            "crc 0 is not checked"
        );
    }

    #[test]
    fn given_damaged_file_should_fall_back_to_the_backup() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("epochFileCheckpoint");
        cache(&[(1, 0)]).save(&path).expect("save");
        cache(&[(1, 0), (2, 100)]).save(&path).expect("save");
        std::fs::write(&path, "2\n1\ngarbage").expect("damage");
        assert_eq!(EpochCache::load(&path), cache(&[(1, 0)]));
    }

    #[test]
    fn given_the_old_master_rejoins_it_cuts_where_the_new_master_took_over() {
        // Old master wrote epoch 1 up to 900; the slave had 600 when it became master in 2.
        let old = cache(&[(1, 0)]);
        let new = [(1, 0), (2, 600)];
        assert_eq!(common_point(&old, 900, &new, 1500), Some(600));
        // A slave that is behind the new master's start has nothing to cut.
        assert_eq!(common_point(&old, 400, &new, 1500), Some(400));
        // Unrelated histories share nothing.
        assert_eq!(common_point(&cache(&[(5, 0)]), 10, &new, 1500), None);
        assert_eq!(
            common_point(&EpochCache::default(), 10, &new, 1500),
            Some(10)
        );
    }

    #[test]
    fn given_a_re_election_begin_drops_newer_or_later_entries() {
        let mut c = cache(&[(1, 0), (3, 500)]);
        assert!(c.begin(4, 800));
        assert_eq!(c.entries(), &[(1, 0), (3, 500), (4, 800)]);
        assert!(c.begin(5, 300), "a cut log: entries past 300 go");
        assert_eq!(c.entries(), &[(1, 0), (5, 300)]);
        assert!(!c.begin(4, 900), "an older epoch is a stale role change");
        assert_eq!(c.entries(), &[(1, 0), (5, 300)]);
        let wire = c.to_wire(900);
        assert_eq!((wire[0].end_offset, wire[1].end_offset), (300, 900));
    }
}
