//! The `checkpoint` file (REMOTING.md §6.5): 4 KiB, big-endian i64 fields. Java's fields sit
//! at 0–39; Apogee adds two of its own past them (Java ignores the rest of the page):
//!
//! | offset | field |
//! | --- | --- |
//! | 0 | physicMsgTimestamp (store time of the last flushed CommitLog message) |
//! | 8 | logicsMsgTimestamp |
//! | 16 | indexMsgTimestamp |
//! | 24 | masterFlushedOffset |
//! | 32 | confirmPhyOffset |
//! | 40 | Apogee: CommitLog offset known durable |
//! | 48 | Apogee: CommitLog offset whose dispatch to consume queues and index is durable |
//! | 56 | Apogee: a CommitLog record boundary at or below the durable offset (recovery checks records from here; 0: unknown) |

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::StoreError;

const FILE_BYTES: usize = 4096;

/// The checkpoint's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
    pub master_flushed_offset: i64,
    pub confirm_phy_offset: i64,
    pub flushed_offset: i64,
    pub dispatched_offset: i64,
    /// A record boundary known durable: recovery starts checking records here (0: unknown,
    /// check the whole last file).
    pub boundary_offset: i64,
}

impl Checkpoint {
    /// Reads the file, or all zeros if it does not exist yet.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let mut bytes = [0u8; 64];
        match std::fs::File::open(path) {
            Ok(mut file) => {
                let _ = file
                    .read(&mut bytes)
                    .map_err(StoreError::io(path.display().to_string()))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Io {
                    what: path.display().to_string(),
                    source: e,
                });
            }
        }
        let field =
            |i: usize| i64::from_be_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Ok(Self {
            physic_msg_timestamp: field(0),
            logics_msg_timestamp: field(1),
            index_msg_timestamp: field(2),
            master_flushed_offset: field(3),
            confirm_phy_offset: field(4),
            flushed_offset: field(5),
            dispatched_offset: field(6),
            boundary_offset: field(7),
        })
    }

    /// Writes and fsyncs the file in place (it never changes size, so a torn write can only
    /// leave old or new values of whole sectors).
    pub fn store(&self, path: &Path) -> Result<(), StoreError> {
        let fail = StoreError::io(path.display().to_string());
        let mut page = vec![0u8; FILE_BYTES];
        let values = [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.master_flushed_offset,
            self.confirm_phy_offset,
            self.flushed_offset,
            self.dispatched_offset,
            self.boundary_offset,
        ];
        for (i, value) in values.iter().enumerate() {
            page[i * 8..i * 8 + 8].copy_from_slice(&value.to_be_bytes());
        }
        let result = (|| {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&page)?;
            file.sync_data()
        })();
        result.map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_checkpoint_when_stored_should_reload_with_java_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        let cp = Checkpoint {
            physic_msg_timestamp: 5,
            flushed_offset: 1234,
            dispatched_offset: 99,
            boundary_offset: 77,
            ..Checkpoint::default()
        };
        cp.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), cp);
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), 4096);
        assert_eq!(&raw[0..8], &5i64.to_be_bytes());
        assert_eq!(&raw[40..48], &1234i64.to_be_bytes());
    }
}
