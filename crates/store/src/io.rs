//! The file operations the store's durability rests on, each reported to an optional
//! [`FileHooks`] before it runs. Production passes no hooks; tests install one that records
//! the order of operations or makes one of them fail (a failed msync, a full disk), which is
//! how the durability protocol is proved:
//!
//! ```text
//! new log file:  create <name>.spare ─► allocate ─► fsync file        (allocator thread)
//! roll over:     rename .spare → <name> ─► mark "directory not synced"  (append lock, no I/O wait)
//! flush:         fsync directory (once per new file) ─► msync range ─► durable offset moves
//! recovery:      bytes past a bad record copied to quarantine/ ─► fsync ─► only then zeroed
//! ```

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fs4::fs_std::FileExt;

/// One durability-relevant operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    /// A file is created and allocated at `path` (its name is temporary until renamed).
    Create { path: PathBuf, bytes: usize },
    /// `from` is renamed to `to`.
    Rename { from: PathBuf, to: PathBuf },
    /// A directory is fsynced so a create or rename in it survives power loss.
    SyncDir { dir: PathBuf },
    /// `len` bytes of a mapped file starting at `offset` are written back (msync).
    Msync {
        path: PathBuf,
        offset: usize,
        len: usize,
    },
    /// `len` bytes are written into a file at `offset` with `pwrite` (a write-through append).
    Write {
        path: PathBuf,
        offset: usize,
        len: usize,
    },
    /// A whole file is fsynced (a quarantine copy, a freshly allocated file).
    SyncFile { path: PathBuf },
    /// A file is deleted.
    Remove { path: PathBuf },
}

/// Sees every [`FileOp`] before it runs (an `Err` makes the operation fail with that error
/// instead of running) and after it ran.
pub trait FileHooks: Send + Sync {
    fn before(&self, op: &FileOp) -> std::io::Result<()>;

    /// Called once the operation finished; `ok` tells whether it succeeded.
    fn after(&self, _op: &FileOp, _ok: bool) {}
}

/// Runs file operations, telling the hooks first.
#[derive(Clone, Default)]
pub struct FileIo {
    hooks: Option<Arc<dyn FileHooks>>,
}

impl std::fmt::Debug for FileIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileIo")
            .field("hooked", &self.hooks.is_some())
            .finish()
    }
}

impl FileIo {
    pub fn with_hooks(hooks: Arc<dyn FileHooks>) -> Self {
        Self { hooks: Some(hooks) }
    }

    /// Runs `run` after telling the hooks about `op`.
    pub(crate) fn run<T>(
        &self,
        op: impl FnOnce() -> FileOp,
        run: impl FnOnce() -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let Some(hooks) = &self.hooks else {
            return run();
        };
        let op = op();
        hooks.before(&op)?;
        let outcome = run();
        hooks.after(&op, outcome.is_ok());
        outcome
    }

    /// Creates `path` fully allocated (`bytes` long) and fsyncs it. The caller gives it a
    /// temporary name and renames it once it is needed.
    pub fn create_allocated(&self, path: &Path, bytes: usize) -> std::io::Result<()> {
        self.run(
            || FileOp::Create {
                path: path.to_owned(),
                bytes,
            },
            || {
                let file = create_truncated(path)?;
                file.allocate(u64::try_from(bytes).unwrap_or(u64::MAX))?;
                file.sync_all()
            },
        )
    }

    /// Creates `path` as a sparse file of `size` bytes with its first `allocate` bytes
    /// allocated (a growing file: [`MappedFile::reserve`](crate::mapped_file::MappedFile::reserve)
    /// allocates the rest ahead of its writes). No fsync: the first flush syncs the directory.
    pub fn create_sparse(&self, path: &Path, size: usize, allocate: usize) -> std::io::Result<()> {
        self.run(
            || FileOp::Create {
                path: path.to_owned(),
                bytes: allocate,
            },
            || {
                let file = create_truncated(path)?;
                file.set_len(u64::try_from(size).unwrap_or(u64::MAX))?;
                file.allocate(u64::try_from(allocate).unwrap_or(u64::MAX))
            },
        )
    }

    pub fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.run(
            || FileOp::Rename {
                from: from.to_owned(),
                to: to.to_owned(),
            },
            || std::fs::rename(from, to),
        )
    }

    /// Fsyncs a directory, making creates and renames in it durable.
    pub fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.run(
            || FileOp::SyncDir {
                dir: dir.to_owned(),
            },
            || File::open(dir)?.sync_all(),
        )
    }

    pub fn sync_file(&self, file: &File, path: &Path) -> std::io::Result<()> {
        self.run(
            || FileOp::SyncFile {
                path: path.to_owned(),
            },
            || file.sync_all(),
        )
    }

    pub fn remove(&self, path: &Path) -> std::io::Result<()> {
        self.run(
            || FileOp::Remove {
                path: path.to_owned(),
            },
            || std::fs::remove_file(path),
        )
    }
}

/// A [`FileHooks`] for tests: records every operation and fails the ones `fail` picks.
pub struct RecordingHooks {
    ops: std::sync::Mutex<Vec<FileOp>>,
    fail: Box<dyn Fn(&FileOp) -> bool + Send + Sync>,
}

impl RecordingHooks {
    /// Records and lets everything run.
    pub fn new() -> Arc<Self> {
        Self::failing(|_| false)
    }

    /// Records, and fails with an I/O error every operation for which `fail` is true.
    pub fn failing(fail: impl Fn(&FileOp) -> bool + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            ops: std::sync::Mutex::new(Vec::new()),
            fail: Box::new(fail),
        })
    }

    /// Every operation seen so far, in order.
    pub fn ops(&self) -> Vec<FileOp> {
        self.ops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl FileHooks for RecordingHooks {
    fn before(&self, op: &FileOp) -> std::io::Result<()> {
        self.ops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(op.clone());
        if (self.fail)(op) {
            return Err(std::io::Error::other(format!("injected failure: {op:?}")));
        }
        Ok(())
    }
}

/// Opens `path` for reading and writing, created empty (truncated if it existed).
fn create_truncated(path: &Path) -> std::io::Result<std::fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}
