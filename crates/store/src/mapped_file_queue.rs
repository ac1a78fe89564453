//! A directory of equally sized mapped files named by their start offset, forming one
//! contiguous log: `00000000000000000000`, `00000000001073741824`, …

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use crate::mapped_file::{MappedFile, offset_to_file_name};

/// The files of one log, oldest first.
#[derive(Debug)]
pub struct MappedFileQueue {
    dir: PathBuf,
    file_size: usize,
    files: RwLock<Vec<Arc<MappedFile>>>,
}

impl MappedFileQueue {
    /// Opens every file in `dir` (creating the directory if needed). Files must be named by a
    /// start offset that is a multiple of `file_size` and be exactly `file_size` long.
    pub fn open(dir: &Path, file_size: usize) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut found: Vec<(i64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                // A file whose creation a crash interrupted.
                std::fs::remove_file(entry.path())?;
                continue;
            }
            if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let offset: i64 = name.parse().map_err(std::io::Error::other)?;
            found.push((offset, entry.path()));
        }
        found.sort();
        let mut files = Vec::with_capacity(found.len());
        for (offset, path) in found {
            let len = std::fs::metadata(&path)?.len();
            if len != u64::try_from(file_size).unwrap_or(u64::MAX) {
                return Err(std::io::Error::other(format!(
                    "{} is {len} bytes but the configured file size is {file_size}; refusing to guess",
                    path.display()
                )));
            }
            files.push(MappedFile::open(&path, offset, file_size)?);
        }
        Ok(Self {
            dir: dir.to_owned(),
            file_size,
            files: RwLock::new(files),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// A snapshot of the files, oldest first.
    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn first(&self) -> Option<Arc<MappedFile>> {
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .first()
            .cloned()
    }

    pub fn last(&self) -> Option<Arc<MappedFile>> {
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .cloned()
    }

    /// The last file if it has room, else a new one after it (or at `start_if_empty`).
    pub fn last_or_create(&self, start_if_empty: i64) -> std::io::Result<Arc<MappedFile>> {
        let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
        let start = match files.last() {
            Some(last) if !last.is_full() => return Ok(Arc::clone(last)),
            Some(last) => last.start_offset() + i64::try_from(self.file_size).unwrap_or(i64::MAX),
            None => {
                start_if_empty - start_if_empty % i64::try_from(self.file_size).unwrap_or(i64::MAX)
            }
        };
        let file = MappedFile::open(
            &self.dir.join(offset_to_file_name(start)),
            start,
            self.file_size,
        )?;
        files.push(Arc::clone(&file));
        Ok(file)
    }

    /// The file holding logical `offset`.
    pub fn find(&self, offset: i64) -> Option<Arc<MappedFile>> {
        let files = self.files.read().unwrap_or_else(PoisonError::into_inner);
        let first = files.first()?.start_offset();
        let size = i64::try_from(self.file_size).ok()?;
        if offset < first {
            return None;
        }
        let index = usize::try_from((offset - first) / size).ok()?;
        files
            .get(index)
            .filter(|f| f.start_offset() <= offset)
            .cloned()
    }

    /// First offset still stored (start of the oldest file).
    pub fn min_offset(&self) -> i64 {
        self.first().map_or(0, |f| f.start_offset())
    }

    /// Next offset to be written.
    pub fn max_offset(&self) -> i64 {
        self.last().map_or(0, |f| {
            f.start_offset() + i64::try_from(f.wrote()).unwrap_or(0)
        })
    }

    /// Offset up to which everything is durable.
    pub fn flushed_offset(&self) -> i64 {
        self.files()
            .iter()
            .rev()
            .find(|f| f.flushed() > 0)
            .map_or_else(
                || self.min_offset(),
                |f| f.start_offset() + i64::try_from(f.flushed()).unwrap_or(0),
            )
    }

    /// Flushes every file with unflushed bytes; returns the durable offset.
    pub fn flush(&self) -> std::io::Result<i64> {
        for file in self.files() {
            if file.wrote() > file.flushed() {
                file.flush()?;
            }
        }
        Ok(self.flushed_offset())
    }

    /// Recovery: everything at or after `offset` is invalid. The file holding it is reset to
    /// that position and later files are deleted.
    pub fn truncate_from(&self, offset: i64) -> std::io::Result<()> {
        let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
        let size = i64::try_from(self.file_size).unwrap_or(i64::MAX);
        let mut keep = Vec::with_capacity(files.len());
        for file in files.drain(..) {
            let start = file.start_offset();
            if start + size <= offset {
                file.mark_full();
                keep.push(file);
            } else if start <= offset {
                file.reset_to(usize::try_from(offset - start).unwrap_or(0))?;
                keep.push(file);
            } else {
                std::fs::remove_file(file.path())?;
            }
        }
        *files = keep;
        Ok(())
    }

    /// Removes oldest files while `expired` says so, never the last one; returns how many.
    pub fn delete_oldest_while(
        &self,
        mut expired: impl FnMut(&MappedFile) -> bool,
    ) -> std::io::Result<usize> {
        let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
        let mut removed = 0;
        while files.len() > 1 && expired(&files[0]) {
            let file = files.remove(0);
            std::fs::remove_file(file.path())?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_appends_past_file_size_when_reopened_should_find_every_offset() {
        let dir = tempfile::tempdir().unwrap();
        let queue = MappedFileQueue::open(dir.path(), 32).unwrap();
        for i in 0..5u8 {
            let file = queue.last_or_create(0).unwrap();
            if file.append(&[i; 20]).is_none() {
                file.mark_full();
                queue.last_or_create(0).unwrap().append(&[i; 20]).unwrap();
            }
        }
        assert_eq!(queue.files().len(), 5);
        assert_eq!(queue.find(0).unwrap().start_offset(), 0);
        assert_eq!(queue.find(100).unwrap().start_offset(), 96);
        assert!(queue.find(1_000).is_none());
        drop(queue);
        let again = MappedFileQueue::open(dir.path(), 32).unwrap();
        assert_eq!(again.files().len(), 5);
        assert!(
            MappedFileQueue::open(dir.path(), 64).is_err(),
            "size mismatch is refused"
        );
    }

    #[test]
    fn given_truncation_should_reset_holder_and_delete_later_files() {
        let dir = tempfile::tempdir().unwrap();
        let queue = MappedFileQueue::open(dir.path(), 16).unwrap();
        for _ in 0..3 {
            let file = queue.last_or_create(0).unwrap();
            file.append(&[7; 16]).unwrap();
        }
        queue.truncate_from(20).unwrap();
        assert_eq!(queue.files().len(), 2);
        assert_eq!(queue.max_offset(), 20);
        assert_eq!(queue.delete_oldest_while(|_| true).unwrap(), 1);
        assert_eq!(queue.min_offset(), 16);
    }
}
