//! `quarantine/`: where the store puts bytes it will not use but must not destroy — the tail
//! of a log cut at a bad record, a log file after the cut, a leftover file whose creation a
//! crash interrupted. Nothing in here is read again by Apogee; it is kept for an operator
//! (and is safe to delete once inspected). Every move is made durable before the original is
//! touched, so a crash never loses both copies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::io::{FileIo, FileOp};

/// The quarantine directory of one store.
#[derive(Debug, Clone)]
pub struct Quarantine {
    dir: PathBuf,
    io: FileIo,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Quarantine {
    pub fn new(root: &Path, io: FileIo) -> Self {
        Self {
            dir: root.join("quarantine"),
            io,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh name in the quarantine directory: `<label>.<ms since epoch>.<n>`.
    fn name(&self, label: &str) -> PathBuf {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{label}.{ms}.{n}"))
    }

    /// Writes `bytes` to a new file named after `label` and makes it durable; returns its path.
    pub fn keep_bytes(&self, label: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.name(label);
        let mut file = std::fs::File::create(&path)?;
        file.write_all(bytes)?;
        self.io.run(
            || FileOp::SyncFile { path: path.clone() },
            || file.sync_all(),
        )?;
        self.io.sync_dir(&self.dir)?;
        Ok(path)
    }

    /// Moves `path` into quarantine (same filesystem: a rename), durably; returns the new path.
    pub fn keep_file(&self, path: &Path, label: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let to = self.name(label);
        self.io.rename(path, &to)?;
        self.io.sync_dir(&self.dir)?;
        if let Some(from_dir) = path.parent() {
            self.io.sync_dir(from_dir)?;
        }
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_bytes_and_a_file_when_quarantined_should_keep_both_under_the_quarantine_dir() {
        let dir = tempfile::tempdir().unwrap();
        let q = Quarantine::new(dir.path(), FileIo::default());
        let kept = q.keep_bytes("commitlog-100", b"tail").unwrap();
        assert_eq!(std::fs::read(&kept).unwrap(), b"tail");
        let original = dir.path().join("f");
        std::fs::write(&original, b"whole").unwrap();
        let moved = q.keep_file(&original, "commitlog-file").unwrap();
        assert!(!original.exists());
        assert_eq!(std::fs::read(&moved).unwrap(), b"whole");
        assert!(moved.starts_with(dir.path().join("quarantine")));
        assert_ne!(kept, moved);
    }
}
