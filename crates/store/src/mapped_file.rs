//! A fixed-size file mapped into memory: the unit every store log is made of.
//!
//! This is the store's only `unsafe` code, kept small behind a safe API:
//! - one writer at a time appends at `wrote` (an internal mutex enforces it);
//! - readers only see bytes below `wrote`, published with Release/Acquire ordering, so no
//!   reader slice ever overlaps the region being written;
//! - read slices are `Bytes` that own an `Arc` of the file, so the mapping outlives every
//!   reader even after the file is deleted by retention.
//!
//! Files are fully allocated on disk when created (`posix_fallocate`), so a full disk is an
//! error at creation time rather than a SIGBUS on a later write into a sparse page.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use fs4::fs_std::FileExt;
use memmap2::MmapRaw;

/// One mapped file of a log, starting at logical offset `start_offset`.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    _file: File,
    map: MmapRaw,
    start_offset: i64,
    size: usize,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    writer: Mutex<()>,
}

/// 20-digit zero-padded decimal file name of a start offset (`UtilAll.offset2FileName`).
pub fn offset_to_file_name(offset: i64) -> String {
    format!("{offset:020}")
}

impl MappedFile {
    /// Creates (allocating `size` bytes) or opens the file at `path`. A new file starts empty;
    /// an opened one starts with `wrote == 0` until recovery says how much is valid.
    pub fn open(path: &Path, start_offset: i64, size: usize) -> std::io::Result<Arc<Self>> {
        if !path.exists() {
            create_allocated(path, size)?;
        }
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        let size_u64 = u64::try_from(size).unwrap_or(u64::MAX);
        if len < size_u64 {
            file.allocate(size_u64)?;
        } else if len > size_u64 {
            return Err(std::io::Error::other(format!(
                "{} is {len} bytes, larger than the configured file size {size}",
                path.display()
            )));
        }
        let map = MmapRaw::map_raw(&file)?;
        Ok(Arc::new(Self {
            path: path.to_owned(),
            _file: file,
            map,
            start_offset,
            size,
            wrote: AtomicUsize::new(0),
            flushed: AtomicUsize::new(0),
            writer: Mutex::new(()),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn start_offset(&self) -> i64 {
        self.start_offset
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes written (and visible to readers).
    pub fn wrote(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    pub fn flushed(&self) -> usize {
        self.flushed.load(Ordering::Acquire)
    }

    pub fn remaining(&self) -> usize {
        self.size - self.wrote()
    }

    pub fn is_full(&self) -> bool {
        self.wrote() >= self.size
    }

    /// Appends `len` bytes produced by `fill` at the write position; returns the position
    /// written at, or `None` if they do not fit.
    pub fn append_with(&self, len: usize, fill: impl FnOnce(&mut [u8])) -> Option<usize> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = self.wrote.load(Ordering::Acquire);
        if len > self.size - pos {
            return None;
        }
        // SAFETY: [pos, pos + len) lies inside the mapping (checked above); only this writer,
        // serialised by `self.writer`, touches bytes at or above `wrote`, and readers never
        // see them until the Release store below publishes them.
        let region = unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), len) };
        fill(region);
        self.wrote.store(pos + len, Ordering::Release);
        Some(pos)
    }

    /// Appends `bytes` (see [`append_with`](Self::append_with)).
    pub fn append(&self, bytes: &[u8]) -> Option<usize> {
        self.append_with(bytes.len(), |region| region.copy_from_slice(bytes))
    }

    /// The bytes at `[pos, pos + len)`, if they have been written. No copy: the result keeps
    /// this file mapped.
    pub fn read(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        let end = pos.checked_add(len)?;
        if end > self.wrote() {
            return None;
        }
        Some(Bytes::from_owner(FileSlice {
            file: Arc::clone(self),
            pos,
            len,
        }))
    }

    /// A copy of written bytes `[pos, pos + len)`.
    pub fn read_copy(&self, pos: usize, len: usize) -> Option<Vec<u8>> {
        let end = pos.checked_add(len)?;
        if end > self.wrote() {
            return None;
        }
        // SAFETY: the range is inside the mapping and below the published write position, so
        // no writer touches it.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) }.to_vec())
    }

    /// Last modification time of the file, in ms since the epoch.
    pub fn modified_ms(&self) -> Option<i64> {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()?;
        let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
        i64::try_from(since.as_millis()).ok()
    }

    /// The whole file as it is on disk, written or not. Only for recovery scans, which run
    /// before any writer.
    pub(crate) fn read_all(self: &Arc<Self>) -> Bytes {
        Bytes::from_owner(FileSlice {
            file: Arc::clone(self),
            pos: 0,
            len: self.size,
        })
    }

    /// Makes everything written so far durable (msync); returns the new flushed position.
    pub fn flush(&self) -> std::io::Result<usize> {
        let wrote = self.wrote();
        let flushed = self.flushed();
        if wrote > flushed {
            self.map.flush_range(flushed, wrote - flushed)?;
            self.flushed.fetch_max(wrote, Ordering::AcqRel);
        }
        Ok(wrote)
    }

    /// Sets the write position after recovery (or truncation of a torn tail), zeroing what
    /// lies beyond it so stale bytes can never be read as records later.
    pub fn reset_to(&self, pos: usize) -> std::io::Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = pos.min(self.size);
        let scan_end = self.size;
        // SAFETY: the region is inside the mapping and above the new write position, which no
        // reader can see; the writer lock excludes concurrent appends.
        let tail = unsafe {
            std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), scan_end - pos)
        };
        if tail.iter().any(|b| *b != 0) {
            tail.fill(0);
            self.map.flush_range(pos, scan_end - pos)?;
        }
        self.wrote.store(pos, Ordering::Release);
        self.flushed.store(pos, Ordering::Release);
        Ok(())
    }

    /// Marks the file as completely written (a closed, full file found on start-up).
    pub fn mark_full(&self) {
        self.wrote.store(self.size, Ordering::Release);
        self.flushed.store(self.size, Ordering::Release);
    }
}

/// Creates a fully allocated file under a temporary name and renames it into place, so a
/// crash never leaves a short file under a real name.
fn create_allocated(path: &Path, size: usize) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    file.allocate(u64::try_from(size).unwrap_or(u64::MAX))?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// Maps a whole file for random-access writes (index files). The caller owns the only
/// mapping and guards it with a lock, so safe Rust borrows govern every access.
pub(crate) fn map_for_random_access(path: &Path, size: usize) -> std::io::Result<memmap2::MmapMut> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let len = file.metadata()?.len();
    let size_u64 = u64::try_from(size).unwrap_or(u64::MAX);
    if len < size_u64 {
        file.allocate(size_u64)?;
    }
    // SAFETY: the file belongs to this store (the store directory is locked against other
    // Apogee processes), so nothing else resizes or writes it while mapped.
    unsafe { memmap2::MmapMut::map_mut(&file) }
}

struct FileSlice {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for FileSlice {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: [pos, pos + len) is inside the mapping (checked when the slice was made) and
        // below the write position or part of a read-only recovery scan, so it is not being
        // written; the Arc keeps the mapping alive as long as this slice exists.
        unsafe { std::slice::from_raw_parts(self.file.map.as_ptr().add(self.pos), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_new_file_when_appended_and_read_should_return_written_bytes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(offset_to_file_name(0));
        let file = MappedFile::open(&path, 0, 64).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64);
        assert_eq!(file.append(b"hello"), Some(0));
        assert_eq!(file.append(b"world"), Some(5));
        assert_eq!(&file.read(0, 10).unwrap()[..], b"helloworld");
        assert!(file.read(5, 6).is_none(), "unwritten bytes are invisible");
        assert!(file.append(&[0u8; 55]).is_none(), "does not fit");
        assert_eq!(file.flush().unwrap(), 10);
    }

    #[test]
    fn given_reader_slice_when_file_deleted_should_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = MappedFile::open(&path, 0, 16).unwrap();
        file.append(b"abc").unwrap();
        let slice = file.read(0, 3).unwrap();
        drop(file);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&slice[..], b"abc");
    }

    #[test]
    fn given_torn_tail_when_reset_should_zero_and_rewrite_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = MappedFile::open(&path, 0, 16).unwrap();
        file.append(b"0123456789").unwrap();
        file.reset_to(4).unwrap();
        assert_eq!(file.wrote(), 4);
        assert_eq!(&file.read_all()[4..10], &[0u8; 6]);
        file.append(b"xy").unwrap();
        assert_eq!(&file.read(0, 6).unwrap()[..], b"0123xy");
        assert_eq!(offset_to_file_name(1_073_741_824), "00000000001073741824");
    }
}
