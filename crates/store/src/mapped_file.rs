//! A fixed-size file mapped into memory: the unit every store log is made of.
//!
//! This is the store's only `unsafe` code, kept small behind a safe API:
//! - one writer at a time appends at `wrote` (an internal mutex enforces it);
//! - readers only see bytes below `wrote`, published with Release/Acquire ordering, so no
//!   reader slice ever overlaps the region being written;
//! - read slices are `Bytes` that own an `Arc` of the file, so the mapping outlives every
//!   reader even after the file is deleted by retention.
//!
//! Files are allocated on disk before they are written (`posix_fallocate`), so a full disk is
//! an error rather than a SIGBUS on a later write into a sparse page: CommitLog files whole
//! when created; *growing* files (consume queues, of which a broker with 10,000 topics has
//! 80,000, mostly near empty) in doubling steps ahead of their writer ([`MappedFile::reserve`]).

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use fs4::fs_std::FileExt;
use memmap2::MmapRaw;

use crate::io::{FileIo, FileOp};

/// One mapped file of a log, starting at logical offset `start_offset`.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    /// Kept open for whole files; a growing file keeps none (a broker with 80,000 consume
    /// queues would hold 80,000 descriptors) and opens its path for the rare call that needs
    /// one.
    file: Option<File>,
    map: MmapRaw,
    start_offset: i64,
    size: usize,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    /// Held by the one writer; in write-through mode also the buffer records are built in.
    writer: Mutex<Vec<u8>>,
    /// Appends go through `pwrite` on the kept descriptor instead of stores into the mapping
    /// ([`write_through`](Self::write_through)).
    write_through: AtomicBool,
    io: FileIo,
    /// False until the directory entry of a newly created file has been fsynced; the first
    /// flush does it before any of the file's bytes can count as durable.
    dir_synced: AtomicBool,
    /// Bytes from the start known to be allocated on disk (the whole file unless growing).
    allocated: AtomicUsize,
    /// A growing file's place in the budget of mappings (given back when it is dropped).
    _map_slot: Option<GrowingMap>,
}

/// One of the process's growing-file mappings. Linux limits a process's mappings
/// (`vm.max_map_count`, 65,530 by default) and a failed `mmap` past it also fails the
/// allocator's own: rather than let consume queues exhaust it, a new one past the budget is
/// refused (its records wait and are retried, as for a full disk) with an error that names the
/// setting.
#[derive(Debug)]
struct GrowingMap;

static GROWING_MAPS: AtomicUsize = AtomicUsize::new(0);

/// Mappings left for everything else (CommitLog and index files, the allocator, thread stacks).
const MAP_HEADROOM: usize = 16_384;

impl GrowingMap {
    fn budget() -> usize {
        static BUDGET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *BUDGET.get_or_init(|| {
            std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .map_or(usize::MAX, |max| max.saturating_sub(MAP_HEADROOM).max(1024))
        })
    }

    /// An existing file opened at start-up: counted, never refused (a store that opened
    /// before must open again), with a warning once past the budget.
    fn count(path: &Path) -> Self {
        let taken = GROWING_MAPS.fetch_add(1, Ordering::AcqRel);
        if taken == Self::budget() {
            tracing::warn!(path = %path.display(), budget = taken, "more consume-queue files than vm.max_map_count leaves room for; new queues will be refused until it is raised");
        }
        Self
    }

    fn take(path: &Path) -> std::io::Result<Self> {
        let budget = Self::budget();
        let taken = GROWING_MAPS.fetch_add(1, Ordering::AcqRel);
        if taken >= budget {
            GROWING_MAPS.fetch_sub(1, Ordering::AcqRel);
            return Err(std::io::Error::other(format!(
                "{}: {budget} consume-queue files are mapped, as many as vm.max_map_count allows \
                 with room for the rest; raise vm.max_map_count (RocketMQ's advice: 655360)",
                path.display()
            )));
        }
        Ok(Self)
    }
}

impl Drop for GrowingMap {
    fn drop(&mut self) {
        GROWING_MAPS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The largest write-through buffer kept between appends (a bigger batch gets its own).
const SCRATCH_KEEP: usize = 4 << 20;

/// A growing file's first allocation, and the least it grows by.
const GROW_FIRST: usize = 4096;

/// 20-digit zero-padded decimal file name of a start offset (`UtilAll.offset2FileName`).
pub fn offset_to_file_name(offset: i64) -> String {
    format!("{offset:020}")
}

/// An I/O error of the file at `path`, naming it.
fn with_path(path: &Path, e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl MappedFile {
    /// Opens the existing file at `path`, which must not be longer than `size` (a shorter
    /// one is allocated up to it). It starts with `wrote == 0` until recovery says how much is
    /// valid.
    pub fn open(
        path: &Path,
        start_offset: i64,
        size: usize,
        io: &FileIo,
    ) -> std::io::Result<Arc<Self>> {
        Self::map(path, start_offset, size, io, (true, false))
    }

    /// Creates a new, fully allocated file at `path`: under a temporary name, renamed into
    /// place; the directory is fsynced by the first flush.
    pub fn create(
        path: &Path,
        start_offset: i64,
        size: usize,
        io: &FileIo,
    ) -> std::io::Result<Arc<Self>> {
        let spare = spare_path(path);
        io.create_allocated(&spare, size)?;
        Self::adopt(&spare, path, start_offset, size, io)
    }

    /// Creates a new *growing* file at `path`: sparse, only its first page allocated (renamed
    /// into place from a temporary name; the directory is fsynced by the first flush).
    pub fn create_growing(
        path: &Path,
        start_offset: i64,
        size: usize,
        io: &FileIo,
    ) -> std::io::Result<Arc<Self>> {
        let spare = spare_path(path);
        let first = GROW_FIRST.min(size);
        io.create_sparse(&spare, size, first)?;
        io.rename(&spare, path)?;
        let file = Self::map(path, start_offset, size, io, (false, true))?;
        file.allocated.store(first, Ordering::Release);
        Ok(file)
    }

    /// Opens an existing *growing* file: nothing past its start is taken as allocated until
    /// [`reserve`](Self::reserve) allocates it (allocating what already is costs nothing).
    pub fn open_growing(
        path: &Path,
        start_offset: i64,
        size: usize,
        io: &FileIo,
    ) -> std::io::Result<Arc<Self>> {
        let file = Self::map(path, start_offset, size, io, (true, true))?;
        file.allocated.store(0, Ordering::Release);
        Ok(file)
    }

    /// Forces every written byte to disk (after crash recovery: the tail it kept may still be
    /// only in the page cache, and the checkpoint is about to call it durable).
    pub fn sync_written(&self) -> std::io::Result<()> {
        let wrote = self.wrote();
        if wrote == 0 {
            return Ok(());
        }
        self.map.flush_range(0, wrote)
    }

    /// Asks the kernel to read the first `len` bytes in ahead of a sequential scan (a growing
    /// file's mapping has readahead off; a recovery scan of it would otherwise read page by
    /// page).
    pub fn prefetch(&self, len: usize) {
        self.prefetch_range(0, len);
    }

    /// [`prefetch`](Self::prefetch) of `[pos, pos + len)` (clipped to the file).
    pub fn prefetch_range(&self, pos: usize, len: usize) {
        let pos = pos.min(self.size);
        let len = len.min(self.size - pos);
        if len > 0 {
            let _ = self.map.advise_range(memmap2::Advice::WillNeed, pos, len);
        }
    }

    /// A growing file is written a unit at a time in many files at once: without this, the
    /// first write into each file's unwritten pages faults in a large readahead window of
    /// zeros (measured: 95 % of the reput thread's time with 10,000 topics × 8 queues).
    pub(crate) fn no_readahead(&self) {
        if let Err(e) = self.map.advise(memmap2::Advice::Random) {
            tracing::debug!(path = %self.path.display(), error = %e, "madvise(RANDOM) refused");
        }
    }

    /// Whether `len` more bytes fit in the file and are already allocated on disk (an append
    /// of them needs no `fallocate`).
    pub fn has_allocated_room(&self, len: usize) -> bool {
        let end = self.wrote().saturating_add(len);
        end <= self.size && end <= self.allocated.load(Ordering::Acquire)
    }

    /// Makes sure the first `end` bytes are allocated on disk before they are written: a
    /// growing file allocates twice what it had (at least `end`); an error (a full disk)
    /// leaves the file as it was.
    pub fn reserve(&self, end: usize) -> std::io::Result<()> {
        let allocated = self.allocated.load(Ordering::Acquire);
        if end <= allocated {
            return Ok(());
        }
        let target = end
            .max(allocated.saturating_mul(2))
            .max(GROW_FIRST)
            .min(self.size);
        self.with_fd(|file| file.allocate(u64::try_from(target).unwrap_or(u64::MAX)))?;
        self.allocated.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }

    /// Runs `f` on the open file: the kept descriptor, or the path opened for the call.
    fn with_fd<T>(&self, f: impl FnOnce(&File) -> std::io::Result<T>) -> std::io::Result<T> {
        match &self.file {
            Some(file) => f(file),
            None => f(&OpenOptions::new().read(true).write(true).open(&self.path)?),
        }
    }

    /// Renames an allocated spare file to `path` and maps it (the roll-over to a file the
    /// allocator prepared ahead of time); the directory is fsynced by the first flush.
    pub fn adopt(
        spare: &Path,
        path: &Path,
        start_offset: i64,
        size: usize,
        io: &FileIo,
    ) -> std::io::Result<Arc<Self>> {
        io.rename(spare, path)?;
        Self::map(path, start_offset, size, io, (false, false))
    }

    fn map(
        path: &Path,
        start_offset: i64,
        size: usize,
        io: &FileIo,
        (dir_synced, growing): (bool, bool),
    ) -> std::io::Result<Arc<Self>> {
        let growing_slot = match (growing, dir_synced) {
            (false, _) => None,
            // An existing file (start-up) is counted; a new one must fit the budget.
            (true, true) => Some(GrowingMap::count(path)),
            (true, false) => Some(GrowingMap::take(path)?),
        };
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
        let mapped = Arc::new(Self {
            path: path.to_owned(),
            file: (!growing).then_some(file),
            map,
            start_offset,
            size,
            wrote: AtomicUsize::new(0),
            flushed: AtomicUsize::new(0),
            writer: Mutex::new(Vec::new()),
            write_through: AtomicBool::new(false),
            io: io.clone(),
            dir_synced: AtomicBool::new(dir_synced),
            allocated: AtomicUsize::new(size),
            _map_slot: growing_slot,
        });
        if growing {
            mapped.no_readahead();
        }
        Ok(mapped)
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

    /// Appends through `pwrite` from now on (a whole file only: it keeps its descriptor).
    /// Stores into a shared mapping make every page the writer touched writable and dirty in
    /// this process's page tables, and each periodic msync must then write-protect each page
    /// again, with a TLB shoot-down on every CPU the broker runs on (11 % of its CPU at 1 KiB
    /// × 64,000 msg/s); bytes written with `pwrite` never enter the page tables writable.
    /// Reads keep using the mapping (the page cache is the same).
    pub(crate) fn write_through(&self) {
        if self.file.is_some() {
            self.write_through.store(true, Ordering::Release);
        }
    }

    /// Appends `len` bytes produced by `fill` (which must write every byte) at the write
    /// position; returns the position written at, or `None` if they do not fit. An error
    /// (write-through mode only) leaves the write position where it was.
    pub fn append_with(
        &self,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> std::io::Result<Option<usize>> {
        let mut scratch = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = self.wrote.load(Ordering::Acquire);
        if len > self.size - pos {
            return Ok(None);
        }
        if let Some(file) = self.write_through_fd() {
            scratch.clear();
            scratch.resize(len, 0);
            fill(&mut scratch);
            let written = self.write_at(file, &scratch, pos);
            if scratch.capacity() > SCRATCH_KEEP || pos + len == self.size {
                // A full file takes no more appends: its buffer goes with its last one.
                *scratch = Vec::new();
            }
            written?;
        } else {
            // SAFETY: [pos, pos + len) lies inside the mapping (checked above); only this
            // writer, serialised by `self.writer`, touches bytes at or above `wrote`, and
            // readers never see them until the Release store below publishes them.
            let region =
                unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), len) };
            fill(region);
        }
        self.wrote.store(pos + len, Ordering::Release);
        Ok(Some(pos))
    }

    /// Appends `bytes` (see [`append_with`](Self::append_with)); in write-through mode
    /// straight from `bytes`.
    pub fn append(&self, bytes: &[u8]) -> std::io::Result<Option<usize>> {
        self.append_head(bytes.len(), bytes)
    }

    /// Appends `len` bytes of which only the first ones, `head`, are written: the rest keep
    /// what the file holds above its write position, zeros (a CommitLog file's closing BLANK
    /// marker says how long the rest is).
    pub fn append_head(&self, len: usize, head: &[u8]) -> std::io::Result<Option<usize>> {
        let mut scratch = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = self.wrote.load(Ordering::Acquire);
        if len > self.size - pos || head.len() > len {
            return Ok(None);
        }
        if let Some(file) = self.write_through_fd() {
            self.write_at(file, head, pos)?;
            if pos + len == self.size {
                *scratch = Vec::new();
            }
        } else {
            // SAFETY: as in `append_with`.
            unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), head.len()) }
                .copy_from_slice(head);
        }
        self.wrote.store(pos + len, Ordering::Release);
        Ok(Some(pos))
    }

    fn write_through_fd(&self) -> Option<&File> {
        if self.write_through.load(Ordering::Acquire) {
            self.file.as_ref()
        } else {
            None
        }
    }

    /// One `pwrite` at the write position (the caller holds the writer lock); its error keeps
    /// the OS error code (a full disk must stay recognisable). A write that fails part way may
    /// have left whole records of a refused append in the page cache, which a restart would
    /// recover as stored: the range is zeroed again through the mapping (the file is allocated,
    /// so that cannot fault), as everything above the write position must be.
    fn write_at(&self, file: &File, bytes: &[u8], pos: usize) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let outcome = self.io.run(
            || FileOp::Write {
                path: self.path.clone(),
                offset: pos,
                len: bytes.len(),
            },
            || file.write_all_at(bytes, u64::try_from(pos).unwrap_or(u64::MAX)),
        );
        if outcome.is_err() {
            let len = bytes.len().min(self.size - pos);
            // SAFETY: [pos, pos + len) is inside the mapping and at or above the write
            // position, which no reader sees; the caller holds the writer lock.
            unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), len) }.fill(0);
        }
        outcome
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

    /// Where the file's stored data ends at or after `from`: allocated-but-never-written
    /// ranges are holes to `SEEK_HOLE` on ext4, xfs and btrfs, so a recovery scan need not
    /// read (and page in) the empty rest of a 1 GiB file. Filesystems without hole reporting
    /// answer "the whole file".
    pub(crate) fn data_end(&self, from: usize) -> usize {
        use rustix::fs::{SeekFrom, seek};
        let size = self.size as u64;
        let mut end = from as u64;
        let mut pos = end;
        let Ok(file) = self.with_fd(|f| f.try_clone()) else {
            return self.size;
        };
        while pos < size {
            match seek(&file, SeekFrom::Data(pos)) {
                Ok(data) => {
                    let hole = seek(&file, SeekFrom::Hole(data)).map_or(size, |h| h.min(size));
                    end = hole.max(end);
                    pos = hole.max(pos + 1);
                }
                Err(rustix::io::Errno::NXIO) => break,
                Err(_) => return self.size,
            }
        }
        usize::try_from(end).map_or(self.size, |end| end.min(self.size))
    }

    /// Makes everything written so far durable (the directory entry first, if new; then an
    /// msync of the written range); returns the new flushed position. On error nothing is
    /// counted as flushed.
    pub fn flush(&self) -> std::io::Result<usize> {
        self.sync_dir_once()?;
        let wrote = self.wrote();
        let flushed = self.flushed();
        if wrote > flushed {
            self.io
                .run(
                    || FileOp::Msync {
                        path: self.path.clone(),
                        offset: flushed,
                        len: wrote - flushed,
                    },
                    || self.map.flush_range(flushed, wrote - flushed),
                )
                .map_err(|e| with_path(&self.path, &e))?;
            self.flushed.fetch_max(wrote, Ordering::AcqRel);
        }
        Ok(wrote)
    }

    fn sync_dir_once(&self) -> std::io::Result<()> {
        if self.dir_synced.load(Ordering::Acquire) {
            return Ok(());
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        self.io
            .sync_dir(dir)
            .map_err(|e| with_path(&self.path, &e))?;
        self.dir_synced.store(true, Ordering::Release);
        Ok(())
    }

    /// Sets the write position after recovery, zeroing `[pos, zero_end)` (where bytes of a
    /// cut-off tail lie; the caller has copied them aside first) so stale bytes can never be
    /// read as records after later appends.
    pub(crate) fn truncate_to(&self, pos: usize, zero_end: usize) -> std::io::Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = pos.min(self.size);
        let zero_end = zero_end.clamp(pos, self.size);
        if zero_end > pos {
            // SAFETY: the region is inside the mapping and at or above the new write position,
            // which no reader can see; the writer lock excludes concurrent appends.
            let tail = unsafe {
                std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), zero_end - pos)
            };
            if tail.iter().any(|b| *b != 0) {
                tail.fill(0);
                self.io.run(
                    || FileOp::Msync {
                        path: self.path.clone(),
                        offset: pos,
                        len: zero_end - pos,
                    },
                    || self.map.flush_range(pos, zero_end - pos),
                )?;
            }
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

/// `<name>.spare`: where a file is allocated before it is renamed into use.
pub(crate) fn spare_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".spare");
    PathBuf::from(name)
}

/// A whole file mapped for random-access writes (index files): readers and the one writer
/// take a lock around their access; msync needs none, so a flush never holds up either.
pub(crate) struct RandomAccessMap {
    path: PathBuf,
    map: MmapRaw,
    len: usize,
    lock: std::sync::RwLock<()>,
    io: FileIo,
}

impl RandomAccessMap {
    /// Maps `path`, created and allocated (`size` bytes, directory fsynced) when missing.
    pub(crate) fn open(path: &Path, size: usize, io: &FileIo) -> std::io::Result<Self> {
        if !path.exists() {
            let spare = spare_path(path);
            io.create_allocated(&spare, size)?;
            io.rename(&spare, path)?;
            io.sync_dir(path.parent().unwrap_or(Path::new(".")))?;
        }
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        let size_u64 = u64::try_from(size).unwrap_or(u64::MAX);
        if len < size_u64 {
            file.allocate(size_u64)?;
        }
        let map = MmapRaw::map_raw(&file)?;
        // Written at scattered places: a write fault into an unwritten page must not fault
        // in a readahead window of zeros around it (see `MappedFile::no_readahead`).
        if let Err(e) = map.advise(memmap2::Advice::Random) {
            tracing::debug!(path = %path.display(), error = %e, "madvise(RANDOM) refused");
        }
        let len = map.len();
        Ok(Self {
            path: path.to_owned(),
            map,
            len,
            lock: std::sync::RwLock::new(()),
            io: io.clone(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Asks the kernel to bring the first `len` bytes into the page cache now (one call
    /// instead of a page fault per page on first touch); errors are ignored (a hint).
    pub(crate) fn prefetch(&self, len: usize) {
        let len = len.min(self.len);
        if len > 0 {
            let _ = self.map.advise_range(memmap2::Advice::WillNeed, 0, len);
        }
    }

    /// Runs `f` over the mapped bytes under the shared lock.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let _shared = self.lock.read().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: the mapping is `len` bytes and lives as long as `self`; the shared lock
        // excludes the writer, so no `&mut` to these bytes exists meanwhile.
        f(unsafe { std::slice::from_raw_parts(self.map.as_ptr(), self.len) })
    }

    /// Runs `f` over the mapped bytes under the exclusive lock.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let _exclusive = self.lock.write().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: as in `read`; the exclusive lock makes this the only reference.
        f(unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr(), self.len) })
    }

    /// Writes the whole mapping back to disk (msync) without taking the lock: the kernel
    /// writes pages while the writer goes on.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        self.io.run(
            || FileOp::Msync {
                path: self.path.clone(),
                offset: 0,
                len: self.len,
            },
            || self.map.flush(),
        )
    }
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
#[path = "mapped_file_tests.rs"]
mod tests;
