//! RocketMQ's config-file procedure (REMOTING.md §6.11) for `topics.json` and friends: write
//! the new content to a temporary file and fsync it, keep the previous file as `<name>.bak`,
//! move the new one into place, fsync the directory. Loading falls back to `.bak` when the
//! file is missing or unreadable, so a crash at any step leaves one good copy. Tables are
//! written by a thread of their own ([`JsonTable`]), never on a request path.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::BrokerError;

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically, keeping the old content as `<path>.bak`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BrokerError> {
    let err = |source| BrokerError::Persist {
        path: path.display().to_string(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = sibling(path, ".tmp");
    {
        let mut file = std::fs::File::create(&tmp).map_err(err)?;
        file.write_all(bytes).map_err(err)?;
        file.sync_all().map_err(err)?;
    }
    if path.exists() {
        std::fs::rename(path, sibling(path, ".bak")).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Directory fsync makes the rename durable; not every platform allows it.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads and parses `path`, or `<path>.bak` when the former is missing or does not parse.
/// `Ok(None)` when neither exists (a fresh broker).
pub fn load<T>(
    path: &Path,
    parse: impl Fn(&[u8]) -> Result<T, String>,
) -> Result<Option<T>, BrokerError> {
    let mut first_error = None;
    for candidate in [path.to_path_buf(), sibling(path, ".bak")] {
        match std::fs::read(&candidate) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {}
            Ok(bytes) => match parse(&bytes) {
                Ok(value) => {
                    if first_error.is_some() {
                        tracing::warn!(path = %candidate.display(), "loaded the backup copy");
                    }
                    return Ok(Some(value));
                }
                Err(reason) => {
                    tracing::warn!(path = %candidate.display(), %reason, "unreadable config file");
                    first_error.get_or_insert(BrokerError::Load {
                        path: candidate.display().to_string(),
                        reason,
                    });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                first_error.get_or_insert(BrokerError::Load {
                    path: candidate.display().to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// [`load`] for a JSON document (fastjson's relaxed keys accepted).
pub fn load_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, BrokerError> {
    load(path, |bytes| {
        apogee_protocol::fastjson::from_slice::<T>(bytes).map_err(|e| e.to_string())
    })
}

/// [`write_atomically`] for a JSON document in fastjson's legacy style; maps under the keys in
/// `numeric_key_maps` get bare numeric keys, as Java writes them.
pub fn write_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
    numeric_key_maps: &[&str],
) -> Result<(), BrokerError> {
    let bytes = apogee_protocol::fastjson::to_json(
        value,
        apogee_protocol::fastjson::JsonStyle::Legacy,
        numeric_key_maps,
    );
    write_atomically(path, &bytes)
}

/// A JSON config document held in memory and saved whole: the shape of `topics.json` and
/// `subscriptionGroup.json`. A change asks for a save and returns at once; a writer thread
/// saves the newest content (many changes in a burst become one write), serialising under the
/// read lock and writing with no lock held, so request paths never wait on file I/O.
/// Callers that must answer only once the change is on disk (admin creates) await
/// [`saved`](Self::saved).
pub struct JsonTable<T> {
    inner: std::sync::Arc<TableInner<T>>,
}

struct TableInner<T> {
    value: std::sync::RwLock<T>,
    path: std::path::PathBuf,
    /// Generation asked for (bumped by each change) and the one on disk.
    requested: std::sync::atomic::AtomicU64,
    saved: tokio::sync::watch::Sender<u64>,
    wake: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    /// One writer of the file at a time (the thread, or `save_now`).
    writing: std::sync::Mutex<()>,
    /// Told around each save, and the writer's pause after one ([`JsonTable::set_hook`]).
    hook: std::sync::OnceLock<(std::sync::Arc<dyn SaveHook>, std::time::Duration)>,
}

/// Told around each save of a [`JsonTable`] (a journal that a save makes redundant).
pub trait SaveHook: Send + Sync {
    /// Called before the content is serialised; returns a mark for [`after_save`](Self::after_save).
    fn before_save(&self) -> u64;
    /// Called once the content serialised after [`before_save`](Self::before_save) returned
    /// `mark` is on disk.
    fn after_save(&self, mark: u64);
}

/// How long [`JsonTable::saved`] waits for the writer before reporting failure.
const SAVE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl<T> JsonTable<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    /// Loads `path` (or its backup), or starts from `fresh()`; starts the writer thread.
    pub fn load(path: std::path::PathBuf, fresh: impl FnOnce() -> T) -> Result<Self, BrokerError> {
        let value = load_json::<T>(&path)?.unwrap_or_else(fresh);
        let inner = std::sync::Arc::new(TableInner {
            value: std::sync::RwLock::new(value),
            path,
            requested: std::sync::atomic::AtomicU64::new(0),
            saved: tokio::sync::watch::Sender::new(0),
            wake: std::sync::Arc::default(),
            writing: std::sync::Mutex::new(()),
            hook: std::sync::OnceLock::new(),
        });
        spawn_writer(&inner)?;
        Ok(Self { inner })
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, T> {
        self.inner
            .value
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, T> {
        self.inner
            .value
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells `hook` around every save; the writer then waits `pause` after each save, so a
    /// burst of changes (which the hook keeps durable meanwhile) costs few whole writes.
    pub fn set_hook(&self, hook: std::sync::Arc<dyn SaveHook>, pause: std::time::Duration) {
        let _ = self.inner.hook.set((hook, pause));
    }

    /// Asks the writer to save the current content; returns the generation to wait for.
    pub fn request_save(&self) -> u64 {
        let generation = self
            .inner
            .requested
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            + 1;
        let (flag, cv) = &*self.inner.wake;
        *flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        cv.notify_one();
        generation
    }

    /// Waits until everything asked so far is on disk.
    pub async fn saved(&self) -> Result<(), BrokerError> {
        let target = self
            .inner
            .requested
            .load(std::sync::atomic::Ordering::Acquire);
        let mut rx = self.inner.saved.subscribe();
        match tokio::time::timeout(SAVE_WAIT, rx.wait_for(|saved| *saved >= target)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(BrokerError::Persist {
                path: self.inner.path.display().to_string(),
                source: std::io::Error::other("not written yet; see the broker log"),
            }),
        }
    }

    /// Writes the current content now, on this thread (shutdown, tests).
    pub fn save_now(&self) -> Result<(), BrokerError> {
        self.inner.save()
    }
}

impl<T: serde::Serialize> TableInner<T> {
    /// Serialises under the read lock, writes with no lock held.
    fn save(&self) -> Result<(), BrokerError> {
        let _writing = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let generation = self.requested.load(std::sync::atomic::Ordering::Acquire);
        let mark = self.hook.get().map(|(hook, _)| hook.before_save());
        let bytes = {
            let value = self
                .value
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            apogee_protocol::fastjson::to_json(
                &*value,
                apogee_protocol::fastjson::JsonStyle::Legacy,
                &[],
            )
        };
        write_atomically(&self.path, &bytes)?;
        if let (Some((hook, _)), Some(mark)) = (self.hook.get(), mark) {
            hook.after_save(mark);
        }
        self.saved.send_if_modified(|saved| {
            let newer = generation > *saved;
            *saved = (*saved).max(generation);
            newer
        });
        Ok(())
    }
}

/// The writer thread of one table: saves whenever a newer generation is asked for; ends soon
/// after the table is dropped (whoever drops it saves first, as the broker does at shutdown).
fn spawn_writer<T>(inner: &std::sync::Arc<TableInner<T>>) -> Result<(), BrokerError>
where
    T: serde::Serialize + Send + Sync + 'static,
{
    let weak = std::sync::Arc::downgrade(inner);
    let wake = std::sync::Arc::clone(&inner.wake);
    let name = inner
        .path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    std::thread::Builder::new()
        .name(format!("apogee-save-{name}"))
        .spawn(move || {
            loop {
                {
                    let (flag, cv) = &*wake;
                    let woken = flag
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let (mut woken, _) = cv
                        .wait_timeout_while(woken, std::time::Duration::from_millis(500), |w| !*w)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *woken = false;
                }
                let Some(inner) = weak.upgrade() else { break };
                let pending = inner.requested.load(std::sync::atomic::Ordering::Acquire)
                    > *inner.saved.borrow();
                if !pending {
                    continue;
                }
                let pause = match inner.save() {
                    Ok(()) => inner.hook.get().map_or(std::time::Duration::ZERO, |h| h.1),
                    Err(e) => {
                        tracing::error!(error = %e, "config file not written; retrying");
                        std::time::Duration::from_secs(1)
                    }
                };
                drop(inner);
                if !pause.is_zero() {
                    std::thread::sleep(pause);
                }
            }
        })
        .map(drop)
        .map_err(|source| BrokerError::Persist {
            path: inner.path.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<String, String> {
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())?;
        if text.starts_with('{') {
            Ok(text)
        } else {
            Err("not json".into())
        }
    }

    #[test]
    fn given_two_writes_should_keep_the_previous_as_bak_and_load_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        assert_eq!(load(&path, parse).unwrap(), None);
        write_atomically(&path, b"{1}").unwrap();
        write_atomically(&path, b"{2}").unwrap();
        assert_eq!(load(&path, parse).unwrap().as_deref(), Some("{2}"));
        assert_eq!(std::fs::read(sibling(&path, ".bak")).unwrap(), b"{1}");
    }

    #[test]
    fn given_corrupt_file_should_fall_back_to_bak_and_fail_when_both_are_bad() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        write_atomically(&path, b"{good}").unwrap();
        write_atomically(&path, b"garbage").unwrap();
        assert_eq!(load(&path, parse).unwrap().as_deref(), Some("{good}"));
        std::fs::write(sibling(&path, ".bak"), b"also garbage").unwrap();
        assert!(load(&path, parse).is_err());
    }
}
