//! The `timerlog/` directory: fixed-size files named by their start position (20 digits, as
//! the CommitLog), holding 52-byte units in RocketMQ's layout (`TimerLog`, REMOTING.md §6.7):
//!
//! ```text
//! i32 size (52) · i64 prev pos · i32 magic · i64 write time · i32 delay · i64 commit-log
//! offset · i32 record size · i32 real-topic hash · i64 reserved
//! ```
//!
//! Apogee writes -1 as the previous position (it keeps no on-disk wheel: the pending set is
//! rebuilt from this log) and the absolute time the unit pops in the reserved field, because
//! the i32 delay overflows past 24.8 days and Apogee accepts up to 40. A unit with
//! `MAGIC_ROLL` pops before the message is due, to store it again (see the broker's timer). A file ends with a 16-byte
//! blank marker (size, 0, `BLANK_MAGIC`) when the next unit does not fit, as in Java.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes per unit.
pub const UNIT_SIZE: usize = 52;
/// Java's `TimerLog.BLANK_MAGIC_CODE` (`0xBBCCDDEE ^ 1880681586 + 8`, `+` binding first).
pub const BLANK_MAGIC: i32 = (0xBBCC_DDEE_u32 as i32) ^ (1_880_681_586 + 8);
const MIN_BLANK: usize = 4 + 8 + 4;
/// A timer to deliver.
pub const MAGIC_DEFAULT: i32 = 1;
/// A timer re-enqueued (Java's roll; Apogee's compaction).
pub const MAGIC_ROLL: i32 = 1 << 1;
/// A cancellation (`TIMER_DEL_UNIQKEY`).
pub const MAGIC_DELETE: i32 = 1 << 2;

/// One unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerUnit {
    pub magic: i32,
    /// When it was enqueued, ms.
    pub write_ms: i64,
    /// When it is due, ms (absolute).
    pub deliver_ms: i64,
    /// The timer message on `rmq_sys_wheel_timer` in the CommitLog.
    pub commit_offset: i64,
    pub size: i32,
    pub topic_hash: i32,
}

impl TimerUnit {
    pub fn is_delete(&self) -> bool {
        self.magic & MAGIC_DELETE != 0
    }

    /// A roll: at `deliver_ms` the message is stored again on the timer topic, not delivered.
    pub fn is_roll(&self) -> bool {
        self.magic & MAGIC_ROLL != 0
    }

    pub fn encode(&self) -> [u8; UNIT_SIZE] {
        let mut out = [0u8; UNIT_SIZE];
        let delay = i32::try_from(self.deliver_ms - self.write_ms).unwrap_or(i32::MAX);
        let fields: [&[u8]; 9] = [
            &(UNIT_SIZE as i32).to_be_bytes(),
            &(-1i64).to_be_bytes(),
            &self.magic.to_be_bytes(),
            &self.write_ms.to_be_bytes(),
            &delay.to_be_bytes(),
            &self.commit_offset.to_be_bytes(),
            &self.size.to_be_bytes(),
            &self.topic_hash.to_be_bytes(),
            &self.deliver_ms.to_be_bytes(),
        ];
        let mut at = 0;
        for field in fields {
            out[at..at + field.len()].copy_from_slice(field);
            at += field.len();
        }
        out
    }

    /// A unit, or `None` when the bytes are not one (a blank, zeros, garbage).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; UNIT_SIZE] = bytes.get(..UNIT_SIZE)?.try_into().ok()?;
        let i32_at = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        let i64_at = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        if i32_at(0) != UNIT_SIZE as i32 {
            return None;
        }
        let magic = i32_at(12);
        if magic & (MAGIC_DEFAULT | MAGIC_ROLL | MAGIC_DELETE) == 0 {
            return None;
        }
        let write_ms = i64_at(16);
        let reserved = i64_at(44);
        // A Java unit has 0 in reserved: its delivery time is write time + delay.
        let deliver_ms = if reserved > 0 {
            reserved
        } else {
            write_ms.saturating_add(i64::from(i32_at(24)))
        };
        Some(Self {
            magic,
            write_ms,
            deliver_ms,
            commit_offset: i64_at(28),
            size: i32_at(36),
            topic_hash: i32_at(40),
        })
    }
}

/// The log's files.
pub struct TimerLog {
    dir: PathBuf,
    file_bytes: usize,
    /// Start position → path of every file.
    files: BTreeMap<i64, PathBuf>,
    current: Option<(i64, File)>,
    /// Global position of the next unit.
    write_pos: i64,
    /// Files filled since the last flush (synced then).
    unsynced: Vec<File>,
}

impl TimerLog {
    /// Opens `dir`, keeps what lies before `flushed_pos` (the checkpoint's), drops the rest,
    /// and returns the units `keep` accepts, with their positions (so recovery holds only the
    /// pending ones in memory). Files may be missing between others: drained files are
    /// deleted wherever they are.
    pub fn open(
        dir: &Path,
        file_bytes: usize,
        flushed_pos: i64,
        keep: &dyn Fn(&TimerUnit) -> bool,
    ) -> io::Result<(Self, Vec<(i64, TimerUnit)>)> {
        std::fs::create_dir_all(dir)?;
        let file_bytes = file_bytes.max(UNIT_SIZE + MIN_BLANK);
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let start = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<i64>().ok());
            match start {
                Some(start) if start >= 0 => {
                    files.insert(start, path);
                }
                _ => tracing::warn!(path = %path.display(), "stray file in timerlog/ ignored"),
            }
        }
        let mut log = Self {
            dir: dir.to_owned(),
            file_bytes,
            files,
            current: None,
            write_pos: 0,
            unsynced: Vec::new(),
        };
        let units = log.recover(flushed_pos, keep)?;
        Ok((log, units))
    }

    /// Reads every file up to `flushed_pos`; truncates and deletes what lies beyond.
    fn recover(
        &mut self,
        flushed_pos: i64,
        keep: &dyn Fn(&TimerUnit) -> bool,
    ) -> io::Result<Vec<(i64, TimerUnit)>> {
        let mut units = Vec::new();
        let mut end = self.files.keys().next().copied().unwrap_or(0);
        let starts: Vec<i64> = self.files.keys().copied().collect();
        for start in starts {
            // A file starting before where the last one ended overlaps it: not one of ours.
            if start > flushed_pos || start < end {
                self.remove_file(start)?;
                continue;
            }
            let path = self.files[&start].clone();
            let mut bytes = Vec::new();
            File::open(&path)?.read_to_end(&mut bytes)?;
            let limit = usize::try_from(flushed_pos - start)
                .unwrap_or(0)
                .min(bytes.len());
            let (kept, full) = scan(&bytes[..limit], start, &mut units, keep);
            end = start + i64::try_from(kept).unwrap_or(0);
            if full {
                end = start + i64::try_from(self.file_bytes).unwrap_or(i64::MAX);
                continue;
            }
            let file = OpenOptions::new().read(true).write(true).open(&path)?;
            file.set_len(u64::try_from(kept).unwrap_or(0))?;
            file.sync_all()?;
            self.current = Some((start, file));
        }
        self.write_pos = end;
        Ok(units)
    }

    fn remove_file(&mut self, start: i64) -> io::Result<()> {
        if let Some(path) = self.files.remove(&start) {
            std::fs::remove_file(path)?;
        }
        Ok(())
    }

    /// Position of the next unit.
    pub fn write_pos(&self) -> i64 {
        self.write_pos
    }

    /// Appends a unit; returns its position.
    pub fn append(&mut self, unit: &TimerUnit) -> io::Result<i64> {
        let file_bytes = i64::try_from(self.file_bytes).unwrap_or(i64::MAX);
        let unit_len = i64::try_from(UNIT_SIZE).unwrap_or(0);
        let blank = i64::try_from(MIN_BLANK).unwrap_or(0);
        let (start, file) = match self.current.take() {
            Some((start, file)) if self.write_pos - start + unit_len + blank <= file_bytes => {
                (start, file)
            }
            Some((start, file)) => {
                let at = self.write_pos - start;
                let mut marker = [0u8; MIN_BLANK];
                marker[..4]
                    .copy_from_slice(&i32::try_from(file_bytes - at).unwrap_or(0).to_be_bytes());
                marker[12..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
                file.write_all_at(&marker, u64::try_from(at).unwrap_or(0))?;
                self.unsynced.push(file);
                self.new_file(start + file_bytes)?
            }
            None => self.new_file(self.write_pos)?,
        };
        let at = self.write_pos - start;
        file.write_all_at(&unit.encode(), u64::try_from(at).unwrap_or(0))?;
        let pos = self.write_pos;
        self.write_pos += unit_len;
        self.current = Some((start, file));
        Ok(pos)
    }

    fn new_file(&mut self, start: i64) -> io::Result<(i64, File)> {
        let path = self.dir.join(format!("{start:020}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        // The new name must survive a power loss with the units written into it.
        File::open(&self.dir)?.sync_all()?;
        self.files.insert(start, path);
        self.write_pos = start;
        Ok((start, file))
    }

    /// Makes every unit appended so far durable; returns the position reached.
    pub fn flush(&mut self) -> io::Result<i64> {
        for file in self.unsynced.drain(..) {
            file.sync_data()?;
        }
        if let Some((_, file)) = &self.current {
            file.sync_data()?;
        }
        Ok(self.write_pos)
    }

    /// Start positions of the files, oldest first.
    pub fn file_starts(&self) -> Vec<i64> {
        self.files.keys().copied().collect()
    }

    /// The start of the file holding `pos`.
    pub fn file_of(&self, pos: i64) -> i64 {
        self.files
            .range(..=pos)
            .next_back()
            .map_or(0, |(start, _)| *start)
    }

    /// Deletes a file that is not the one being written.
    pub fn delete_file(&mut self, start: i64) -> io::Result<()> {
        if self.current.as_ref().is_some_and(|(s, _)| *s == start) {
            return Ok(());
        }
        self.remove_file(start)
    }
}

/// Units of one file's bytes; returns how many bytes hold units and whether the file ended
/// with a blank marker (it is full).
fn scan(
    bytes: &[u8],
    start: i64,
    units: &mut Vec<(i64, TimerUnit)>,
    keep: &dyn Fn(&TimerUnit) -> bool,
) -> (usize, bool) {
    let mut at = 0;
    while at + MIN_BLANK <= bytes.len() {
        if let Some(unit) = TimerUnit::decode(&bytes[at..]) {
            if keep(&unit) {
                units.push((start + i64::try_from(at).unwrap_or(0), unit));
            }
            at += UNIT_SIZE;
            continue;
        }
        let magic = i32::from_be_bytes(bytes[at + 12..at + 16].try_into().unwrap_or([0; 4]));
        return (at, magic == BLANK_MAGIC);
    }
    (at, false)
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
