//! The raft log's file: records of `[len u32][crc32 u32][JSON]`, appended and fsynced in
//! order (votes, entries, truncations, purges and the committed id all go through the same
//! file, so no write overtakes an earlier one). Opening replays it and cuts a torn tail.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use openraft::{LogId, Vote};
use serde::{Deserialize, Serialize};

use super::{NodeId, TypeConfig};

/// A record bigger than this is damage, not data (controller events are small).
const RECORD_BYTES_MAX: usize = 16 << 20;

/// One change to the log's durable state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Record {
    Vote(Vote<NodeId>),
    Entry(openraft::Entry<TypeConfig>),
    /// Entries from this index on are gone.
    TruncateFrom(u64),
    /// Entries up to this id are gone (they are in a snapshot).
    PurgeUpTo(LogId<NodeId>),
    Committed(Option<LogId<NodeId>>),
}

/// The open log file.
pub struct Wal {
    path: PathBuf,
    file: File,
    size: u64,
}

fn encode(record: &Record, out: &mut Vec<u8>) -> io::Result<()> {
    let json = serde_json::to_vec(record).map_err(io::Error::other)?;
    let len = u32::try_from(json.len()).map_err(io::Error::other)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&json).to_be_bytes());
    out.extend_from_slice(&json);
    Ok(())
}

/// Reads whole, intact records; stops at the first short or damaged one and says where.
fn decode_all(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let Some(body) = bytes
            .get(at + 8..at + 8 + len)
            .filter(|_| len <= RECORD_BYTES_MAX)
        else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        let Ok(record) = serde_json::from_slice(body) else {
            break;
        };
        records.push(record);
        at += 8 + len;
    }
    (records, at)
}

/// Replaces `path` with `bytes` so that a crash leaves the old or the new content: a temp file
/// is written and synced, renamed over `path`, and the directory synced.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    {
        let mut f = File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&temp, path)?;
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

impl Wal {
    /// Opens (or creates) the file and returns its intact records. A torn or damaged tail is
    /// cut off: nothing after it was ever reported durable in order.
    pub fn open(path: &Path) -> io::Result<(Self, Vec<Record>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (records, good) = decode_all(&bytes);
        if good < bytes.len() {
            tracing::warn!(path = %path.display(), kept = good, dropped = bytes.len() - good, "controller raft log: cutting a torn or damaged tail");
            file.set_len(good as u64)?;
            file.sync_all()?;
        }
        let wal = Self {
            path: path.to_owned(),
            file,
            size: good as u64,
        };
        Ok((wal, records))
    }

    /// Appends records and makes them durable before returning.
    pub fn append(&mut self, records: &[Record]) -> io::Result<()> {
        let mut out = Vec::new();
        for record in records {
            encode(record, &mut out)?;
        }
        self.file.write_all(&out)?;
        self.file.sync_data()?;
        self.size += out.len() as u64;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Replaces the whole file with `records` (compaction): a new file is written and synced,
    /// then renamed over the old one, so a crash leaves one or the other.
    pub fn rewrite(&mut self, records: &[Record]) -> io::Result<()> {
        let mut out = Vec::new();
        for record in records {
            encode(record, &mut out)?;
        }
        replace_file(&self.path, &out)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.size = out.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_torn_tail_should_keep_whole_records_and_cut_the_rest() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("raft.wal");
        let (mut wal, records) = Wal::open(&path).expect("open");
        assert!(records.is_empty());
        wal.append(&[Record::TruncateFrom(3), Record::Committed(None)])
            .expect("append");
        let whole = std::fs::metadata(&path).expect("meta").len();
        drop(wal);
        let mut f = OpenOptions::new().append(true).open(&path).expect("f");
        f.write_all(&[0, 0, 0, 50, 1, 2]).expect("torn");
        drop(f);
        let (wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records.len(), 2);
        assert_eq!(wal.size(), whole);
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), whole);
    }

    #[test]
    fn given_flipped_byte_should_stop_at_the_damaged_record() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("raft.wal");
        let (mut wal, _) = Wal::open(&path).expect("open");
        wal.append(&[Record::TruncateFrom(1)]).expect("a");
        let first = wal.size();
        wal.append(&[Record::TruncateFrom(2)]).expect("b");
        drop(wal);
        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).expect("write");
        let (wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records.len(), 1);
        assert_eq!(wal.size(), first);
    }
}
