//! `config/topics.journal`: every change of the topic table appended as one line, so an admin
//! create is durable after one small `fdatasync` instead of a rewrite of the whole
//! `topics.json` (with 10,000 topics that file is megabytes, and rewriting it per create made
//! creating them one by one quadratic). `topics.json` stays the file RocketMQ's tools read:
//! the table's writer thread still saves it whole, at most once a second, and empties the
//! journal once a save covers every line in it.
//!
//! A line is `<crc32 of the JSON, 8 hex digits> <JSON>\n`; the JSON is `{"put":<TopicConfig>}`
//! or `{"delete":"<topic>"}`. Loading reads lines until the first that is torn or does not
//! match its checksum and cuts the file there. Replaying lines the last `topics.json` already
//! holds is harmless: each line sets a topic's whole state, so applying a suffix of the history
//! again on a later table ends in the same table.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use apogee_model::TopicConfig;
use serde::{Deserialize, Serialize};

use crate::BrokerError;
use crate::persist::SaveHook;

/// One change of the topic table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Record {
    Put(TopicConfig),
    Delete(String),
}

/// The journal file; appends are ordered by [`TopicJournal::lock`].
pub struct TopicJournal {
    path: PathBuf,
    file: Mutex<Appender>,
    /// A second handle on the same file for `fdatasync` with no lock held.
    sync_handle: File,
}

/// The journal's end, held while a change is applied and appended (one order for both).
pub struct Appender {
    file: File,
    len: u64,
    /// A failed append could not be cut back off: nothing more may be appended after it (a
    /// replay stops at the first bad line, so later lines would be lost).
    broken: bool,
}

/// A journal line longer than this is not one the broker wrote.
const LINE_MAX: usize = 1 << 20;

impl TopicJournal {
    /// Opens (or creates) the journal and returns the changes it holds, in order. A torn or
    /// corrupt tail is cut off.
    pub fn open(path: &Path) -> Result<(Self, Vec<Record>), BrokerError> {
        let err = |source| BrokerError::Persist {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(err)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(err)?;
        let (records, good) = parse(&bytes);
        if good < bytes.len() {
            tracing::warn!(path = %path.display(), kept = good, dropped = bytes.len() - good, "topic journal ends in a torn or corrupt line; cut there");
            file.set_len(good as u64).map_err(err)?;
            file.sync_data().map_err(err)?;
        }
        let sync_handle = file.try_clone().map_err(err)?;
        if let Some(dir) = path.parent().and_then(|d| File::open(d).ok()) {
            // The journal's directory entry, durable before any line counts as such.
            let _ = dir.sync_all();
        }
        let journal = Self {
            path: path.to_path_buf(),
            file: Mutex::new(Appender {
                file,
                len: good as u64,
                broken: false,
            }),
            sync_handle,
        };
        Ok((journal, records))
    }

    /// Takes the journal's end: apply the change to the table, then [`Appender::append`] it.
    pub fn lock(&self) -> MutexGuard<'_, Appender> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes every appended line durable (`fdatasync`); blocks.
    pub fn sync(&self) -> Result<(), BrokerError> {
        self.sync_handle
            .sync_data()
            .map_err(|source| self.error(source))
    }

    fn error(&self, source: std::io::Error) -> BrokerError {
        BrokerError::Persist {
            path: self.path.display().to_string(),
            source,
        }
    }
}

impl Appender {
    /// Appends one change (not yet durable: see [`TopicJournal::sync`]).
    pub fn append(&mut self, record: &Record, journal: &TopicJournal) -> Result<(), BrokerError> {
        if self.broken {
            return Err(journal.error(std::io::Error::other(
                "an earlier append failed and could not be undone; restart the broker",
            )));
        }
        let line = encode(record)?;
        if let Err(source) = self.file.write_all(&line) {
            // A partly written line would end every replay there: cut it off again.
            if self.file.set_len(self.len).is_err() {
                self.broken = true;
            }
            return Err(journal.error(source));
        }
        self.len += line.len() as u64;
        Ok(())
    }
}

impl SaveHook for TopicJournal {
    fn before_save(&self) -> u64 {
        self.lock().len
    }

    /// A save that started when the journal was `mark` bytes long holds every change in it:
    /// when nothing was appended since, the journal is emptied. The lock is held for the cut
    /// only, not for its `fdatasync` (an admin create waits for no one else's sync): a line
    /// appended meanwhile goes at the new end and its own `fdatasync` makes the cut durable
    /// with it; a crash before any sync replays the old lines, which the save covers.
    fn after_save(&self, mark: u64) {
        let file = {
            let mut end = self.lock();
            if end.len != mark || mark == 0 {
                return;
            }
            if let Err(e) = end.file.set_len(0) {
                tracing::warn!(path = %self.path.display(), error = %e, "topic journal not emptied; it is replayed harmlessly");
                return;
            }
            end.len = 0;
            end.file.try_clone()
        };
        if let Err(e) = file.and_then(|file| file.sync_data()) {
            tracing::warn!(path = %self.path.display(), error = %e, "topic journal emptied but not synced; it may be replayed harmlessly");
        }
    }
}

fn encode(record: &Record) -> Result<Vec<u8>, BrokerError> {
    let json = serde_json::to_vec(record)
        .map_err(|e| BrokerError::SystemError(format!("topic journal line: {e}")))?;
    if json.len() + 10 > LINE_MAX {
        return Err(BrokerError::InvalidParameter(format!(
            "a topic configuration of {} bytes is too large (at most {LINE_MAX})",
            json.len()
        )));
    }
    let mut line = format!("{:08x} ", crc32fast::hash(&json)).into_bytes();
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

/// The records of `bytes` up to the first bad line, and how many bytes they span.
fn parse(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut good = 0;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        match decode(line) {
            Some(record) => {
                records.push(record);
                good += line.len();
            }
            None => break,
        }
    }
    (records, good)
}

fn decode(line: &[u8]) -> Option<Record> {
    let line = line.strip_suffix(b"\n")?;
    if line.len() > LINE_MAX || line.len() < 10 || line[8] != b' ' {
        return None;
    }
    let crc = u32::from_str_radix(std::str::from_utf8(&line[..8]).ok()?, 16).ok()?;
    let json = &line[9..];
    if crc32fast::hash(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_model::TopicName;

    fn put(name: &str, queues: i32) -> Record {
        let mut config = TopicConfig::new(TopicName::new(name).unwrap());
        config.write_queue_nums = queues;
        config.read_queue_nums = queues;
        Record::Put(config)
    }

    fn append(journal: &TopicJournal, record: &Record) {
        journal.lock().append(record, journal).unwrap();
    }

    #[test]
    fn given_appended_records_should_read_them_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.journal");
        let (journal, none) = TopicJournal::open(&path).unwrap();
        assert!(none.is_empty());
        let records = [put("A", 8), Record::Delete("A".into()), put("B", 4)];
        for r in &records {
            append(&journal, r);
        }
        journal.sync().unwrap();
        drop(journal);
        let (_, read) = TopicJournal::open(&path).unwrap();
        assert_eq!(read, records);
    }

    #[test]
    fn given_a_torn_or_corrupt_tail_should_keep_the_lines_before_it_and_cut_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.journal");
        let (journal, _) = TopicJournal::open(&path).unwrap();
        append(&journal, &put("A", 8));
        append(&journal, &put("B", 8));
        drop(journal);
        let whole = std::fs::read(&path).unwrap();
        let first = whole.iter().position(|b| *b == b'\n').unwrap() + 1;
        // A flipped byte in the second line, then a torn third line.
        let mut bad = whole.clone();
        bad[first + 20] ^= 0x01;
        bad.extend_from_slice(b"0000");
        std::fs::write(&path, &bad).unwrap();
        let (journal, read) = TopicJournal::open(&path).unwrap();
        assert_eq!(read, [put("A", 8)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), first as u64);
        append(&journal, &put("C", 2));
        drop(journal);
        assert_eq!(
            TopicJournal::open(&path).unwrap().1,
            [put("A", 8), put("C", 2)]
        );
    }

    #[test]
    fn given_a_config_too_large_for_a_line_should_refuse_it_and_keep_the_journal_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.journal");
        let (journal, _) = TopicJournal::open(&path).unwrap();
        let Record::Put(mut huge) = put("Huge", 1) else {
            unreachable!()
        };
        huge.attributes.insert("+big".into(), "x".repeat(LINE_MAX));
        let refused = journal.lock().append(&Record::Put(huge), &journal);
        assert!(
            matches!(refused, Err(BrokerError::InvalidParameter(_))),
            "{refused:?}"
        );
        append(&journal, &put("After", 2));
        drop(journal);
        assert_eq!(TopicJournal::open(&path).unwrap().1, [put("After", 2)]);
    }

    #[test]
    fn given_a_save_covering_the_journal_should_empty_it_but_not_after_a_later_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.journal");
        let (journal, _) = TopicJournal::open(&path).unwrap();
        append(&journal, &put("A", 8));
        let mark = journal.before_save();
        append(&journal, &put("B", 8));
        journal.after_save(mark);
        assert_eq!(TopicJournal::open(&path).unwrap().1.len(), 2);
        let mark = journal.before_save();
        journal.after_save(mark);
        assert!(TopicJournal::open(&path).unwrap().1.is_empty());
        append(&journal, &put("C", 1));
        assert_eq!(TopicJournal::open(&path).unwrap().1, [put("C", 1)]);
    }
}
